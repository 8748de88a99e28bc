# End-to-end tests of the kvault command against S3: the RADOS Gateway that
# tests/s3.cmake's fixture starts (FIXTURES rgw, bucket ${KV_RGW_BUCKET}).
# Each case of tests/cli/cli_s3_test.sh runs in its own temporary directory and
# under its own key prefix.
include(${CMAKE_CURRENT_LIST_DIR}/s3.cmake) # kv_s3_server_test, KV_RGW_BUCKET

foreach(case backup_restore objects errors sigkill)
  kv_s3_server_test(cli_s3_${case} 300 bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/cli/cli_s3_test.sh
    $<TARGET_FILE:kvault> $<TARGET_FILE:kvault-gendb> ${KV_RGW_BUCKET} ${case})
endforeach()

kv_s3_server_test(cli_s3_concurrency 900 bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/cli/concurrency_test.sh
  $<TARGET_FILE:kvault> $<TARGET_FILE:kvault-gendb> s3://${KV_RGW_BUCKET} 10)
kv_s3_server_test(cli_s3_kill 900 bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/cli/kill_test.sh
  $<TARGET_FILE:kvault> $<TARGET_FILE:kvault-gendb> s3://${KV_RGW_BUCKET} 12)
