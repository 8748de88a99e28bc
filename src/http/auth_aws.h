/*
 * AWS credentials and configuration, for the SigV4 signer beside it
 * (sign_aws.h), as the AWS tools find them. Credentials come from a chain
 * of sources, first found wins:
 *   1. settings: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN)
 *   2. the profile (AWS_PROFILE, else "default") in ~/.aws/credentials, then
 *      ~/.aws/config (AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE move
 *      them; HOME is a setting too)
 * (instance metadata and web identity are sources to add to the chain.)
 * The region: the store's region option, AWS_REGION, AWS_DEFAULT_REGION, the
 * profile's region, else us-east-1. Settings are read from the store's
 * options only (kv_opt_str), never from the environment.
 */
#ifndef KV_HTTP_AUTH_AWS_H
#define KV_HTTP_AUTH_AWS_H

#include "http/service.h"
#include "kvault/sys/store.h"

typedef struct kv_aws_auth kv_aws_auth;

/* Runs the chain; what names the store in messages ("s3://bucket").
 * KV_EAUTH when no source has credentials. */
int kv_aws_auth_new(const kv_store_opts *o, const char *what, kv_aws_auth **out);
void kv_aws_auth_free(kv_aws_auth *a);

const char *kv_aws_auth_region(const kv_aws_auth *a);
/* The profile's endpoint_url, or NULL. */
const char *kv_aws_auth_profile_endpoint(const kv_aws_auth *a);

/* Makes out sign every request with SigV4 for service ("s3"): Host,
 * x-amz-date, x-amz-content-sha256, x-amz-security-token with session
 * credentials, then Authorization; with the hints for refused credentials.
 * a must outlive the service. */
void kv_aws_auth_use(kv_aws_auth *a, const char *service, kv_svc_auth *out);

#endif
