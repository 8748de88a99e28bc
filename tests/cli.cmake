# End-to-end tests of the kvault command against a local store. Each case of
# tests/cli/cli_test.sh runs in its own temporary directory.
foreach(case usage backup_restore objects errors sigkill prune)
  add_test(NAME cli_${case}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/cli/cli_test.sh
            $<TARGET_FILE:kvault> $<TARGET_FILE:kvault-gendb> ${case})
  set_tests_properties(cli_${case} PROPERTIES LABELS cli TIMEOUT 300)
endforeach()

# Source safety: real databases of an application with its own merge
# operator, comparator and WAL directory, one that keeps writing, one held
# open, read-only sources and operator mistakes (tests/cli/cli_source_test.sh).
foreach(case merge_wal comparator wal_dir running_writer restore_live readonly_source
        operator_errors)
  add_test(NAME cli_source_${case}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/cli/cli_source_test.sh
            $<TARGET_FILE:kvault> $<TARGET_FILE:kvault-testapp> ${case})
  set_tests_properties(cli_source_${case} PROPERTIES LABELS cli TIMEOUT 300)
endforeach()

# A real application's database: the Ceph monitor's store.db (Ceph's own
# RocksDB 6.x), backed up while the monitor runs and after it stops.
add_test(NAME ceph_mon_store
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/cli/ceph_mon_test.sh $<TARGET_FILE:kvault>
          ${CMAKE_CURRENT_SOURCE_DIR}/scripts/rgw.sh)
set_tests_properties(ceph_mon_store PROPERTIES LABELS "cli;ceph" TIMEOUT 300)

# A store under concurrent backups, prunes and gcs (50 rounds), and under
# SIGKILL at random moments of each (24 kills): tests/cli/concurrency_test.sh
# and kill_test.sh; tests/cli_s3.cmake runs both against RGW.
add_test(NAME cli_concurrency
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/cli/concurrency_test.sh
          $<TARGET_FILE:kvault> $<TARGET_FILE:kvault-gendb> store 50)
add_test(NAME cli_kill
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/cli/kill_test.sh
          $<TARGET_FILE:kvault> $<TARGET_FILE:kvault-gendb> store 24)
set_tests_properties(cli_concurrency cli_kill PROPERTIES LABELS cli TIMEOUT 900)

# Notifications (--notify, --notify-url against tests/servers/hook_receiver.py)
# and the config file: tests/cli/notify_test.sh.
foreach(case hook url config)
  add_test(NAME cli_notify_${case}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/cli/notify_test.sh
            $<TARGET_FILE:kvault> $<TARGET_FILE:kvault-gendb> ${case})
  set_tests_properties(cli_notify_${case} PROPERTIES LABELS cli TIMEOUT 300)
endforeach()

# SST exports: a running writer's database exported, restored (whole and by
# column family), ingested; refusals; damage (tests/cli/export_test.sh).
foreach(case running refusals damage)
  add_test(NAME cli_export_${case}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/tests/cli/export_test.sh $<TARGET_FILE:kvault>
            $<TARGET_FILE:kvault-testapp> $<TARGET_FILE:kvault-gendb> ${case})
  set_tests_properties(cli_export_${case} PROPERTIES LABELS cli TIMEOUT 300)
endforeach()
