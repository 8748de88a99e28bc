/* Command line parsing and the checks on every option's value. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"

enum {
    OPT_DB = 256,
    OPT_TO,
    OPT_FROM,
    OPT_ENV,
    OPT_BACKUP,
    OPT_FORCE,
    OPT_JSON,
    OPT_RESTORE_CHECK,
    OPT_KEEP_LAST,
    OPT_KEEP_DAYS,
    OPT_DRY_RUN,
    OPT_WORKERS,
    OPT_PART_SIZE,
    OPT_MEMORY,
    OPT_LIMIT_RATE,
    OPT_WAL_DIR,
    OPT_SCRATCH,
    OPT_KEEP_HOURLY,
    OPT_KEEP_DAILY,
    OPT_KEEP_WEEKLY,
    OPT_KEEP_MONTHLY,
    OPT_KEEP_YEARLY,
    OPT_GRACE,
    OPT_LOCK_WAIT,
    OPT_CA_CERT,
    OPT_NOTIFY, /* from here on: apply_later_option */
    OPT_FORMAT,
    OPT_SST_SIZE,
    OPT_SINGLE_FILE,
    OPT_NO_SINGLE_FILE,
    OPT_CF,
    OPT_NOTIFY_URL,
    OPT_NOTIFY_AUTH_ENV,
    OPT_NOTIFY_REQUIRED,
    OPT_NOTIFY_TIMEOUT,
};

/* Every long option, with the CLI_O_* bit a command must accept for it
 * (0 = accepted by every command). */
static const struct {
    struct option opt;
    unsigned bit;
} all_options[] = {
    {{"db", required_argument, NULL, OPT_DB}, CLI_O_DB},
    {{"to", required_argument, NULL, OPT_TO}, CLI_O_TO},
    {{"from", required_argument, NULL, OPT_FROM}, CLI_O_FROM},
    {{"env", required_argument, NULL, OPT_ENV}, CLI_O_ENV},
    {{"backup", required_argument, NULL, OPT_BACKUP}, CLI_O_BACKUP},
    {{"force", no_argument, NULL, OPT_FORCE}, CLI_O_FORCE},
    {{"json", no_argument, NULL, OPT_JSON}, CLI_O_JSON},
    {{"restore-check", no_argument, NULL, OPT_RESTORE_CHECK}, CLI_O_RESTORE_CHECK},
    {{"keep-last", required_argument, NULL, OPT_KEEP_LAST}, CLI_O_RETENTION},
    {{"keep-days", required_argument, NULL, OPT_KEEP_DAYS}, CLI_O_RETENTION},
    {{"keep-hourly", required_argument, NULL, OPT_KEEP_HOURLY}, CLI_O_RETENTION},
    {{"keep-daily", required_argument, NULL, OPT_KEEP_DAILY}, CLI_O_RETENTION},
    {{"keep-weekly", required_argument, NULL, OPT_KEEP_WEEKLY}, CLI_O_RETENTION},
    {{"keep-monthly", required_argument, NULL, OPT_KEEP_MONTHLY}, CLI_O_RETENTION},
    {{"keep-yearly", required_argument, NULL, OPT_KEEP_YEARLY}, CLI_O_RETENTION},
    {{"dry-run", no_argument, NULL, OPT_DRY_RUN}, CLI_O_GC},
    {{"grace", required_argument, NULL, OPT_GRACE}, CLI_O_GC},
    {{"lock-wait", required_argument, NULL, OPT_LOCK_WAIT}, CLI_O_LOCK},
    {{"wal-dir", required_argument, NULL, OPT_WAL_DIR}, CLI_O_SOURCE},
    {{"scratch", required_argument, NULL, OPT_SCRATCH}, CLI_O_SOURCE},
    {{"format", required_argument, NULL, OPT_FORMAT}, CLI_O_FORMAT},
    {{"sst-size", required_argument, NULL, OPT_SST_SIZE}, CLI_O_FORMAT},
    {{"single-file", no_argument, NULL, OPT_SINGLE_FILE}, CLI_O_FORMAT},
    {{"no-single-file", no_argument, NULL, OPT_NO_SINGLE_FILE}, CLI_O_FORMAT},
    {{"cf", required_argument, NULL, OPT_CF}, CLI_O_CF},
    {{"notify", required_argument, NULL, OPT_NOTIFY}, CLI_O_NOTIFY},
    {{"notify-url", required_argument, NULL, OPT_NOTIFY_URL}, CLI_O_NOTIFY},
    {{"notify-auth-env", required_argument, NULL, OPT_NOTIFY_AUTH_ENV}, CLI_O_NOTIFY},
    {{"notify-required", no_argument, NULL, OPT_NOTIFY_REQUIRED}, CLI_O_NOTIFY},
    {{"notify-timeout", required_argument, NULL, OPT_NOTIFY_TIMEOUT}, CLI_O_NOTIFY},
    {{"ca-cert", required_argument, NULL, OPT_CA_CERT}, 0},
    {{"workers", required_argument, NULL, OPT_WORKERS}, 0},
    {{"part-size", required_argument, NULL, OPT_PART_SIZE}, 0},
    {{"memory", required_argument, NULL, OPT_MEMORY}, 0},
    {{"limit-rate", required_argument, NULL, OPT_LIMIT_RATE}, 0},
    {{"verbose", no_argument, NULL, 'v'}, 0},
    {{"quiet", no_argument, NULL, 'q'}, 0},
    {{"help", no_argument, NULL, 'h'}, 0},
};

