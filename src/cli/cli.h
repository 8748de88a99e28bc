/* The kvault command: shared pieces of the command line tool. Internal to
 * src/cli; like the rest of the CLI it builds only on the public kvault.h. */
#ifndef KV_CLI_H
#define KV_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "kvault.h"

/* Exit codes. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* Command-specific options a command may accept (a bit each). */
enum {
    CLI_O_DB = 1u << 0,
    CLI_O_TO = 1u << 1,
    CLI_O_FROM = 1u << 2,
    CLI_O_ENV = 1u << 3,
    CLI_O_BACKUP = 1u << 4,
    CLI_O_FORCE = 1u << 5,
    CLI_O_JSON = 1u << 6,
    CLI_O_RESTORE_CHECK = 1u << 7,
    CLI_O_RETENTION = 1u << 8, /* --keep-last, --keep-days, --dry-run */
    CLI_O_SOURCE = 1u << 9,    /* --wal-dir, --scratch */
    CLI_O_GC = 1u << 10,       /* --grace, --dry-run */
    CLI_O_LOCK = 1u << 11,     /* --lock-wait */
    CLI_O_NOTIFY = 1u << 12,   /* --notify, --notify-url, ... */
    CLI_O_FORMAT = 1u << 13,   /* --format, --sst-size */
    CLI_O_CF = 1u << 14,       /* --cf NAME (repeatable) */
};

/* Everything the command line said, for any command. */
typedef struct cli_args {
    const char *cmd;          /* command name, for messages */
    const char *db, *to, *from, *env, *backup, *wal_dir, *scratch;
    int force, json, restore_check;
    int keep_last, keep_days, dry_run;
    int keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly;
    int64_t grace_s;          /* -1 = not given */
    int lock_wait_s;          /* -1 = not given */
    int verbose, quiet;
    int workers;              /* 0 = the library's default */
    uint64_t part_size, memory, rate;
    const char *ca_cert;      /* --ca-cert */
    kvault_store_opts store;  /* the environment's, with --ca-cert */
    kvault_options kvopts;    /* from the environment + the above; progress */
    char **pos;               /* positional arguments */
    int npos;
    int format;               /* KVAULT_FORMAT_* */
    int single_file;          /* KVAULT_SINGLE_FILE_* */
    uint64_t sst_size;
    const char *cfs[256];     /* --cf */
    size_t ncfs;
    /* notification (notify.c) */
    const char *notify, *notify_url, *notify_auth_env;
    int notify_required;
    int64_t notify_timeout_s; /* -1 = not given */
    const char *config_file;  /* the config file read, for messages; NULL = none */
    unsigned char given[64];  /* options the command line gave, by id - 256 */
    /* the command's report: the JSON object --json prints (report.c) */
    char *report;
    size_t report_len;
    FILE *report_stream;
    char report_id[80];       /* the backup it is about, or "" */
} cli_args;

typedef struct cli_cmd {
    const char *name;
    const char *summary;      /* one line for `kvault --help` */
    const char *help;         /* full text for `kvault NAME --help` */
    unsigned accepts;         /* CLI_O_* bits */
    int min_pos, max_pos;     /* positional argument count */
    int progress;             /* shows a progress line on a terminal */
    int (*run)(cli_args *a);
} cli_cmd;

/* ---- args.c ---- */

/* Parses argv (argv[0] is the command name) into *a. Returns CLI_OK,
 * CLI_USAGE after printing the problem, or -1 when --help was printed. */
int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_args *a);

/* Prints "kvault CMD: <message>" and the --help hint; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "kvault: <kvault_errmsg()>"; returns CLI_FAIL. */
int cli_fail(void);

/* Prints "kvault: <message>" for a failure the CLI found itself; returns
 * CLI_FAIL. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The last failure's message as printed (for notifications); "" if none. */
const char *cli_last_error(void);

/* Ends the progress line, then maps a library status to an exit code,
 * printing the library's message on failure. */
int cli_check(int kvrc);

/* Seconds on a monotonic clock, for timing commands. */
double cli_now(void);

/* Parses "64M", "1GiB", "4096" (K/M/G/T and KiB/MiB/GiB/TiB are all
 * 1024-based). allow_per_s accepts a trailing "/s" for rates. */
