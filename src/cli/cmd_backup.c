/* Commands over backups: backup, list, restore, verify, prune. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* The fields list shares, plus what only a backup run knows. */
static void print_backup_json(FILE *f, const kvault_backup_info *info)
{
    fputs("{", f);
    cli_json_backup_fields(f, info);
    fprintf(f, ", \"bytes_checksummed\": %" PRIu64 "}\n", info->bytes_checksummed);
}

/* The store as the user named it, or the default one. */
static const char *store_name(const char *url, char *buf, size_t len)
{
    return url ? url : cli_default_store(buf, len) == 0 ? buf : "the default store";
}

int cli_cmd_backup(cli_args *a)
{
    kvault *kv = NULL;
    kvault_backup_opts bo = {.version = KVAULT_BACKUP_OPTS_VERSION, .env = a->env, .wal_dir = a->wal_dir,
                             .scratch_dir = a->scratch, .format = a->format, .sst_size = a->sst_size,
                             .single_file = a->single_file};
    kvault_backup_info info;
    char total[32], fresh[32], store[4096];
    int rc;

    if (!a->db)
        return cli_usage_error(a->cmd, "--db is required");
    rc = cli_open_store(a, a->to, 1, &kv);
    if (rc != CLI_OK)
        return rc;
    rc = cli_check(kvault_backup(kv, a->db, &bo, &info));
    kvault_close(kv);
    if (rc != CLI_OK)
        return rc;

    print_backup_json(cli_report_begin(a, info.id), &info);
    cli_report_end(a);
    if (a->json)
        return CLI_OK;
    if (a->quiet)
        printf("%s\n", info.id);
    else
        printf("backup %s of %s to %s (env %s) done: %" PRIu64 " files, %s, %s new in %.1f s\n",
               info.id, a->db, store_name(a->to, store, sizeof store), info.env, info.files,
               cli_human_size(info.bytes, total, sizeof(total)),
               cli_human_size(info.bytes_new, fresh, sizeof(fresh)), info.seconds);
    return CLI_OK;
}

static void print_list_json(const kvault_backup_info *list, size_t n)
{
    fputs("[", stdout);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ",\n {" : "\n {", stdout);
        cli_json_backup_fields(stdout, &list[i]);
        fputs("}", stdout);
    }
    fputs(n ? "\n]\n" : "]\n", stdout);
}

static void print_list_table(const kvault_backup_info *list, size_t n)
{
    int idw = 2;
    char when[32], size[32], fresh[32];

    for (size_t i = 0; i < n; i++)
        if ((int)strlen(list[i].id) > idw)
            idw = (int)strlen(list[i].id);
    printf("%-*s  %-19s  %8s  %10s  %10s\n", idw, "ID", "TIME (UTC)", "FILES", "SIZE", "NEW");
    for (size_t i = 0; i < n; i++)
        printf("%-*s  %-19s  %8" PRIu64 "  %10s  %10s\n", idw, list[i].id,
               cli_utc_time(list[i].started_unix, when, sizeof(when)), list[i].files,
               cli_human_size(list[i].bytes, size, sizeof(size)),
               cli_human_size(list[i].bytes_new, fresh, sizeof(fresh)));
}

int cli_cmd_list(cli_args *a)
{
    kvault *kv = NULL;
    kvault_backup_info *list = NULL;
    size_t n = 0;
    int rc;

    rc = cli_open_store(a, a->from, 0, &kv);
    if (rc != CLI_OK)
        return rc;
    rc = cli_check(kvault_list(kv, a->env, &list, &n));
    kvault_close(kv);
    if (rc != CLI_OK)
        return rc;

    if (a->json)
        print_list_json(list, n);
    else if (n == 0 && !a->quiet)
        fprintf(stderr, "no backups in env '%s'\n", a->env ? a->env : "default");
    else if (n > 0)
        print_list_table(list, n);
    kvault_free(list);
    return CLI_OK;
}

int cli_cmd_restore(cli_args *a)
{
    kvault *kv = NULL;
    kvault_restore_opts ro = {.version = KVAULT_RESTORE_OPTS_VERSION, .env = a->env, .backup_id = a->backup,
                              .force = a->force, .cfs = a->cfs, .ncfs = a->ncfs};
    kvault_backup_info info;
    char size[32];
    double start;
    int rc;

    if (!a->to)
        return cli_usage_error(a->cmd, "--to DIR is required");
    rc = cli_open_store(a, a->from, 0, &kv);
    if (rc != CLI_OK)
        return rc;
    start = cli_now();
    rc = cli_check(kvault_restore(kv, &ro, a->to, &info));
    kvault_close(kv);
    if (rc != CLI_OK)
        return rc;

    {
        FILE *f = cli_report_begin(a, info.id);
        fputs("{\"backup\": {", f);
        cli_json_backup_fields(f, &info);
        fputs("}, \"dest\": ", f);
        cli_json_str(f, a->to);
        fprintf(f, ", \"seconds\": %.3f}\n", cli_now() - start);
        cli_report_end(a);
    }
    if (!a->json && !a->quiet) {
        printf("restored backup %s to %s: %" PRIu64 " files, %s in %.1f s\n", info.id, a->to,
               info.files, cli_human_size(info.bytes, size, sizeof(size)), cli_now() - start);
    }
    return CLI_OK;
}

