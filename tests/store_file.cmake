# The local store, part planning and the transfer engine.
#
# `conformance` is the storage conformance suite: one binary, any store URL
# (argv[1] or KV_CONFORMANCE_URL). Other backends register it with their own
# server's URL, e.g.
#   add_test(NAME conformance_s3 COMMAND conformance s3://bucket/prefix)
function(kv_store_test_exe name)
  kv_test_executable(${name})
  target_include_directories(${name} PRIVATE src tests/support)
  target_compile_definitions(${name} PRIVATE _GNU_SOURCE)
  target_link_libraries(${name} PRIVATE kvault_core)
endfunction()

kv_store_test_exe(test_plan)
add_test(NAME test_plan COMMAND test_plan)
set_tests_properties(test_plan PROPERTIES LABELS unit TIMEOUT 120)

# The backend contract: run-time registration of a backend outside the tree.
kv_store_test_exe(test_registry)
add_test(NAME test_registry COMMAND test_registry)
set_tests_properties(test_registry PROPERTIES LABELS unit TIMEOUT 60)

kv_store_test_exe(test_transfer)
target_sources(test_transfer PRIVATE tests/support/mem_store.c tests/support/fault_store.c)
add_test(NAME test_transfer COMMAND test_transfer)
set_tests_properties(test_transfer PROPERTIES LABELS unit TIMEOUT 300)

# The in-memory test store's own checks, beyond the contract.
kv_store_test_exe(test_mem_store)
target_sources(test_mem_store PRIVATE tests/support/mem_store.c)
add_test(NAME test_mem_store COMMAND test_mem_store)
set_tests_properties(test_mem_store PROPERTIES LABELS unit TIMEOUT 60)

kv_store_test_exe(conformance)
target_sources(conformance PRIVATE tests/support/mem_store.c tests/support/fault_store.c)
# A fresh directory per run; the suite must leave it empty.
add_test(NAME conformance_file COMMAND sh -c
  "d=$(mktemp -d) && \"$1\" \"file://$d\"; rc=$?; if [ $rc = 0 ] && [ -n \"$(ls -A \"$d\")\" ]; then echo \"store not left empty:\"; find \"$d\"; rc=1; fi; rm -rf \"$d\"; exit $rc"
  sh $<TARGET_FILE:conformance>)
set_tests_properties(conformance_file PROPERTIES LABELS store TIMEOUT 300)
# The test backends (tests/support) keep the contract too: the in-memory
# store, one that asks for every digest, and the fault store wrapping it
# with no faults.
add_test(NAME conformance_mem COMMAND conformance mem://conf/root)
add_test(NAME conformance_mem_digests COMMAND conformance mem+md5+sha256://conf/root)
add_test(NAME conformance_fault_mem COMMAND conformance fault://conf/)
set_tests_properties(conformance_fault_mem PROPERTIES ENVIRONMENT KVT_FAULT_INNER=mem://conf/root)
set_tests_properties(conformance_mem conformance_mem_digests conformance_fault_mem PROPERTIES
  LABELS store TIMEOUT 120)

# The end-to-end scenario every store runs (tests/support/scenario.c); the
# network stores' cmake files run it against their servers.
add_executable(scenario tests/e2e/scenario.c tests/support/scenario.c tests/support/e2e_db.c)
target_include_directories(scenario PRIVATE src tests/support ${ROCKSDB_INCLUDE})
target_compile_definitions(scenario PRIVATE _GNU_SOURCE)
target_link_libraries(scenario PRIVATE kvault_core)
add_test(NAME scenario_file COMMAND sh -c "mkdir -p \"$1\" && exec \"$2\" \"$1\" 1048576 4194304" sh
  ${CMAKE_BINARY_DIR}/scenario-store $<TARGET_FILE:scenario>)
add_test(NAME scenario_file_single COMMAND sh -c "mkdir -p \"$1\" && exec \"$2\" \"$1\" 1048576 4194304 single" sh
  ${CMAKE_BINARY_DIR}/scenario-store $<TARGET_FILE:scenario>)
set_tests_properties(scenario_file scenario_file_single PROPERTIES LABELS e2e TIMEOUT 300)

# What the core checks of a backend's listings, paging and leftovers
# (a scripted backend; no server).
kv_store_test_exe(test_listing)
add_test(NAME test_listing COMMAND test_listing)
set_tests_properties(test_listing PROPERTIES LABELS unit TIMEOUT 60)
