/* Strings that hold credentials (keys, tokens, SAS): wiped before free. */
#ifndef KV_UTIL_SECRET_H
#define KV_UTIL_SECRET_H

/* Overwrites s with zeros (in a way the compiler keeps) and frees it; NULL
 * is fine. */
void kv_secret_free(char *s);

#endif
