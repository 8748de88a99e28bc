# End-to-end tests of the kvault command against a local store. Each case of
# tests/cli_test.sh runs in its own temporary directory.
foreach(case usage backup_restore objects errors sigkill prune)
  add_test(NAME cli_${case}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/cli_test.sh
            $<TARGET_FILE:kvault> $<TARGET_FILE:kvault-gendb> ${case})
  set_tests_properties(cli_${case} PROPERTIES LABELS cli TIMEOUT 300)
endforeach()
