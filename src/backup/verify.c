/* Verifying a backup: every object is read back and checked against the
 * manifest; with restore_check the backup is also restored into a scratch
 * directory and every key of every column family is read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup/archive.h"
#include "backup/catalog.h"
#include "backup/ingest.h"
#include "backup/internal.h"
#include "backup/layout.h"
#include "backup/localdir.h"
#include "util/err.h"

static int restore_check(kvault *kv, const kv_manifest *m, const kvault_db_options *app,
                         kvault_verify_report *rep)
{
    kv_rdb_read_report read;
    char *scratch = NULL;
    int rc = kv_make_owned_dir(kv->tmp_dir, "kvault-verify-", &scratch);
    if (!rc && m->sst_export) {
        /* restored by ingesting every file; each column family's keys counted */
        if (!(rc = kv_restore_export(kv, m, scratch, NULL, 0, app, &rep->keys)))
            rep->column_families = m->ncolumn_families;
    } else if (!rc && !(rc = kv_fetch_backup(kv, m, scratch)) &&
               !(rc = kv_check_restored(m, scratch, app, kv->tmp_dir, 1, &read))) {
        rep->column_families = m->ncolumn_families;
        rep->keys = read.keys;
        snprintf(rep->not_checked, sizeof rep->not_checked, "%s", read.not_checked);
    }
    if (scratch)
        kv_rm_rf_quiet(scratch);
    free(scratch);
    rep->restore_checked = rc == KV_OK;
    return rc;
}

/* Each archive the manifest names: its trailer and index are intact and
 * list its members as the manifest does. */
static int check_archives(kvault *kv, const kv_manifest *m)
{
    kv_archive_member *want = calloc(m->nfiles + 1, sizeof *want);
    int rc = want ? KV_OK : kv_oom();
    for (size_t i = 0; i < m->nfiles && !rc; i++) {
        const char *archive = m->files[i].object;
        kv_object_info info;
        size_t n = 0, seen = 0;
        if (!m->files[i].in_archive)
            continue;
        for (size_t k = 0; k < i && !seen; k++)
            seen = m->files[k].in_archive && strcmp(m->files[k].object, archive) == 0;
        if (seen)
            continue;
        for (size_t k = i; k < m->nfiles; k++)
            if (m->files[k].in_archive && strcmp(m->files[k].object, archive) == 0)
                want[n++] = (kv_archive_member){.name = m->files[k].name, .size = m->files[k].size,
                                                .crc32c = m->files[k].crc32c,
                                                .offset = m->files[k].offset};
        if (!(rc = kv_store_stat(kv->st, archive, &info)))
            rc = kv_archive_check_index(kv->st, archive, info.size, want, n);
    }
    free(want);
    return rc;
}

int kvault_verify(kvault *kv, const kvault_verify_opts *opts, kvault_verify_report *out)
{
    const char *env;
    kv_manifest m = {0};
    int rc;

    memset(out, 0, sizeof *out);
    if (opts && (rc = kv_check_version(opts->version, KVAULT_VERIFY_OPTS_VERSION,
                                       "kvault_verify_opts")))
        return rc;
    if ((rc = kv_env_resolve(opts ? opts->env : NULL, &env)) ||
        (rc = kv_backup_find(kv->st, env, opts ? opts->backup_id : NULL, &m)))
        goto out;
    kv_info_from_manifest(&m, &out->backup);
    rc = opts && opts->restore_check ? restore_check(kv, &m, opts->db_options, out)
                                     : kv_fetch_backup(kv, &m, NULL);
    if (rc || (rc = check_archives(kv, &m)))
        goto out;
    out->objects_checked = m.nfiles;
    out->bytes_checked = kv_manifest_bytes(&m);
out:
    kv_manifest_free(&m);
    return rc;
}