#define N_OPTIONS (sizeof(all_options) / sizeof(all_options[0]))
#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)
#define TIB (1024ull * GIB)

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "kvault %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'kvault %s --help'.\n", cmd);
    return CLI_USAGE;
}

/* The library names its own fields; people at a terminal know the flags. */
static void print_with_flags(const char *msg)
{
    static const struct {
        const char *api, *flag;
    } terms[] = {
        {"kvault_backup_opts.wal_dir", "--wal-dir"},
        {"kvault_backup_opts.scratch_dir", "--scratch"},
        {"kvault_restore_opts.force", "--force"},
        {"kvault_prune_opts.keep_last", "--keep-last"},
        {"kvault_prune_opts.keep_days", "--keep-days"},
        {"kvault_options.lock_wait_s", "--lock-wait"},
        {"kvault_options.workers", "--workers"},
    };
    while (*msg) {
        size_t i, n = sizeof terms / sizeof *terms;
        for (i = 0; i < n && strncmp(msg, terms[i].api, strlen(terms[i].api)) != 0; i++)
            ;
        if (i < n) {
            fputs(terms[i].flag, stderr);
            msg += strlen(terms[i].api);
        } else {
            fputc(*msg++, stderr);
        }
    }
}

static char last_error[2048];

int cli_fail(void)
{
    const char *msg = kvault_errmsg();
    snprintf(last_error, sizeof last_error, "%s", msg && *msg ? msg : "failed (no message)");
    fputs("kvault: ", stderr);
    print_with_flags(last_error);
    fputc('\n', stderr);
    return CLI_FAIL;
}

int cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    fprintf(stderr, "kvault: %s\n", last_error);
    return CLI_FAIL;
}

const char *cli_last_error(void)
{
    return last_error;
}

int cli_check(int kvrc)
{
    cli_progress_end();
    return kvrc == KV_OK ? CLI_OK : cli_fail();
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t unit_multiplier(const char *unit, int *ok)
{
    static const struct {
        const char *name;
        uint64_t mult;
    } units[] = {
        {"", 1},       {"b", 1},        {"k", KIB},      {"kib", KIB}, {"m", MIB},
        {"mib", MIB},  {"g", GIB},      {"gib", GIB},    {"t", TIB},   {"tib", TIB},
    };
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcasecmp(unit, units[i].name) == 0) {
            *ok = 1;
            return units[i].mult;
        }
    }
    *ok = 0;
    return 0;
}

