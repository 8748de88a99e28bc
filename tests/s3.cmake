# S3: SigV4 unit test, and tests against a real Ceph RADOS Gateway that the
# fixture starts (scripts/rgw.sh) and stops.
add_executable(test_sigv4 tests/test_sigv4.c)
target_include_directories(test_sigv4 PRIVATE src tests)
target_compile_definitions(test_sigv4 PRIVATE _GNU_SOURCE)
target_link_libraries(test_sigv4 PRIVATE kvault_core)
add_test(NAME test_sigv4 COMMAND test_sigv4)
set_tests_properties(test_sigv4 PROPERTIES LABELS "unit;s3" TIMEOUT 60)