static void print_verify_json(FILE *f, const kvault_verify_report *r)
{
    fputs("{\"backup\": {", f);
    cli_json_backup_fields(f, &r->backup);
    fprintf(f, "}, \"ok\": true, \"objects_checked\": %" PRIu64 ", \"bytes_checked\": %" PRIu64
           ", \"restore_checked\": %s, \"column_families\": %" PRIu64 ", \"keys\": %" PRIu64
           ", \"not_checked\": ",
           r->objects_checked, r->bytes_checked, r->restore_checked ? "true" : "false",
           r->column_families, r->keys);
    cli_json_str(f, r->not_checked);
    fputs("}\n", f);
}

int cli_cmd_verify(cli_args *a)
{
    kvault *kv = NULL;
    kvault_verify_opts vo = {.version = KVAULT_VERIFY_OPTS_VERSION, .env = a->env, .backup_id = a->backup, .restore_check = a->restore_check};
    kvault_verify_report r;
    char size[32];
    int rc;

    rc = cli_open_store(a, a->from, 0, &kv);
    if (rc != CLI_OK)
        return rc;
    rc = cli_check(kvault_verify(kv, &vo, &r));
    kvault_close(kv);
    if (rc != CLI_OK)
        return rc;

    print_verify_json(cli_report_begin(a, r.backup.id), &r);
    cli_report_end(a);
    if (!a->json && !a->quiet) {
        printf("backup %s OK: %" PRIu64 " objects, %s checked", r.backup.id, r.objects_checked,
               cli_human_size(r.bytes_checked, size, sizeof(size)));
        if (r.restore_checked)
            printf("; restored and read %" PRIu64 " keys in %" PRIu64 " column families", r.keys,
                   r.column_families);
        printf("\n");
        if (*r.not_checked)
            printf("not checked: %s\n", r.not_checked);
    }
    return CLI_OK;
}

static void print_decisions(const kvault_prune_report *r)
{
    char when[32];
    printf("%-27s  %-19s  %-6s  %s\n", "ID", "TIME (UTC)", "ACTION", "WHY");
    for (size_t i = 0; i < r->ndecisions; i++) {
        const kvault_prune_decision *d = &r->decisions[i];
        printf("%-27s  %-19s  %-6s  %s\n", d->id, cli_utc_time(d->started_unix, when, sizeof when),
               d->keep ? "keep" : "remove", d->keep ? d->reasons : "no rule keeps it");
    }
}

static void print_prune_json(FILE *f, const cli_args *a, const kvault_prune_report *r)
{
    fprintf(f, "{\"dry_run\": %s, \"backups_kept\": %" PRIu64 ", \"backups_removed\": %" PRIu64
           ", \"backups_damaged\": %" PRIu64 ", \"objects_removed\": %" PRIu64
           ", \"bytes_removed\": %" PRIu64 ", \"incomplete_removed\": %" PRIu64
           ", \"garbage_removed\": %" PRIu64 ", \"decisions\": [",
           a->dry_run ? "true" : "false", r->backups_kept, r->backups_removed, r->backups_damaged,
           r->objects_removed, r->bytes_removed, r->incomplete_removed, r->garbage_removed);
    for (size_t i = 0; i < r->ndecisions; i++) {
        fprintf(f, "%s{\"id\": ", i ? ", " : "");
        cli_json_str(f, r->decisions[i].id);
        fprintf(f, ", \"keep\": %s, \"reasons\": ", r->decisions[i].keep ? "true" : "false");
        cli_json_str(f, r->decisions[i].reasons);
        fputs("}", f);
    }
    fputs("]}\n", f);
}

static void print_prune(cli_args *a, const kvault_prune_report *r)
{
    char size[32];
    print_prune_json(cli_report_begin(a, NULL), a, r);
    cli_report_end(a);
    if (a->json || a->quiet)
        return;
    if (a->dry_run || a->verbose)
        print_decisions(r);
    printf("%s %" PRIu64 " backups, kept %" PRIu64 "; %" PRIu64 " objects (%s), %" PRIu64
           " of them from failed attempts\n",
           a->dry_run ? "would remove" : "removed", r->backups_removed, r->backups_kept,
           r->objects_removed, cli_human_size(r->bytes_removed, size, sizeof(size)),
           r->incomplete_removed);
    if (r->backups_damaged)
        printf("%" PRIu64 " damaged manifests left in place (named above)\n", r->backups_damaged);
}

/* The library's grace: 0 = its default, KVAULT_GRACE_NONE = none. */
static int64_t grace_of(const cli_args *a)
{
    return a->grace_s < 0 ? 0 : a->grace_s == 0 ? KVAULT_GRACE_NONE : a->grace_s;
}

