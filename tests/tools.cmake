# Helper programs for the demo, the CLI tests and the benchmarks. They talk to
# RocksDB directly (they are tools, not part of the library).
function(kv_rocksdb_tool name source)
  add_executable(${name} ${source})
  target_include_directories(${name} PRIVATE ${ROCKSDB_INCLUDE})
  target_compile_definitions(${name} PRIVATE _GNU_SOURCE)
  target_link_libraries(${name} PRIVATE ${ROCKSDB_LIB} Threads::Threads)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
endfunction()

kv_rocksdb_tool(kvault-gendb tools/gen_db.c)
kv_rocksdb_tool(kvault-bench-backupengine bench/backupengine.c)
# An application with its own merge operator, comparator and WAL directory,
# and a writer that keeps writing during backups (source-safety tests).
kv_rocksdb_tool(kvault-testapp tests/support/rdb_app.c)