int cli_parse_size(const char *text, int allow_per_s, uint64_t *out)
{
    char unit[8];
    char *end;
    size_t ulen;
    int ok;
    double num, bytes;
    uint64_t mult;

    if (!isdigit((unsigned char)text[0]) && text[0] != '.')
        return -1;
    errno = 0;
    num = strtod(text, &end);
    if (errno || end == text)
        return -1;
    ulen = strlen(end);
    if (allow_per_s && ulen >= 2 && strcmp(end + ulen - 2, "/s") == 0)
        ulen -= 2;
    if (ulen >= sizeof(unit))
        return -1;
    memcpy(unit, end, ulen);
    unit[ulen] = '\0';
    mult = unit_multiplier(unit, &ok);
    if (!ok)
        return -1;
    bytes = num * (double)mult;
    if (!isfinite(bytes) || bytes >= 18446744073709551615.0)
        return -1;
    *out = (uint64_t)llround(bytes);
    return 0;
}

/* Parses a whole-number option and checks it lies in [min, max]. */
static int parse_int_opt(const char *cmd, const char *name, const char *text, long min, long max,
                         int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < min || v > max)
        return cli_usage_error(cmd, "--%s must be %ld..%ld, got '%s'", name, min, max, text);
    *out = (int)v;
    return CLI_OK;
}

/* Parses a size option and checks it lies in [min, max]. */
static int parse_size_opt(const char *cmd, const char *name, const char *text, int is_rate,
                          uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v;

    if (cli_parse_size(text, is_rate, &v) != 0)
        return cli_usage_error(cmd, "--%s: '%s' is not a %s (e.g. %s; K, M, G, T = KiB, MiB, GiB, TiB)",
                               name, text, is_rate ? "rate" : "size",
                               is_rate ? "500K, 20M, 1G/s" : "8M, 64MiB, 1G");
    if (v < min || v > max)
        return cli_usage_error(cmd, "--%s must be between %llu and %llu bytes, got '%s'", name,
                               (unsigned long long)min, (unsigned long long)max, text);
    *out = v;
    return CLI_OK;
}

int cli_parse_duration(const char *text, int64_t *seconds)
{
    static const struct {
        char unit;
        int64_t mult;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
    char *end;
    long long n;
    if (!isdigit((unsigned char)text[0]))
        return -1;
    errno = 0;
    n = strtoll(text, &end, 10);
    if (errno || n > 100LL * 365 * 86400)
        return -1;
    if (!*end) {
        *seconds = n;
        return 0;
    }
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        if (end[0] == units[i].unit && !end[1]) {
            *seconds = n * units[i].mult;
            return 0;
        }
    }
    return -1;
}

static int parse_duration_opt(const char *cmd, const char *name, const char *text, int64_t *out)
{
    if (cli_parse_duration(text, out) != 0)
        return cli_usage_error(cmd, "--%s: '%s' is not a duration (e.g. 0, 90s, 15m, 24h, 7d)",
                               name, text);
    return CLI_OK;
}

