/* Formatting for people (sizes, times) and for programs (JSON). */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "cli.h"

const char *cli_human_size(uint64_t n, char *buf, size_t len)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)n;
    int u = 0;

    while (v >= 1024.0 && u < 5) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%" PRIu64 " B", n);
    else
        snprintf(buf, len, "%.1f %s", v, units[u]);
    return buf;
}

const char *cli_utc_time(int64_t unix_secs, char *buf, size_t len)
{
    time_t t = (time_t)unix_secs;
    struct tm tm;

    if (!gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, len, "?");
    return buf;
}

void cli_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

void cli_json_backup_fields(FILE *f, const kvault_backup_info *info)
{
    char when[32];
    time_t t = (time_t)info->started_unix;
    struct tm tm;

    if (!gmtime_r(&t, &tm) || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        when[0] = '\0';
    fputs("\"id\": ", f);
    cli_json_str(f, info->id);
    fputs(", \"date\": ", f);
    cli_json_str(f, info->date);
    fputs(", \"env\": ", f);
    cli_json_str(f, info->env);
    fprintf(f, ", \"started_unix\": %" PRId64 ", \"started\": \"%s\"", info->started_unix, when);
    fprintf(f, ", \"seconds\": %.3f", info->seconds);
    fprintf(f, ", \"files\": %" PRIu64 ", \"bytes\": %" PRIu64, info->files, info->bytes);
    fprintf(f, ", \"files_new\": %" PRIu64 ", \"bytes_new\": %" PRIu64, info->files_new,
            info->bytes_new);
    fprintf(f, ", \"sequence\": %" PRIu64, info->sequence);
}
