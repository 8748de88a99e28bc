/*
 * Azure Storage credentials, for the Shared Key signer beside it
 * (sign_azure.h), as Azure's own tools find them. A chain of sources, first
 * found wins:
 *   1. AZURE_STORAGE_CONNECTION_STRING (AccountName, AccountKey,
 *      SharedAccessSignature, BlobEndpoint, DefaultEndpointsProtocol,
 *      EndpointSuffix, or UseDevelopmentStorage=true for the emulator's
 *      well-known account)
 *   2. AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN
 * (managed identities and service principals are sources to add.) With both
 * a key and a SAS the key is used. The blob endpoint: the store's endpoint
 * option, KVAULT_AZURE_ENDPOINT, AZURE_STORAGE_BLOB_ENDPOINT, the
 * connection string's, else https://<account>.blob.core.windows.net.
 * Settings are read from the store's options only (kv_opt_str).
 */
#ifndef KV_HTTP_AUTH_AZURE_H
#define KV_HTTP_AUTH_AZURE_H

#include "http/service.h"
#include "kvault/sys/store.h"

typedef struct kv_azure_auth kv_azure_auth;

/* Runs the chain; what names the store in messages ("az://container").
 * KV_EAUTH without usable credentials (a key that is not base64 included;
 * the key is never named). */
int kv_azure_auth_new(const kv_store_opts *o, const char *what, kv_azure_auth **out);
void kv_azure_auth_free(kv_azure_auth *z);

const char *kv_azure_auth_endpoint(const kv_azure_auth *z);
/* The account; NULL only with a SAS and an explicit endpoint. */
const char *kv_azure_auth_account(const kv_azure_auth *z);
/* 1 for Shared Key, 0 for a SAS token. */
int kv_azure_auth_has_key(const kv_azure_auth *z);

/* Makes out authorize every request: x-ms-date, then Shared Key
 * (Authorization) or the SAS query; with the hints for a refused key or
 * SAS. z must outlive the service. */
void kv_azure_auth_use(kv_azure_auth *z, kv_svc_auth *out);

#endif
