/* kvault: back up RocksDB to object and file storage, from the command line.
 * Exit codes: 0 success, 1 failure, 2 usage error. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"

/* How long the CLI waits for a conflicting lease on an env (a prune from
 * cron while a backup still runs) before it gives up. */
#define CLI_DEFAULT_LOCK_WAIT_S 600

#define COMMON_HELP                                                                      \
    "\nOptions of every command:\n"                                                      \
    "      --workers N        concurrent transfers, 1..256 (default 8)\n"                \
    "      --part-size SIZE   part size for large files (default: automatic)\n"          \
    "      --memory SIZE      part buffer budget for the process (default: automatic)\n" \
    "      --limit-rate RATE  bytes per second for the process, 0 = unlimited\n"        \
    "      --ca-cert FILE     CA certificates (PEM) to verify the store's TLS server with\n" \
    "                         (default: AWS_CA_BUNDLE, SSL_CERT_FILE, CURL_CA_BUNDLE, the\n" \
    "                         system's)\n"                                              \
    "  -v, --verbose          more messages on stderr (repeat for debug)\n"              \
    "  -q, --quiet            no summary or progress output\n"                          \
    "  -h, --help             this help\n"                                               \
    "SIZE and RATE take K, M, G, T or KiB, MiB, GiB, TiB, all 1024-based (8M = 8 MiB);\n" \
    "RATE may end in /s.\n"

#define STORE_HELP                                                                      \
    "\nSTORE is a URL: /path or file:///path, s3://bucket/prefix, az://container/prefix,\n" \
    "gs://bucket/prefix, hdfs://namenode:port/path or hdfs://nameservice/path (through\n" \
    "HADOOP_CONF_DIR; swebhdfs:// for HTTPS). Without one, the default local store\n" \
    "is $KVAULT_STORE, else $XDG_DATA_HOME/kvault/store, else ~/.local/share/kvault/store.\n"

#define NOTIFY_HELP                                                                      \
    "\nNotification, success or failure (docs/notify.md):\n"                              \
    "      --notify CMD       run CMD (sh -c) with the JSON report on stdin and\n"        \
    "                         KVAULT_EVENT, KVAULT_OK, KVAULT_BACKUP_ID, KVAULT_ENV,\n"   \
    "                         KVAULT_STORE in its environment\n"                          \
    "      --notify-url URL   POST the JSON report to URL (retried; HTTPS verified)\n"    \
    "      --notify-auth-env VAR  send VAR's value as the Authorization header\n"         \
    "      --notify-timeout DURATION  give each up after this (default 60s)\n"            \
    "      --notify-required  a failed notification fails the command (exit 1)\n"        \
    "Options may also come from a config file: $KVAULT_CONFIG, ~/.config/kvault/config\n" \
    "or /etc/kvault/config (docs/config.md).\n"

