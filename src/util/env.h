/* Reading settings from the environment. */
#ifndef KV_UTIL_ENV_H
#define KV_UTIL_ENV_H

/* The variable's value if it is set and not empty, else NULL. */
const char *kv_env_str(const char *name);

/* A whole number in 1..1000000 from the environment, or fallback when the
 * variable is unset, empty or anything else (garbage is not an error). */
int kv_env_int(const char *name, int fallback);

/* A yes/no switch: fallback when unset or empty; "0", "false" and "no" (any
 * case) are off; any other value is on. */
int kv_env_flag(const char *name, int fallback);

#endif
