# Azure Blob: the Shared Key unit test, and tests against Azurite (strict
# mode) that the fixture starts (scripts/azurite.sh) and stops.
function(kv_az_test_exe name)
  kv_test_executable(${name})
  target_include_directories(${name} PRIVATE src tests/support)
  target_compile_definitions(${name} PRIVATE _GNU_SOURCE)
  target_link_libraries(${name} PRIVATE kvault_core)
endfunction()

kv_az_test_exe(test_azure_sign)
add_test(NAME test_azure_sign COMMAND test_azure_sign)
set_tests_properties(test_azure_sign PROPERTIES LABELS "unit;azure" TIMEOUT 60)

# ---- the Azurite fixture -----------------------------------------------------
# One Azurite for all azure-labelled tests of a run, under the build dir.
# Setup stops any Azurite a crashed earlier run left there, starts a fresh one
# (installing it into .cache/node on first use) and creates the test
# container in both accounts; cleanup stops it and removes the directory.
set(KV_AZ_DIR ${CMAKE_BINARY_DIR}/azurite)
set(KV_AZ_CONTAINER kvtest)
set(KV_AZ_JS ${CMAKE_SOURCE_DIR}/tests/servers/azure_interop.js)
set(KV_AZ_ENV ${CMAKE_SOURCE_DIR}/tests/servers/with_azurite_env.sh ${KV_AZ_DIR})

add_test(NAME azure_azurite_start COMMAND sh -c
  "\"$1\" stop \"$2\" && \"$1\" start \"$2\" && \"$3\" \"$2\" node \"$4\" mkcontainer \"$5\" KV_AZURITE_DEV_CONN KV_AZURITE_CUSTOM_CONN"
  sh ${CMAKE_SOURCE_DIR}/scripts/azurite.sh ${KV_AZ_DIR}
  ${CMAKE_SOURCE_DIR}/tests/servers/with_azurite_env.sh ${KV_AZ_JS} ${KV_AZ_CONTAINER})
set_tests_properties(azure_azurite_start PROPERTIES FIXTURES_SETUP azurite LABELS azure TIMEOUT 300)

add_test(NAME azure_azurite_stop COMMAND ${CMAKE_SOURCE_DIR}/scripts/azurite.sh stop ${KV_AZ_DIR})
set_tests_properties(azure_azurite_stop PROPERTIES FIXTURES_CLEANUP azurite LABELS azure TIMEOUT 60)

# kv_az_server_test(NAME TIMEOUT COMMAND...): a test that needs Azurite.
function(kv_az_server_test name timeout)
  add_test(NAME ${name} COMMAND ${KV_AZ_ENV} ${ARGN})
  set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED azurite LABELS azure TIMEOUT ${timeout})
endfunction()

# Pages of 500 so the 1200-key listing takes three.
kv_az_server_test(conformance_az 600 env KVAULT_AZURE_MAX_RESULTS=500
  $<TARGET_FILE:conformance> az://${KV_AZ_CONTAINER}/conformance)

# Backup, verify and restore through the public API; credentials errors.
kv_az_test_exe(test_azure)
target_include_directories(test_azure PRIVATE ${ROCKSDB_INCLUDE})
kv_az_server_test(test_azure 600 $<TARGET_FILE:test_azure> az://${KV_AZ_CONTAINER}/e2e ${KV_AZ_JS})

# Interop with the Azure SDK both ways, single blobs and block lists.
kv_az_server_test(azure_interop 300 ${CMAKE_SOURCE_DIR}/tests/servers/azure_interop.sh
  ${CMAKE_BINARY_DIR}/kvault ${KV_AZ_JS} ${KV_AZ_CONTAINER})
target_sources(test_azure PRIVATE tests/support/e2e_db.c tests/support/scenario.c)
