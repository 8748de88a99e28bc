/* The complete part of a RocksDB write-ahead log that another process may be
 * appending to. A WAL is a sequence of 32 KiB blocks holding physical
 * records (RocksDB's db/log_format.h); a write batch is one logical record,
 * split into First/Middle/Last fragments when it crosses blocks. A copy taken
 * while the owner writes can end inside a record; cut at the end of the last
 * whole logical record, it recovers under every wal_recovery_mode, and holds
 * exactly the batches that were complete when the copy was taken. */
#ifndef KV_BACKUP_WALSCAN_H
#define KV_BACKUP_WALSCAN_H

#include <stdint.h>

/* Scans the first size bytes of the WAL open at fd (log number log_number,
 * for recycled logs) and sets *complete to the length of its longest prefix
 * of whole logical records with good checksums. path names the file in
 * messages. */
int kv_wal_complete_prefix(int fd, uint64_t size, uint64_t log_number, const char *path,
                           uint64_t *complete);

#endif