/* The options of notifications and of the export format. */
static int apply_later_option(const char *cmd, int id, const char *arg, cli_args *a)
{
    switch (id) {
    case OPT_NOTIFY: a->notify = arg; break;
    case OPT_NOTIFY_URL:
        if (strncmp(arg, "http://", 7) != 0 && strncmp(arg, "https://", 8) != 0)
            return cli_usage_error(cmd, "--notify-url: '%s' is not an http:// or https:// URL", arg);
        a->notify_url = arg;
        break;
    case OPT_NOTIFY_AUTH_ENV: a->notify_auth_env = arg; break;
    case OPT_NOTIFY_REQUIRED: a->notify_required = 1; break;
    case OPT_NOTIFY_TIMEOUT: return parse_duration_opt(cmd, "notify-timeout", arg, &a->notify_timeout_s);
    case OPT_FORMAT:
        if (strcmp(arg, "files") != 0 && strcmp(arg, "sst") != 0)
            return cli_usage_error(cmd, "--format is 'files' or 'sst', not '%s'", arg);
        a->format = strcmp(arg, "sst") == 0 ? KVAULT_FORMAT_SST : KVAULT_FORMAT_FILES;
        break;
    case OPT_SINGLE_FILE: a->single_file = KVAULT_SINGLE_FILE_YES; break;
    case OPT_NO_SINGLE_FILE: a->single_file = KVAULT_SINGLE_FILE_NO; break;
    case OPT_SST_SIZE:
        return parse_size_opt(cmd, "sst-size", arg, 0, 64 * KIB, TIB, &a->sst_size);
    case OPT_CF:
        if (a->ncfs == sizeof a->cfs / sizeof *a->cfs)
            return cli_usage_error(cmd, "--cf given more than %zu times", sizeof a->cfs / sizeof *a->cfs);
        a->cfs[a->ncfs++] = arg;
        break;
    }
    return CLI_OK;
}

/* Applies one parsed option to *a. */
static int apply_option(const char *cmd, int id, const char *arg, cli_args *a)
{
    if (id >= OPT_NOTIFY)
        return apply_later_option(cmd, id, arg, a);
    switch (id) {
    case OPT_DB: a->db = arg; break;
    case OPT_TO: a->to = arg; break;
    case OPT_FROM: a->from = arg; break;
    case OPT_ENV: a->env = arg; break;
    case OPT_BACKUP: a->backup = arg; break;
    case OPT_FORCE: a->force = 1; break;
    case OPT_JSON: a->json = 1; break;
    case OPT_RESTORE_CHECK: a->restore_check = 1; break;
    case OPT_KEEP_LAST: return parse_int_opt(cmd, "keep-last", arg, 1, 1000000, &a->keep_last);
    case OPT_KEEP_DAYS: return parse_int_opt(cmd, "keep-days", arg, 1, 1000000, &a->keep_days);
    case OPT_KEEP_HOURLY: return parse_int_opt(cmd, "keep-hourly", arg, 1, 1000000, &a->keep_hourly);
    case OPT_KEEP_DAILY: return parse_int_opt(cmd, "keep-daily", arg, 1, 1000000, &a->keep_daily);
    case OPT_KEEP_WEEKLY: return parse_int_opt(cmd, "keep-weekly", arg, 1, 1000000, &a->keep_weekly);
    case OPT_KEEP_MONTHLY:
        return parse_int_opt(cmd, "keep-monthly", arg, 1, 1000000, &a->keep_monthly);
    case OPT_KEEP_YEARLY: return parse_int_opt(cmd, "keep-yearly", arg, 1, 1000000, &a->keep_yearly);
    case OPT_GRACE: return parse_duration_opt(cmd, "grace", arg, &a->grace_s);
    case OPT_LOCK_WAIT: {
        int64_t s;
        int rc = parse_duration_opt(cmd, "lock-wait", arg, &s);
        if (rc == CLI_OK && s > 86400 * 7)
            return cli_usage_error(cmd, "--lock-wait is at most 7d, got '%s'", arg);
        a->lock_wait_s = (int)s;
        return rc;
    }
    case OPT_DRY_RUN: a->dry_run = 1; break;
    case OPT_WAL_DIR: a->wal_dir = arg; break;
    case OPT_CA_CERT: a->ca_cert = arg; break;
    case OPT_SCRATCH: a->scratch = arg; break;
    case OPT_WORKERS: return parse_int_opt(cmd, "workers", arg, 1, 256, &a->workers);
    case OPT_PART_SIZE:
        return parse_size_opt(cmd, "part-size", arg, 0, 64 * KIB, 5 * GIB, &a->part_size);
    case OPT_MEMORY:
        return parse_size_opt(cmd, "memory", arg, 0, MIB, TIB, &a->memory);
    case OPT_LIMIT_RATE:
        /* 0 means unlimited, as in the library. */
        return parse_size_opt(cmd, "limit-rate", arg, 1, 0, TIB, &a->rate);
    case 'v': a->verbose++; break;
    case 'q': a->quiet = 1; break;
    }
    return CLI_OK;
}

