/* A program that uses an installed libkvault as any other program would:
 * through <kvault.h> and the flags pkg-config or CMake give. It opens a local
 * store in a new temporary directory, uploads a file, stats it, downloads it
 * and compares the bytes, checks that a missing key is KV_ENOTFOUND with a
 * message, and removes everything it made. Exit status 0 only if all of that
 * worked; it prints what it checked.
 *
 * It passes NULL for kvault_open's options, which the API allows, so it does
 * not depend on the layout of kvault_options. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <kvault.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIZE (300 * 1024 + 7) /* not a multiple of any buffer size */

static int failed(const char *what, int rc)
{
    fprintf(stderr, "consumer: %s failed (%d): %s\n", what, rc, kvault_errmsg());
    return 1;
}

/* Writes SIZE pseudo-random bytes to path and into buf. */
static int write_source(const char *path, unsigned char *buf)
{
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < SIZE; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        buf[i] = (unsigned char)x;
    }
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = fwrite(buf, 1, SIZE, f);
    return (fclose(f) == 0 && n == SIZE) ? 0 : -1;
}

/* 0 when path holds exactly the SIZE bytes of want. */
static int same_bytes(const char *path, const unsigned char *want, unsigned char *got)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t n = fread(got, 1, SIZE + 1, f);
    fclose(f);
    return (n == SIZE && memcmp(got, want, SIZE) == 0) ? 0 : -1;
}

static int round_trip(const char *dir, unsigned char *data, unsigned char *back)
{
    char store[4096], src[4096], dst[4096];
    snprintf(store, sizeof store, "%s/store", dir);
    snprintf(src, sizeof src, "%s/source.bin", dir);
    snprintf(dst, sizeof dst, "%s/copy.bin", dir);
    const char *key = "install-check/object.bin";
    kvault *kv = NULL;
    kvault_object obj = {0}, missing = {0};
    int rc;

    if (write_source(src, data) != 0) {
        perror("consumer: writing the source file");
        return 1;
    }
    if ((rc = kvault_open(store, NULL, &kv)) != KV_OK)
        return failed("kvault_open", rc);
    if ((rc = kvault_put_file(kv, src, key)) != KV_OK)
        rc = failed("kvault_put_file", rc);
    else if ((rc = kvault_stat(kv, key, &obj)) != KV_OK)
        rc = failed("kvault_stat", rc);
    else if (obj.size != SIZE || !obj.key || strcmp(obj.key, key) != 0) {
        fprintf(stderr, "consumer: kvault_stat says key '%s', size %llu; want '%s', %d\n",
                obj.key ? obj.key : "(null)", (unsigned long long)obj.size, key, SIZE);
        rc = 1;
    } else if ((rc = kvault_get_file(kv, key, dst)) != KV_OK)
        rc = failed("kvault_get_file", rc);
    else if (same_bytes(dst, data, back) != 0) {
        fprintf(stderr, "consumer: %s does not hold the bytes uploaded\n", dst);
        rc = 1;
    } else if ((rc = kvault_stat(kv, "install-check/missing", &missing)) != KV_ENOTFOUND ||
               kvault_errmsg()[0] == '\0') {
        fprintf(stderr, "consumer: stat of a missing key returned %d (message '%s'), want %d "
                "and a message\n", rc, kvault_errmsg(), KV_ENOTFOUND);
        rc = 1;
    } else if ((rc = kvault_rm(kv, key)) != KV_OK)
        rc = failed("kvault_rm", rc);
    else
        printf("consumer: kvault %s: put, stat, get and rm of %d bytes in %s: ok\n",
               KVAULT_VERSION, SIZE, store);
    kvault_free(obj.key);
    kvault_free(missing.key);
    kvault_close(kv);
    unlink(src);
    unlink(dst);
    rmdir(store); /* if the store kept anything, main's rmdir fails and says so */
    return rc;
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/kvault-consumer.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("consumer: mkdtemp");
        return 1;
    }
    unsigned char *data = malloc(SIZE), *back = malloc(SIZE + 1);
    int rc = data && back ? round_trip(dir, data, back) : 1;
    free(data);
    free(back);
    if (rmdir(dir) != 0) {
        fprintf(stderr, "consumer: %s was not left empty\n", dir);
        rc = 1;
    }
    return rc;
}
