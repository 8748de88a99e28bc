/* kvault_notify_post: a webhook after a backup, restore, verify or prune.
 * The one file of the backup layer that speaks HTTP itself: a notification
 * is not an object in a store, so it does not go through the store layer
 * (tests/source/layers.sh allows this file http/http.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup/internal.h"
#include "http/http.h"
#include "util/err.h"
#include "util/log.h"
#include "util/random.h"

#define DEFAULT_TIMEOUT_S 10
#define DEFAULT_RETRIES 3
#define FIRST_BACKOFF_MS 500

static int check_notify_args(const char *url, const char *json, const kvault_notify_opts *o)
{
    if (o && kv_check_version(o->version, KVAULT_NOTIFY_OPTS_VERSION, "kvault_notify_opts"))
        return KV_EINVAL;
    if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
        return kv_seterr(KV_EINVAL, "notification URL '%s' is not http:// or https://",
                         url ? url : "(null)");
    if (!json)
        return kv_seterr(KV_EINVAL, "kvault_notify_post: no JSON document");
    if (o && (o->timeout_s < 0 || o->max_retries < 0))
        return kv_seterr(KV_EINVAL, "kvault_notify_opts: timeout_s and max_retries must not be "
                         "negative");
    return KV_OK;
}

/* One POST: KV_OK on 2xx; KV_ETRANSIENT when a retry may help. */
static int post_once(kv_http *h, const kv_http_req *req, const char *shown)
{
    kv_http_resp resp = KV_HTTP_RESP_INIT;
    int rc = kv_http_do(h, req, &resp);
    if (rc == KV_OK && (resp.status < 200 || resp.status > 299)) {
        int code = kv_http_status_code(resp.status);
        rc = kv_seterr(code == KV_ERR ? KV_EINVAL : code,
                       "notification to %s: the receiver answered HTTP %ld%s", shown, resp.status,
                       code == KV_ETRANSIENT ? "" : " (not retried)");
    } else if (rc != KV_OK) {
        char cause[512];
        snprintf(cause, sizeof cause, "%s", kv_errmsg());
        rc = kv_seterr(rc, "notification to %s: %s", shown, cause);
    }
    kv_http_resp_free(&resp);
    return rc;
}

static void pause_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

int kvault_notify_post(const char *url, const char *json, size_t len,
                       const kvault_notify_opts *opts)
{
    kv_http_opts ho = {0};
    kv_http_header headers[2] = {{.name = "Content-Type", .value = "application/json"},
                                 {.name = "Authorization", .value = NULL}};
    kv_http_req req = {.method = "POST", .url = url, .headers = headers, .body = json,
                       .body_len = len};
    kv_http *h = NULL;
    char shown[1024];
    int rc = check_notify_args(url, json, opts), retries;
    long wait = FIRST_BACKOFF_MS;

    if (rc)
        return rc;
    ho.connect_timeout_s = ho.stall_timeout_s =
        opts && opts->timeout_s ? opts->timeout_s : DEFAULT_TIMEOUT_S;
    ho.ca_file = opts ? opts->ca_file : NULL;
    retries = opts && opts->max_retries ? opts->max_retries : DEFAULT_RETRIES;
    headers[1].value = opts ? opts->authorization : NULL;
    req.nheaders = headers[1].value ? 2 : 1;
    kv_http_url_for_message(url, shown, sizeof shown);
    if ((rc = kv_http_new(&ho, &h)))
        return rc;
    for (int attempt = 0;; attempt++) {
        rc = post_once(h, &req, shown);
        if (rc != KV_ETRANSIENT || attempt >= retries)
            break;
        kv_info("%s; retrying (%d of %d)", kv_errmsg(), attempt + 1, retries);
        pause_ms((long)kv_random_between((uint64_t)wait / 2, (uint64_t)wait));
        wait *= 2;
    }
    kv_http_free(h);
    return rc;
}