/* Reports what getopt_long rejected. optopt holds the short option's letter,
 * the long option's id (>= 256) when its value was missing or unwanted, or 0
 * for an unknown long option. */
static int getopt_error(const char *cmd, int c, char **argv)
{
    char name[64];
    const char *arg = argv[optind - 1];

    if (optopt > 0 && optopt < 256)
        snprintf(name, sizeof(name), "-%c", optopt);
    else
        snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
    if (c == ':')
        return cli_usage_error(cmd, "option '%s' needs a value", name);
    if (optopt >= 256)
        return cli_usage_error(cmd, "option '%s' takes no value", name);
    return cli_usage_error(cmd, "unknown option '%s'", name);
}

/* Options the config file may not set: they describe one run. */
static int per_run_only(int id)
{
    return id == OPT_DB || id == OPT_BACKUP || id == OPT_FORCE || id == OPT_JSON ||
           id == OPT_DRY_RUN || id == OPT_RESTORE_CHECK;
}

int cli_apply_named(const cli_cmd *cmd, const char *name, const char *value, cli_args *a)
{
    size_t i;
    int id;
    if (strcmp(name, "store") == 0)
        name = cmd->accepts & CLI_O_FROM ? "from" : "to";
    for (i = 0; i < N_OPTIONS && strcmp(all_options[i].opt.name, name) != 0; i++)
        ;
    if (i == N_OPTIONS || all_options[i].opt.val < 256 || per_run_only(all_options[i].opt.val))
        return cli_usage_error(cmd->name, "%s: no setting '%s'", a->config_file, name);
    id = all_options[i].opt.val;
    if ((all_options[i].bit && !(cmd->accepts & all_options[i].bit)) || a->given[id - 256])
        return 1;
    a->given[id - 256] = 1; /* a section read earlier wins over [defaults] */
    if (all_options[i].opt.has_arg == no_argument) {
        if (strcasecmp(value, "yes") != 0 && strcasecmp(value, "true") != 0 && strcmp(value, "1") != 0 &&
            strcasecmp(value, "no") != 0 && strcasecmp(value, "false") != 0 && strcmp(value, "0") != 0)
            return cli_usage_error(cmd->name, "%s: '%s' must be yes or no, not '%s'",
                                   a->config_file, name, value);
        if (strcasecmp(value, "no") == 0 || strcasecmp(value, "false") == 0 || strcmp(value, "0") == 0)
            return 1;
    }
    return apply_option(cmd->name, id, value, a);
}

static int check_positionals(const cli_cmd *cmd, const cli_args *a)
{
    if (a->npos >= cmd->min_pos && a->npos <= cmd->max_pos)
        return CLI_OK;
    if (cmd->max_pos == 0)
        return cli_usage_error(cmd->name, "unexpected argument '%s'", a->pos[0]);
    if (a->npos > cmd->max_pos)
        return cli_usage_error(cmd->name, "unexpected argument '%s'", a->pos[cmd->max_pos]);
    return cli_usage_error(cmd->name, "needs %d argument%s, got %d", cmd->min_pos,
                           cmd->min_pos == 1 ? "" : "s", a->npos);
}

