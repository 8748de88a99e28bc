# Backup layer: manifest parsing (unit) and end-to-end backups of real
# RocksDB databases through the public API (e2e).
function(kv_backup_test name label)
  kv_test_executable(${name})
  target_include_directories(${name} PRIVATE src tests/support ${ROCKSDB_INCLUDE})
  target_compile_definitions(${name} PRIVATE _GNU_SOURCE)
  target_link_libraries(${name} PRIVATE kvault_core)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS ${label} TIMEOUT 600)
endfunction()

kv_backup_test(test_manifest unit)
kv_backup_test(test_backup_e2e e2e)
target_sources(test_backup_e2e PRIVATE tests/support/fault_store.c tests/support/mem_store.c)
kv_backup_test(test_source e2e)
