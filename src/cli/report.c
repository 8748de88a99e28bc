/* The JSON report of a command, kept for --json and for notifications. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

FILE *cli_report_begin(cli_args *a, const char *backup_id)
{
    cli_report_free(a);
    snprintf(a->report_id, sizeof a->report_id, "%s", backup_id ? backup_id : "");
    a->report_stream = open_memstream(&a->report, &a->report_len);
    if (!a->report_stream) /* out of memory: no report, and no crash */
        a->report_stream = fopen("/dev/null", "w");
    return a->report_stream ? a->report_stream : stdout;
}

void cli_report_end(cli_args *a)
{
    if (!a->report_stream)
        return;
    fclose(a->report_stream);
    a->report_stream = NULL;
    if (a->json && a->report)
        fwrite(a->report, 1, a->report_len, stdout);
}

void cli_report_free(cli_args *a)
{
    if (a->report_stream)
        fclose(a->report_stream);
    free(a->report);
    a->report_stream = NULL;
    a->report = NULL;
    a->report_len = 0;
}
