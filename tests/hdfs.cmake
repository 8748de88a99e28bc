# HDFS: the WebHDFS test server's own tests, and the hdfs backend against
# that server, started on free ports by fixtures (tests/servers/webhdfs.sh) and
# stopped afterwards. One server as Hadoop's NameNode + DataNode, one in
# HttpFS mode. Block size 1 MiB, so that 1 MiB parts are whole blocks and
# multipart uploads go through CONCAT; listing pages of 50 entries.
set(KV_HDFS_DIR ${CMAKE_BINARY_DIR}/webhdfs)
set(KV_HTTPFS_DIR ${CMAKE_BINARY_DIR}/httpfs)
set(KV_HDFS_SERVER_ARGS --block-size 1048576 --batch-size 50 --token kvtesttoken=carol
  --token kvfrank=frank --token-files)

add_test(NAME test_webhdfs_server
  COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/servers/test_webhdfs_server.py)
set_tests_properties(test_webhdfs_server PROPERTIES LABELS hdfs TIMEOUT 300)

# kv_hdfs_fixture(NAME DIR ARGS...): start/stop tests for one server.
function(kv_hdfs_fixture name dir)
  add_test(NAME ${name}_start COMMAND sh ${CMAKE_SOURCE_DIR}/tests/servers/webhdfs.sh start ${dir} ${ARGN})
  set_tests_properties(${name}_start PROPERTIES FIXTURES_SETUP ${name} LABELS hdfs TIMEOUT 60)
  add_test(NAME ${name}_stop COMMAND sh ${CMAKE_SOURCE_DIR}/tests/servers/webhdfs.sh stop ${dir})
  set_tests_properties(${name}_stop PROPERTIES FIXTURES_CLEANUP ${name} LABELS hdfs TIMEOUT 60)
endfunction()

kv_hdfs_fixture(webhdfs ${KV_HDFS_DIR} ${KV_HDFS_SERVER_ARGS})
kv_hdfs_fixture(httpfs ${KV_HTTPFS_DIR} ${KV_HDFS_SERVER_ARGS} --httpfs)
# dfs.checksum.type=CRC32 (clusters upgraded from Hadoop 1/2), and HttpFS on
# a cluster with dfs.checksum.combine.mode=COMPOSITE_CRC (the DataNode's
# WebHDFS always answers MD5-of-MD5-of-CRC, whatever the combine mode)
kv_hdfs_fixture(webhdfs_crc32 ${CMAKE_BINARY_DIR}/webhdfs-crc32 ${KV_HDFS_SERVER_ARGS}
  --checksum-type CRC32)
kv_hdfs_fixture(httpfs_composite ${CMAKE_BINARY_DIR}/httpfs-composite ${KV_HDFS_SERVER_ARGS}
  --httpfs --combine-mode COMPOSITE_CRC)

# kv_hdfs_server_test(NAME FIXTURE DIR TIMEOUT COMMAND...): "@NN@" in the
# command becomes the server's host:port.
# Tests of one server run one at a time: some switch the server's modes
# (a corrupted checksum, a failover) that a concurrent test would see.
function(kv_hdfs_server_test name fixture dir timeout)
  add_test(NAME ${name} COMMAND ${CMAKE_SOURCE_DIR}/tests/servers/with_webhdfs_env.sh ${dir} ${ARGN})
  set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED ${fixture} LABELS hdfs
    TIMEOUT ${timeout} RESOURCE_LOCK ${fixture})
endfunction()

kv_hdfs_server_test(conformance_hdfs webhdfs ${KV_HDFS_DIR} 600
  env KV_CONFORMANCE_LIST_COUNT=300 $<TARGET_FILE:conformance> hdfs://@NN@/kvtest)
# HttpFS, through the webhdfs:// alias, sending data in one request (data=true)
kv_hdfs_server_test(conformance_httpfs httpfs ${KV_HTTPFS_DIR} 600
  env KVAULT_HDFS_HTTPFS=1 KV_CONFORMANCE_LIST_COUNT=300 $<TARGET_FILE:conformance>
  webhdfs://@NN@/kvtest)

add_executable(test_hdfs tests/e2e/test_hdfs.c)
target_include_directories(test_hdfs PRIVATE src tests/support ${ROCKSDB_INCLUDE})
target_compile_definitions(test_hdfs PRIVATE _GNU_SOURCE)
target_link_libraries(test_hdfs PRIVATE kvault_core)
kv_hdfs_server_test(test_hdfs webhdfs ${KV_HDFS_DIR} 600 $<TARGET_FILE:test_hdfs> hdfs://@NN@/e2e)
target_sources(test_hdfs PRIVATE tests/support/e2e_db.c tests/support/scenario.c)

# Every suite against the server in each checksum mode.
kv_hdfs_server_test(conformance_hdfs_crc32 webhdfs_crc32 ${CMAKE_BINARY_DIR}/webhdfs-crc32 600
  env KV_CONFORMANCE_LIST_COUNT=60 $<TARGET_FILE:conformance> hdfs://@NN@/kvtest)
kv_hdfs_server_test(test_hdfs_crc32 webhdfs_crc32 ${CMAKE_BINARY_DIR}/webhdfs-crc32 600
  $<TARGET_FILE:test_hdfs> hdfs://@NN@/e2e)
kv_hdfs_server_test(conformance_httpfs_composite httpfs_composite
  ${CMAKE_BINARY_DIR}/httpfs-composite 600
  env KVAULT_HDFS_HTTPFS=1 KV_CONFORMANCE_LIST_COUNT=60 $<TARGET_FILE:conformance>
  webhdfs://@NN@/kvtest)
kv_hdfs_server_test(test_hdfs_composite httpfs_composite ${CMAKE_BINARY_DIR}/httpfs-composite
  600 $<TARGET_FILE:test_hdfs> hdfs://@NN@/e2e checksum)

# HA: two NameNode ports, one standby (answering StandbyException) until a
# failover the tests cause mid-backup; the tests write the HADOOP_CONF_DIR.
set(KV_HDFS_HA_DIR ${CMAKE_BINARY_DIR}/webhdfs-ha)
kv_hdfs_fixture(webhdfs_ha ${KV_HDFS_HA_DIR} ${KV_HDFS_SERVER_ARGS} --standby
  --nameservice kvns)
kv_hdfs_server_test(test_hdfs_ha webhdfs_ha ${KV_HDFS_HA_DIR} 600
  $<TARGET_FILE:test_hdfs> hdfs://@NN@/e2e)
# HTTPS (swebhdfs://): a CA and certificate made by the fixture
set(KV_HDFS_TLS_DIR ${CMAKE_BINARY_DIR}/webhdfs-tls)
kv_hdfs_fixture(webhdfs_tls ${KV_HDFS_TLS_DIR} ${KV_HDFS_SERVER_ARGS} --tls)
kv_hdfs_server_test(conformance_swebhdfs webhdfs_tls ${KV_HDFS_TLS_DIR} 600
  env KVAULT_HDFS_CA_FILE=@CA@ KV_CONFORMANCE_LIST_COUNT=60 $<TARGET_FILE:conformance>
  swebhdfs://@NN@/kvtest)
kv_hdfs_server_test(test_hdfs_tls webhdfs_tls ${KV_HDFS_TLS_DIR} 600
  $<TARGET_FILE:test_hdfs> swebhdfs://@NN@/e2e)
