/* Reading a store's settings (kv_opt_* of kvault/sys/store.h): here, below
 * both the backends and the credential providers of the http layer, which
 * read them too. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "kvault/sys/store.h"
#include "util/err.h"

const char *kv_opt_str(const kv_store_opts *o, const char *name)
{
    for (size_t i = o ? o->nsettings : 0; i-- > 0;)
        if (o->settings[i].name && strcmp(o->settings[i].name, name) == 0)
            return o->settings[i].value && *o->settings[i].value ? o->settings[i].value : NULL;
    return NULL;
}

int kv_opt_int(const kv_store_opts *o, const char *name, int fallback)
{
    const char *v = kv_opt_str(o, name);
    char *end;
    long n;
    if (!v)
        return fallback;
    errno = 0;
    n = strtol(v, &end, 10);
    return errno || *end || n < 1 || n > 1000000 ? fallback : (int)n;
}

int kv_opt_flag(const kv_store_opts *o, const char *name, int fallback)
{
    const char *v = kv_opt_str(o, name);
    if (!v)
        return fallback;
    return !(strcmp(v, "0") == 0 || strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0);
}


int kv_opt_ca_file(const kv_store_opts *o, const char *cloud_var, const char **out)
{
    const char *names[] = {cloud_var, "SSL_CERT_FILE", "CURL_CA_BUNDLE"}, *from = "ca_file";
    *out = o->ca_file;
    for (size_t i = 0; i < 3 && !*out; i++)
        if (names[i] && (*out = kv_opt_str(o, names[i])))
            from = names[i];
    if (*out && access(*out, R_OK) != 0)
        return kv_seterr_errno(KV_EINVAL, errno, "%s='%s': cannot read the CA certificates", from,
                               *out);
    return KV_OK;
}