int cli_parse_size(const char *text, int allow_per_s, uint64_t *out);

/* Parses a duration: a whole number with s, m, h, d or w (a bare number is
 * seconds): "90", "15m", "24h", "7d". -1 when text is not one. */
int cli_parse_duration(const char *text, int64_t *seconds);

/* The default local store: $KVAULT_STORE, $XDG_DATA_HOME/kvault/store or
 * ~/.local/share/kvault/store. Writes into buf. */
int cli_default_store(char *buf, size_t len);

/* Opens the store named by url, or the default store when url is NULL
 * (creating its directory if create is set). */
int cli_open_store(cli_args *a, const char *url, int create, kvault **out);

/* The store the command uses, as the user named it (--to or --from), else
 * the default store's path into buf; "" when there is none. */
const char *cli_store_shown(const cli_cmd *cmd, const cli_args *a, char *buf, size_t len);

/* CLI_USAGE (after saying so) when url looks like a mistyped store URL
 * ("s3:/bucket", "gs:bucket", "s3//bucket"), else CLI_OK. */
int cli_check_store_url(const char *cmd, const char *url);

/* ---- format.c ---- */

/* "1.2 GiB", "512 B" into buf. */
const char *cli_human_size(uint64_t n, char *buf, size_t len);
/* "2026-11-23 12:50:00" (UTC) into buf. */
const char *cli_utc_time(int64_t unix_secs, char *buf, size_t len);
/* Writes s as a JSON string literal. */
void cli_json_str(FILE *f, const char *s);
/* Writes the fields of info as JSON members (no braces). */
void cli_json_backup_fields(FILE *f, const kvault_backup_info *info);

/* ---- report.c ---- */

/* Starts the command's JSON report: what is written to the returned stream
 * until cli_report_end is printed with --json and handed to notification
 * hooks. backup_id (may be NULL) is the backup it is about. */
FILE *cli_report_begin(cli_args *a, const char *backup_id);
void cli_report_end(cli_args *a);
void cli_report_free(cli_args *a);

/* ---- notify.c ---- */

/* After a command that notifies (CLI_O_NOTIFY) ran with result rc (and,
 * on failure, the library's message still set): runs the --notify command
 * and POSTs to --notify-url, as asked. Returns rc, or CLI_FAIL when a
 * notification failed and --notify-required was given. */
int cli_notify(const cli_cmd *cmd, cli_args *a, const char *store, int rc);

/* ---- config.c ---- */

/* Fills the options the command line left out from the config file
 * ($KVAULT_CONFIG, else ~/.config/kvault/config, else /etc/kvault/config):
 * its [defaults] section, then the section of the store in use. CLI_OK,
 * or CLI_USAGE naming the file, line and key that is wrong. */
int cli_config_apply(const cli_cmd *cmd, cli_args *a);

/* Applies one option by its long name, as if given on the command line
 * (args.c); "store" is --to or --from, whichever the command takes. Returns
 * CLI_OK, CLI_USAGE after saying what is wrong, or 1 when the command does
 * not take the option. */
int cli_apply_named(const cli_cmd *cmd, const char *name, const char *value, cli_args *a);

/* ---- progress.c ---- */

/* Sets a->kvopts.progress: it draws the progress line when draw_line and
 * stderr is a terminal and the command is not quiet or JSON, and it asks the
 * library to stop (and clean up) after SIGINT or SIGTERM. */
void cli_progress_setup(cli_args *a, int draw_line);
/* Clears the progress line, if one was drawn. */
void cli_progress_end(void);

/* ---- commands ---- */

int cli_cmd_backup(cli_args *a);
int cli_cmd_list(cli_args *a);
int cli_cmd_restore(cli_args *a);
int cli_cmd_verify(cli_args *a);
int cli_cmd_prune(cli_args *a);
int cli_cmd_cp(cli_args *a);
int cli_cmd_ls(cli_args *a);
int cli_cmd_cat(cli_args *a);
int cli_cmd_rm(cli_args *a);
int cli_cmd_stat(cli_args *a);
int cli_cmd_envs(cli_args *a);
int cli_cmd_gc(cli_args *a);
int cli_cmd_ingest(cli_args *a);

#endif