static const cli_cmd commands[] = {
    {"backup", "back up a RocksDB database",
     "Usage: kvault backup --db DIR [--to STORE] [--env NAME] [--wal-dir DIR]\n"
     "                     [--scratch DIR] [--json]\n"
     "\nBacks up the RocksDB database at DIR, running or stopped, without writing to it:\n"
     "its files are read as a crash at the start of the backup would leave them (every\n"
     "write acknowledged by then is in the backup), and only the files the store does not\n"
     "already hold are uploaded. Prints the new backup's id (only the id with -q).\n"
     "\n  --db DIR       the RocksDB database to back up (required)\n"
     "  --to STORE     where to store it (default: the default local store)\n"
     "  --env NAME     environment folder in the store (default \"default\")\n"
     "  --wal-dir DIR  the database's WAL directory, if it is not DIR and the database's\n"
     "                 info LOG does not say (RocksDB's wal_dir option)\n"
     "  --scratch DIR  where to keep copies of the small files (MANIFEST, WALs) during the\n"
     "                 backup (default: $TMPDIR, else /tmp)\n"
     "  --lock-wait DURATION  wait this long for a prune or gc of the env (default 10m)\n"
     "  --format files|sst  files: the database's own files, each SST stored once across\n"
     "                 backups (default); sst: an export, every key of every column family at\n"
     "                 one point in time written as new SST files cf_<name>-NNNNN.sst\n"
     "  --sst-size SIZE  an export's files are cut at this size (default 256M)\n"
     "  --single-file  store what the backup stores as one archive object <id>.kvault\n"
     "                 (the default on hdfs:// stores)\n"
     "  --no-single-file  one object per file, also on hdfs://\n"
     "  --json         print the backup's details as JSON\n" STORE_HELP NOTIFY_HELP COMMON_HELP,
     CLI_O_DB | CLI_O_TO | CLI_O_ENV | CLI_O_JSON | CLI_O_SOURCE | CLI_O_LOCK | CLI_O_NOTIFY |
         CLI_O_FORMAT, 0, 0, 1,
     cli_cmd_backup},
    {"list", "list the backups in a store",
     "Usage: kvault list [--from STORE] [--env NAME] [--json]\n"
     "\nLists the complete backups of an environment, oldest first: id, start time (UTC),\n"
     "files, total size and the bytes that backup stored anew. JSON gives exact bytes.\n"
     "\n  --from STORE  the store (default: the default local store)\n"
     "  --env NAME    environment folder (default \"default\")\n"
     "  --json        print a JSON array\n" STORE_HELP COMMON_HELP,
     CLI_O_FROM | CLI_O_ENV | CLI_O_JSON, 0, 0, 0, cli_cmd_list},
    {"envs", "list the environments of a store",
     "Usage: kvault envs [--from STORE] [--json]\n"
     "\nLists the environment folders of a store that hold complete backups: name, number\n"
     "of backups and the time of the latest.\n"
     "\n  --from STORE  the store (default: the default local store)\n"
     "  --json        print a JSON array\n" STORE_HELP COMMON_HELP,
     CLI_O_FROM | CLI_O_JSON, 0, 0, 0, cli_cmd_envs},
    {"restore", "restore a backup into a directory",
     "Usage: kvault restore [--from STORE] [--env NAME] [--backup ID|latest] --to DIR\n"
     "                      [--force] [--json]\n"
     "\nDownloads a backup, checks every file against its manifest and only then moves\n"
     "the database into place at DIR. A DIR that a running process has open (it holds\n"
     "the database's LOCK) is refused, with or without --force, and left untouched.\n"
     "\n  --from STORE  the store (default: the default local store)\n"
     "  --env NAME    environment folder (default \"default\")\n"
     "  --backup ID   which backup (default: latest)\n"
     "  --to DIR      where to put the database (required; must be empty or absent)\n"
     "  --force       replace a non-empty DIR\n"
     "  --cf NAME     of an SST export, restore only this column family (repeatable)\n"
     "  --json        print the result as JSON\n" STORE_HELP NOTIFY_HELP COMMON_HELP,
     CLI_O_FROM | CLI_O_ENV | CLI_O_BACKUP | CLI_O_TO | CLI_O_FORCE | CLI_O_JSON | CLI_O_NOTIFY |
         CLI_O_CF, 0, 0, 1,
     cli_cmd_restore},
    {"ingest", "load an SST export into an existing database",
     "Usage: kvault ingest --db DIR [--from STORE] [--env NAME] [--backup ID|latest]\n"
     "                     [--cf NAME]...\n"
     "\nLoads a backup made with --format sst into the existing RocksDB database at DIR\n"
     "(which no process may have open): its SST files are downloaded and checked beside\n"
     "DIR, then ingested (RocksDB IngestExternalFile). Column families DIR lacks are\n"
     "created; keys DIR already has are overwritten by the export's. To seed a replica\n"
     "or a staging database.\n"
     "\n  --db DIR      the database to load into (required)\n"
     "  --from STORE  the store (default: the default local store)\n"
     "  --env NAME    environment folder (default \"default\")\n"
     "  --backup ID   the export to load (default: the latest backup)\n"
     "  --cf NAME     load only this column family (repeatable)\n" STORE_HELP COMMON_HELP,
     CLI_O_DB | CLI_O_FROM | CLI_O_ENV | CLI_O_BACKUP | CLI_O_CF, 0, 0, 1, cli_cmd_ingest},
    {"verify", "check a backup against its manifest",
     "Usage: kvault verify [--from STORE] [--env NAME] [--backup ID|latest]\n"
     "                     [--restore-check] [--json]\n"
     "\nReads every object of a backup and checks its size and CRC32C against the\n"
     "manifest. With --restore-check it also restores to a scratch directory, opens the\n"
     "database and reads every key of every column family.\n"
     "\n  --from STORE     the store (default: the default local store)\n"
     "  --env NAME       environment folder (default \"default\")\n"
     "  --backup ID      which backup (default: latest)\n"
     "  --restore-check  also restore and read the database\n"
     "  --json           print the report as JSON\n" STORE_HELP NOTIFY_HELP COMMON_HELP,
     CLI_O_FROM | CLI_O_ENV | CLI_O_BACKUP | CLI_O_RESTORE_CHECK | CLI_O_JSON | CLI_O_NOTIFY, 0, 0, 1,
     cli_cmd_verify},
    {"prune", "remove old backups by retention rules",
     "Usage: kvault prune [--from STORE] [--env NAME] [--keep-last N] [--keep-days D]\n"
     "                    [--keep-hourly N] [--keep-daily N] [--keep-weekly N]\n"
     "                    [--keep-monthly N] [--keep-yearly N] [--grace DURATION]\n"
     "                    [--lock-wait DURATION] [--dry-run] [--json]\n"
     "\nRemoves the backups no rule keeps, then collects garbage as 'kvault gc' does. A\n"
     "backup is kept when any rule keeps it; the newest is always kept. The calendar\n"
     "rules keep the newest backup of each of the last N hours, days, ISO weeks, months\n"
     "or years (UTC) that have one. Backups share unchanged SST files, so an object is\n"
     "removed only when no kept backup uses it. Safe to run while backups run: it waits\n"
     "for them (--lock-wait), and they wait for it.\n"
     "\n  --from STORE        the store (default: the default local store)\n"
     "  --env NAME          environment folder (default \"default\")\n"
     "  --keep-last N       keep the newest N backups\n"
     "  --keep-days D       keep backups younger than D days\n"
     "  --keep-hourly N     keep the newest backup of each of the last N hours\n"
     "  --keep-daily N      ... of the last N days\n"
     "  --keep-weekly N     ... of the last N ISO weeks\n"
     "  --keep-monthly N    ... of the last N months\n"
     "  --keep-yearly N     ... of the last N years\n"
     "  --grace DURATION    objects of failed backups go once older than this (the next\n"
     "                      backup resumes from them); default 24h, 0 = at once\n"
     "  --lock-wait DURATION  wait this long for running backups (default 10m)\n"
     "  --dry-run           list every backup, kept or not and why; remove nothing\n"
     "  --json              print the report as JSON\n" STORE_HELP NOTIFY_HELP COMMON_HELP,
     CLI_O_FROM | CLI_O_ENV | CLI_O_RETENTION | CLI_O_GC | CLI_O_LOCK | CLI_O_JSON | CLI_O_NOTIFY, 0, 0, 0,
     cli_cmd_prune},
    {"gc", "remove what no backup references",
     "Usage: kvault gc [--from STORE] [--env NAME] [--grace DURATION] [--lock-wait DURATION]\n"
     "                 [--dry-run] [--json]\n"
     "\nRemoves objects no backup references: what an interrupted prune left, at once, and\n"
     "what failed backups left, once older than the grace period; the store's own\n"
     "leftovers (unfinished multipart uploads, temporary files); stale leases. Rebuilds\n"
     "the env's index from its manifests. Waits for running backups like prune.\n"
     "\n  --from STORE        the store (default: the default local store)\n"
     "  --env NAME          environment folder (default \"default\")\n"
     "  --grace DURATION    default 24h, 0 = at once\n"
     "  --lock-wait DURATION  wait this long for running backups (default 10m)\n"
     "  --dry-run           say what would be removed, remove nothing\n"
     "  --json              print the report as JSON\n" STORE_HELP NOTIFY_HELP COMMON_HELP,
     CLI_O_FROM | CLI_O_ENV | CLI_O_GC | CLI_O_LOCK | CLI_O_JSON | CLI_O_NOTIFY, 0, 0, 0, cli_cmd_gc},
    {"cp", "copy a file to, from or between stores",
     "Usage: kvault cp SRC DST\n"
     "\nEach side is a local path or an object URL (s3://bucket/key, ...). Local to URL\n"
     "uploads, URL to local downloads (to a temporary name, renamed when complete), URL to\n"
     "URL goes through a temporary file in $TMPDIR (default /tmp). A DST ending in '/' or\n"
     "naming a local directory gets SRC's file name appended.\n" COMMON_HELP,
     0, 2, 2, 1, cli_cmd_cp},
    {"ls", "list objects under a URL prefix",
     "Usage: kvault ls URL [--json]\n"
     "\nLists the objects whose keys start with URL's key: size in bytes, modification\n"
     "time (UTC) and key relative to the store's root.\n"
     "\n  --json  print a JSON array\n" COMMON_HELP,
     CLI_O_JSON, 1, 1, 0, cli_cmd_ls},
    {"cat", "write an object to stdout",
     "Usage: kvault cat URL\n\nWrites the object's bytes to standard output, in order.\n" COMMON_HELP,
     0, 1, 1, 1, cli_cmd_cat},
    {"rm", "remove an object",
     "Usage: kvault rm URL\n\nRemoves one object.\n" COMMON_HELP, 0, 1, 1, 0, cli_cmd_rm},
    {"stat", "show an object's size, time and tag",
     "Usage: kvault stat URL [--json]\n"
     "\nShows the object's key, size, modification time (UTC) and entity tag.\n"
     "\n  --json  print a JSON object\n" COMMON_HELP,
     CLI_O_JSON, 1, 1, 0, cli_cmd_stat},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_main_help(FILE *f)
{
    fputs("Usage: kvault COMMAND [options]\n"
          "\nBacks up RocksDB databases to S3, Azure Blob, GCS, HDFS or a local directory,\n"
          "and restores them.\n\nCommands:\n",
          f);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs("\nRun 'kvault COMMAND --help' for a command's options.\n"
          "Also: kvault --version, kvault --help.\n" STORE_HELP
          "\nExit status: 0 success, 1 failure, 2 usage error.\n",
          f);
}

static const cli_cmd *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* The environment's settings (the library reads none itself), then the
 * command line's, then the process-wide ones. */
static int apply_settings(cli_args *a, kvault_config **cfg)
{
    kvault_global g = KVAULT_GLOBAL_INIT;
    if (kvault_config_from_env(cfg) != KV_OK)
        return cli_fail();
    a->kvopts = *kvault_config_options(*cfg);
    a->store = *a->kvopts.store;
    if (a->ca_cert)
        a->store.ca_file = a->ca_cert;
    a->kvopts.store = &a->store;
    a->kvopts.workers = a->workers;
    a->kvopts.part_size = a->part_size;
    a->kvopts.lock_wait_s = a->lock_wait_s >= 0 ? a->lock_wait_s : CLI_DEFAULT_LOCK_WAIT_S;
    g.memory_budget = a->memory;
    g.rate_limit = a->rate;
    g.verbosity = a->verbose > KVAULT_LOG_DEBUG ? KVAULT_LOG_DEBUG : a->verbose;
    if (kvault_global_set(&g) != KV_OK) {
        kvault_config_free(*cfg);
        return cli_fail();
    }
    return CLI_OK;
}

static int run_command(const cli_cmd *cmd, int argc, char **argv)
{
    char store[4096];
    kvault_config *cfg = NULL;
    cli_args a;
    int rc = cli_parse(cmd, argc, argv, &a);

    if (rc < 0)
        return CLI_OK; /* --help was printed */
    if (rc != CLI_OK)
        return rc;
    if ((rc = cli_config_apply(cmd, &a)) != CLI_OK || (rc = apply_settings(&a, &cfg)) != CLI_OK)
        return rc;
    cli_progress_setup(&a, cmd->progress);
    rc = cmd->run(&a);
    rc = cli_notify(cmd, &a, cli_store_shown(cmd, &a, store, sizeof store), rc);
    cli_report_free(&a);
    kvault_config_free(cfg);
    if (fflush(stdout) != 0 && rc == CLI_OK) {
        perror("kvault: writing output");
        rc = CLI_FAIL;
    }
    return rc;
}

/* A backup holds every SST file of the database open (the library says
 * why): take all the descriptors the system allows this process. */
static void raise_open_files_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    const cli_cmd *cmd;

    raise_open_files_limit();
    if (argc < 2) {
        print_main_help(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        print_main_help(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("kvault %s\n", KVAULT_VERSION);
        return CLI_OK;
    }
    cmd = find_command(argv[1]);
    if (!cmd) {
        fprintf(stderr, "kvault: unknown command '%s'\nTry 'kvault --help'.\n", argv[1]);
        return CLI_USAGE;
    }
    return run_command(cmd, argc - 1, argv + 1);
}
