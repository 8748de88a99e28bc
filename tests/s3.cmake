# S3: SigV4 unit test, and tests against a real Ceph RADOS Gateway that the
# fixture starts (scripts/rgw.sh) and stops.
# Other files include this one for the fixture (tests/*.cmake come in
# alphabetical order); the guard keeps it to one inclusion.
include_guard(GLOBAL)
add_executable(test_sigv4 tests/unit/test_sigv4.c)
target_include_directories(test_sigv4 PRIVATE src tests/support)
target_compile_definitions(test_sigv4 PRIVATE _GNU_SOURCE)
target_link_libraries(test_sigv4 PRIVATE kvault_core)
add_test(NAME test_sigv4 COMMAND test_sigv4)
set_tests_properties(test_sigv4 PROPERTIES LABELS "unit;s3" TIMEOUT 60)

# The HTTP layer against a canned server in a thread.
add_executable(test_http tests/unit/test_http.c)
target_include_directories(test_http PRIVATE src tests/support)
target_compile_definitions(test_http PRIVATE _GNU_SOURCE)
target_link_libraries(test_http PRIVATE kvault_core)
add_test(NAME test_http COMMAND test_http)
set_tests_properties(test_http PROPERTIES LABELS "unit;s3" TIMEOUT 60)

# ---- the RADOS Gateway fixture ---------------------------------------------
# One cluster for all s3-labelled tests of a run, under the build dir. Setup
# stops any cluster a crashed earlier run left there, starts a fresh one and
# creates the test bucket; cleanup stops it and removes the directory.
set(KV_RGW_DIR ${CMAKE_BINARY_DIR}/rgw)
set(KV_RGW_BUCKET kvtest)
set(KV_RGW_ENV ${CMAKE_SOURCE_DIR}/tests/servers/with_rgw_env.sh ${KV_RGW_DIR})

add_test(NAME s3_rgw_start COMMAND sh -c
  "\"$1\" stop \"$2\" && \"$1\" start \"$2\" && \"$3\" \"$2\" aws s3 mb \"s3://$4\""
  sh ${CMAKE_SOURCE_DIR}/scripts/rgw.sh ${KV_RGW_DIR}
  ${CMAKE_SOURCE_DIR}/tests/servers/with_rgw_env.sh ${KV_RGW_BUCKET})
set_tests_properties(s3_rgw_start PROPERTIES FIXTURES_SETUP rgw LABELS s3 TIMEOUT 300)

add_test(NAME s3_rgw_stop COMMAND ${CMAKE_SOURCE_DIR}/scripts/rgw.sh stop ${KV_RGW_DIR})
set_tests_properties(s3_rgw_stop PROPERTIES FIXTURES_CLEANUP rgw LABELS s3 TIMEOUT 120)

# kv_s3_server_test(NAME TIMEOUT COMMAND...): a test that needs the gateway.
function(kv_s3_server_test name timeout)
  add_test(NAME ${name} COMMAND ${KV_RGW_ENV} ${ARGN})
  set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED rgw LABELS s3 TIMEOUT ${timeout})
endfunction()

function(kv_s3_test_exe name)
  kv_test_executable(${name})
  target_include_directories(${name} PRIVATE src tests/support)
  target_compile_definitions(${name} PRIVATE _GNU_SOURCE)
  target_link_libraries(${name} PRIVATE kvault_core)
endfunction()

kv_s3_server_test(conformance_s3 600 $<TARGET_FILE:conformance> s3://${KV_RGW_BUCKET}/conformance)

kv_s3_test_exe(test_s3)
kv_s3_server_test(test_s3 300 $<TARGET_FILE:test_s3> s3://${KV_RGW_BUCKET}/test_s3)

kv_s3_test_exe(test_s3_faults)
kv_s3_server_test(s3_faults 600 ${CMAKE_SOURCE_DIR}/tests/servers/s3_faults.sh
  $<TARGET_FILE:test_s3_faults> s3://${KV_RGW_BUCKET}/faults)

# Interop with the aws CLI, both ways, single and multipart objects.
kv_s3_test_exe(s3_xfer)
kv_s3_server_test(s3_interop 300 ${CMAKE_SOURCE_DIR}/tests/servers/s3_interop.sh
  $<TARGET_FILE:s3_xfer> ${KV_RGW_BUCKET})

# Backup, verify and restore through the public API with an s3:// store.
# The end-to-end scenario (tests/e2e/scenario.c): the big SST in 5 MiB parts.
kv_s3_server_test(scenario_s3 600 $<TARGET_FILE:scenario> s3://${KV_RGW_BUCKET}/e2e)
kv_s3_server_test(scenario_s3_single 600 $<TARGET_FILE:scenario> s3://${KV_RGW_BUCKET}/e2e
  5242880 12582912 single)

# A key with dot segments on RGW: sent and stored as it is, refused by
# listings (ls, gc) with a clear message, removed by rm.
kv_s3_server_test(s3_dot_keys 120 sh ${CMAKE_SOURCE_DIR}/tests/servers/s3_dot_keys.sh
  $<TARGET_FILE:kvault> ${KV_RGW_BUCKET})
