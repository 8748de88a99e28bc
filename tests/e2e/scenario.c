/* The end-to-end scenario on any store, through the public API only (see
 * tests/support/scenario.h): back up, change, back up again, verify, restore
 * both backups and compare every key and value, clean up.
 *   scenario URL [PART_SIZE [SST_BYTES [single|files]]]
 * (defaults: parts of 5 MiB, S3's smallest; a 12 MiB SST; the store's own
 * choice of single-file)
 * The run goes under URL/run-<time>-<pid>; settings come from the
 * environment as the CLI takes them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"

int main(int argc, char **argv)
{
    char url[1024], tmp[64] = "/tmp/kvault-scenario-XXXXXX", cmd[128];
    unsigned long long part = 5u << 20, sst = 12u << 20;
    int failed, single = KVAULT_SINGLE_FILE_DEFAULT;
    if (argc == 5)
        single = !strcmp(argv[4], "single") ? KVAULT_SINGLE_FILE_YES
                 : !strcmp(argv[4], "files") ? KVAULT_SINGLE_FILE_NO : -1;
    if (argc < 2 || argc > 5 || (argc >= 3 && !(part = strtoull(argv[2], NULL, 10))) ||
        (argc >= 4 && !(sst = strtoull(argv[3], NULL, 10))) || single < 0) {
        fprintf(stderr, "usage: scenario URL [PART_SIZE [SST_BYTES [single|files]]]\n");
        return 2;
    }
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 2;
    }
    snprintf(url, sizeof url, "%s/run-%ld-%ld", argv[1], (long)time(NULL), (long)getpid());
    fprintf(stderr, "--- scenario on %s (an SST of %llu bytes, parts of %llu)\n", url, sst, part);
    failed = kvt_backup_scenario(url, tmp, part, sst, single);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmp);
    printf("%s\n", failed ? "FAIL scenario" : "1 passed, 0 failed");
    return failed ? 1 : 0;
}