int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_args *a)
{
    struct option longopts[N_OPTIONS + 1];
    size_t n = 0;
    int c, rc = CLI_OK;

    for (size_t i = 0; i < N_OPTIONS; i++)
        if (all_options[i].bit == 0 || (cmd->accepts & all_options[i].bit))
            longopts[n++] = all_options[i].opt;
    memset(&longopts[n], 0, sizeof(longopts[n]));

    memset(a, 0, sizeof(*a));
    a->cmd = cmd->name;
    a->grace_s = -1;
    a->lock_wait_s = -1;
    a->notify_timeout_s = -1;
    opterr = 0;
    optind = 1;
    while (rc == CLI_OK && (c = getopt_long(argc, argv, ":hvq", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(cmd->help, stdout);
            return -1;
        }
        if (c == '?' || c == ':')
            rc = getopt_error(cmd->name, c, argv);
        else
            rc = apply_option(cmd->name, c, optarg, a);
        if (c >= 256 && c - 256 < (int)sizeof a->given)
            a->given[c - 256] = 1;
    }
    if (rc != CLI_OK)
        return rc;
    if (a->quiet && a->verbose)
        return cli_usage_error(cmd->name, "-q/--quiet and -v/--verbose exclude each other");
    a->pos = argv + optind;
    a->npos = argc - optind;
    return check_positionals(cmd, a);
}

int cli_default_store(char *buf, size_t len)
{
    const char *env = getenv("KVAULT_STORE");
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    int n;

    if (env && *env)
        n = snprintf(buf, len, "%s", env);
    else if (xdg && *xdg)
        n = snprintf(buf, len, "%s/kvault/store", xdg);
    else if (home && *home)
        n = snprintf(buf, len, "%s/.local/share/kvault/store", home);
    else
        n = -1;
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* mkdir -p for the default store, which the CLI (not the user) chose. */
static int mkdir_p(const char *path)
{
    char tmp[PATH_MAX];
    size_t len = strlen(path);

    if (len >= sizeof(tmp))
        return -1;
    memcpy(tmp, path, len + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

/* "s3:/bucket", "gs:bucket" and "s3//bucket" are typing mistakes, not the
 * names of local directories: 1 when url looks like one. */
static int mistyped_url(const char *url)
{
    static const char *const schemes[] = {"file", "s3", "az", "gs", "hdfs", "webhdfs", "swebhdfs"};
    for (size_t i = 0; i < sizeof schemes / sizeof *schemes; i++) {
        size_t n = strlen(schemes[i]);
        if (strncasecmp(url, schemes[i], n) != 0)
            continue;
        if (url[n] == ':' && strncmp(url + n + 1, "//", 2) != 0)
            return 1;
        if (url[n] == '/' && url[n + 1] == '/')
            return 1;
    }
    return 0;
}

/* A local store (a path or file:// URL) that does not exist. */
static int missing_local_store(const char *url)
{
    struct stat st;
    if (strstr(url, "://") && strncmp(url, "file://", 7) != 0)
        return 0;
    if (strncmp(url, "file://", 7) == 0)
        url += 7;
    return stat(url, &st) != 0 && errno == ENOENT;
}

const char *cli_store_shown(const cli_cmd *cmd, const cli_args *a, char *buf, size_t len)
{
    const char *url = cmd->accepts & CLI_O_FROM ? a->from : a->to;
    if (url)
        return url;
    return cli_default_store(buf, len) == 0 ? buf : "";
}

int cli_check_store_url(const char *cmd, const char *url)
{
    if (url && mistyped_url(url))
        return cli_usage_error(cmd, "'%s' looks like a mistyped store URL (write scheme://, e.g. "
                               "s3://bucket/prefix; a local directory as ./%s)", url, url);
    return CLI_OK;
}

int cli_open_store(cli_args *a, const char *url, int create, kvault **out)
{
    char def[PATH_MAX];

    if (cli_check_store_url(a->cmd, url) != CLI_OK)
        return CLI_USAGE;
    if (!url) {
        if (cli_default_store(def, sizeof(def)) != 0) {
            return cli_error("no store given and no default: set KVAULT_STORE or HOME");
        }
        if (create && mkdir_p(def) != 0)
            return cli_error("cannot create default store %s: %s", def, strerror(errno));
        url = def;
    } else if (!create && missing_local_store(url)) {
        return cli_error("store '%s' does not exist", url);
    }
    if (a->verbose)
        fprintf(stderr, "kvault: store %s\n", url);
    if (kvault_open(url, &a->kvopts, out) != KV_OK)
        return cli_fail();
    return CLI_OK;
}
