# Google Cloud Storage: tests against two servers that the fixtures start and
# stop: Google's own emulator (npm firebase-tools, scripts/gcs-emulator.sh)
# for what it serves faithfully, and the project's server
# (tests/servers/gcs_server.py, tests/servers/gcs_server.sh) for what it does not: resumable
# chunks, status queries, compose, preconditions, digest checks and OAuth.
# docs/gcs.md has the table of which behaviour is checked where.
set(KV_GCS_EMU_DIR ${CMAKE_BINARY_DIR}/gcs-emulator)
set(KV_GCS_SRV_DIR ${CMAKE_BINARY_DIR}/gcs-server)
set(KV_GCS_BUCKET kvtest)
set(KV_GCS_JS ${CMAKE_SOURCE_DIR}/tests/servers/gcs_interop.js)
set(KV_GCS_ENV ${CMAKE_SOURCE_DIR}/tests/servers/with_gcs_env.sh)

# The project's server pinned by its own unit tests (no fixture needed).
add_test(NAME test_gcs_server COMMAND python3 ${CMAKE_SOURCE_DIR}/tests/servers/test_gcs_server.py)
set_tests_properties(test_gcs_server PROPERTIES LABELS "unit;gcs" TIMEOUT 120)

# ---- fixtures: one emulator and one server for all gcs-labelled tests -------
add_test(NAME gcs_emulator_start COMMAND sh -c "\"$1\" stop \"$2\" && \"$1\" start \"$2\""
  sh ${CMAKE_SOURCE_DIR}/scripts/gcs-emulator.sh ${KV_GCS_EMU_DIR})
set_tests_properties(gcs_emulator_start PROPERTIES FIXTURES_SETUP gcs_emulator LABELS gcs
  TIMEOUT 400)
add_test(NAME gcs_emulator_stop COMMAND ${CMAKE_SOURCE_DIR}/scripts/gcs-emulator.sh stop
  ${KV_GCS_EMU_DIR})
set_tests_properties(gcs_emulator_stop PROPERTIES FIXTURES_CLEANUP gcs_emulator LABELS gcs
  TIMEOUT 60)

add_test(NAME gcs_server_start COMMAND sh -c "\"$1\" stop \"$2\" && \"$1\" start \"$2\""
  sh ${CMAKE_SOURCE_DIR}/tests/servers/gcs_server.sh ${KV_GCS_SRV_DIR})
set_tests_properties(gcs_server_start PROPERTIES FIXTURES_SETUP gcs_server LABELS gcs TIMEOUT 60)
add_test(NAME gcs_server_stop COMMAND ${CMAKE_SOURCE_DIR}/tests/servers/gcs_server.sh stop
  ${KV_GCS_SRV_DIR})
set_tests_properties(gcs_server_stop PROPERTIES FIXTURES_CLEANUP gcs_server LABELS gcs TIMEOUT 60)

# kv_gcs_server_test(NAME MODE TIMEOUT COMMAND...): a test that needs both
# servers, run with tests/servers/with_gcs_env.sh MODE.
function(kv_gcs_server_test name mode timeout)
  add_test(NAME ${name} COMMAND ${KV_GCS_ENV} ${mode} ${KV_GCS_EMU_DIR} ${KV_GCS_SRV_DIR} ${ARGN})
  set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED "gcs_emulator;gcs_server"
    LABELS gcs TIMEOUT ${timeout})
endfunction()

# Against Google's emulator: every conformance case that needs no compose,
# each in its own run of the binary (argv[2] filters by name), pages of 500.
# The multipart_*, abort_leaves_nothing and direct_multipart_* cases compose
# part objects, which the emulator does not implement (501): they run against
# the project's server below.
set(KV_GCS_EMULATOR_CASES put_get_round_trip empty_object ranged_get missing_key_is_not_found
  list_with_prefix list_many_keys remove_object overwrite odd_characters_in_keys
  concurrent_small_files sync_succeeds nothing_left_behind)
string(JOIN " " KV_GCS_EMULATOR_CASES_TEXT ${KV_GCS_EMULATOR_CASES})
kv_gcs_server_test(conformance_gcs_emulator emulator 600 sh -c
  "for c in ${KV_GCS_EMULATOR_CASES_TEXT}\ndo \"$@\" $c || exit 1\ndone" sh
  env KVAULT_GCS_MAX_RESULTS=500 KVAULT_GCS_RESUMABLE_THRESHOLD=1024M
  $<TARGET_FILE:conformance> gs://${KV_GCS_BUCKET}/conformance)

# Against the project's server with OAuth: the whole suite, twice: single
# request uploads, then everything above 300 KiB resumable in 256 KiB chunks.
kv_gcs_server_test(conformance_gcs_server server 600 $<TARGET_FILE:conformance>
  gs://${KV_GCS_BUCKET}/conformance)
kv_gcs_server_test(conformance_gcs_server_resumable server 600 env
  KVAULT_GCS_RESUMABLE_THRESHOLD=300K KVAULT_GCS_CHUNK_SIZE=256K
  $<TARGET_FILE:conformance> gs://${KV_GCS_BUCKET}/conformance-resumable)

# End to end through the public API, faults, tokens, credentials, interop.
add_executable(test_gcs tests/e2e/test_gcs.c)
target_include_directories(test_gcs PRIVATE src tests/support ${ROCKSDB_INCLUDE})
target_compile_definitions(test_gcs PRIVATE _GNU_SOURCE)
target_link_libraries(test_gcs PRIVATE kvault_core)
kv_gcs_server_test(test_gcs both 600 $<TARGET_FILE:test_gcs> gs://${KV_GCS_BUCKET}/e2e ${KV_GCS_JS})
target_sources(test_gcs PRIVATE tests/support/e2e_db.c tests/support/scenario.c)