int cli_cmd_prune(cli_args *a)
{
    kvault *kv = NULL;
    kvault_prune_opts po = KVAULT_PRUNE_OPTS_INIT;
    kvault_prune_report r;
    int rc;

    po.env = a->env;
    po.keep_last = a->keep_last;
    po.keep_days = a->keep_days;
    po.keep_hourly = a->keep_hourly;
    po.keep_daily = a->keep_daily;
    po.keep_weekly = a->keep_weekly;
    po.keep_monthly = a->keep_monthly;
    po.keep_yearly = a->keep_yearly;
    po.grace_s = grace_of(a);
    po.dry_run = a->dry_run;
    if (!po.keep_last && !po.keep_days && !po.keep_hourly && !po.keep_daily && !po.keep_weekly &&
        !po.keep_monthly && !po.keep_yearly)
        return cli_usage_error(a->cmd, "say what to keep: --keep-last, --keep-days or a "
                               "calendar rule (--keep-daily N, ...)");
    rc = cli_open_store(a, a->from, 0, &kv);
    if (rc != CLI_OK)
        return rc;
    rc = cli_check(kvault_prune(kv, &po, &r));
    kvault_close(kv);
    if (rc == CLI_OK) {
        print_prune(a, &r);
        kvault_free(r.decisions);
    }
    return rc;
}

int cli_cmd_gc(cli_args *a)
{
    kvault *kv = NULL;
    kvault_gc_opts go = KVAULT_GC_OPTS_INIT;
    kvault_gc_report r;
    char size[32];
    int rc;

    go.env = a->env;
    go.grace_s = grace_of(a);
    go.dry_run = a->dry_run;
    rc = cli_open_store(a, a->from, 0, &kv);
    if (rc != CLI_OK)
        return rc;
    rc = cli_check(kvault_gc(kv, &go, &r));
    kvault_close(kv);
    if (rc != CLI_OK)
        return rc;
    fprintf(cli_report_begin(a, NULL),
            "{\"dry_run\": %s, \"objects_removed\": %" PRIu64 ", \"bytes_removed\": %" PRIu64
            ", \"incomplete_removed\": %" PRIu64 ", \"garbage_removed\": %" PRIu64 "}\n",
            a->dry_run ? "true" : "false", r.objects_removed, r.bytes_removed,
            r.incomplete_removed, r.garbage_removed);
    cli_report_end(a);
    if (!a->json && !a->quiet)
        printf("%s %" PRIu64 " objects (%s), %" PRIu64 " of them from failed attempts; %" PRIu64
               " store leftovers\n", a->dry_run ? "would remove" : "removed", r.objects_removed,
               cli_human_size(r.bytes_removed, size, sizeof size), r.incomplete_removed,
               r.garbage_removed);
    return CLI_OK;
}

int cli_cmd_ingest(cli_args *a)
{
    kvault *kv = NULL;
    kvault_ingest_opts io = KVAULT_INGEST_OPTS_INIT;
    double start = cli_now();
    int rc;

    if (!a->db)
        return cli_usage_error(a->cmd, "--db DIR is required");
    io.env = a->env;
    io.backup_id = a->backup;
    io.cfs = a->cfs;
    io.ncfs = a->ncfs;
    rc = cli_open_store(a, a->from, 0, &kv);
    if (rc != CLI_OK)
        return rc;
    rc = cli_check(kvault_ingest(kv, &io, a->db));
    kvault_close(kv);
    if (rc == CLI_OK && !a->quiet)
        printf("ingested %s into %s in %.1f s\n", a->backup ? a->backup : "the latest backup",
               a->db, cli_now() - start);
    return rc;
}

int cli_cmd_envs(cli_args *a)
{
    kvault *kv = NULL;
    kvault_env_info *envs = NULL;
    char when[32];
    size_t n = 0;
    int rc = cli_open_store(a, a->from, 0, &kv);

    if (rc != CLI_OK)
        return rc;
    rc = cli_check(kvault_list_envs(kv, &envs, &n));
    kvault_close(kv);
    if (rc != CLI_OK)
        return rc;
    if (a->json)
        fputs("[", stdout);
    else if (n)
        printf("%-24s  %8s  %-19s\n", "ENV", "BACKUPS", "LATEST (UTC)");
    for (size_t i = 0; i < n; i++) {
        if (a->json) {
            fputs(i ? ",\n {\"env\": " : "\n {\"env\": ", stdout);
            cli_json_str(stdout, envs[i].env);
            printf(", \"backups\": %" PRIu64 ", \"latest\": ", envs[i].backups);
            cli_json_str(stdout, envs[i].latest_id);
            fputs("}", stdout);
        } else {
            printf("%-24s  %8" PRIu64 "  %-19s\n", envs[i].env, envs[i].backups,
                   cli_utc_time(envs[i].latest_unix, when, sizeof when));
        }
    }
    if (a->json)
        fputs(n ? "\n]\n" : "]\n", stdout);
    else if (!n && !a->quiet)
        fprintf(stderr, "no backups in this store\n");
    kvault_free(envs);
    return CLI_OK;
}
