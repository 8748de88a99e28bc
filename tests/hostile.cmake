# The kvault command against a hostile S3 server on loopback
# (tests/servers/hostile_s3.py, started by the test itself): listings with
# foreign, dotted, short and unprintable keys, huge and slow bodies,
# endless paging, and dot segments sent as they are. About 30 s, most of
# it the slow body's retries.
add_test(NAME cli_hostile_s3
  COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/servers/test_hostile_s3.py $<TARGET_FILE:kvault>)
set_tests_properties(cli_hostile_s3 PROPERTIES LABELS cli TIMEOUT 300)
