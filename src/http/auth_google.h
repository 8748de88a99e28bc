/*
 * Google credentials: OAuth 2 access tokens sent as bearer tokens, as
 * Google's client libraries find them. A chain of sources, first found wins:
 *   1. STORAGE_EMULATOR_HOST: an emulator, no authentication
 *   2. KVAULT_GCS_TOKEN or GOOGLE_OAUTH_ACCESS_TOKEN: a token used as is
 *   3. GOOGLE_APPLICATION_CREDENTIALS naming a service-account JSON key
 *      (client_email, private_key, private_key_id, token_uri): an RS256 JWT
 *      assertion is exchanged at token_uri for an access token
 *   4. the GCE metadata server (GCE_METADATA_HOST overrides
 *      metadata.google.internal)
 * (workload identity federation is a source to add.) Fetched tokens are
 * cached (one mutex) and refreshed 5 minutes before they expire (half their
 * lifetime when that is shorter); after a 401 the token is fetched again.
 * Tokens and keys never appear in messages or logs. Settings are read from
 * the store's options only (kv_opt_str).
 */
#ifndef KV_HTTP_AUTH_GOOGLE_H
#define KV_HTTP_AUTH_GOOGLE_H

#include <jansson.h>

#include "http/service.h"
#include "kvault/sys/store.h"

typedef struct kv_google_auth kv_google_auth;

/* Runs the chain (reading a key file, fetching nothing yet); what names the
 * store in messages ("gs://bucket"). */
int kv_google_auth_new(const kv_store_opts *o, const char *what, kv_google_auth **out);
void kv_google_auth_free(kv_google_auth *s);

/* "service account", "bearer token", ... for logs. */
const char *kv_google_auth_kind(const kv_google_auth *s);

/* Makes svc's requests carry the bearer token; tokens are fetched with
 * svc's client and token errors read with svc's rules. s must outlive svc. */
void kv_google_auth_use(kv_google_auth *s, kv_service *svc);

/* Google's {error:{code,message,errors:[{reason}]}} (or OAuth's {error,
 * error_description}) into err: the reason (named after the status when
 * absent) and the message. A kv_service.parse_error. */
void kv_google_parse_error(const kv_http_resp *resp, kv_svc_error *err);

/* A JSON number or a decimal string (Google's APIs send int64 as strings). */
long long kv_google_int64(json_t *v);

#endif
