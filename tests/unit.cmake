# Unit tests of pure pieces: no server, no RocksDB.
function(kv_unit_test name)
  kv_test_executable(${name})
  target_include_directories(${name} PRIVATE src tests/support)
  target_compile_definitions(${name} PRIVATE _GNU_SOURCE)
  target_link_libraries(${name} PRIVATE kvault_core)
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 120)
endfunction()

kv_unit_test(test_util)

