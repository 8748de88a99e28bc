/* Text that came from a server, made safe to put in a message: control
 * characters, backslashes and quotes escaped, long values cut. */
#ifndef KV_UTIL_ESCAPE_H
#define KV_UTIL_ESCAPE_H

#include <stddef.h>

/* Writes s into out (n bytes, n >= 8) with '\n', '\r', '\t' and other bytes
 * below 0x20 or 0x7f as "\n", "\r", "\t", "\xNN", '\\' and '\'' escaped;
 * a value that does not fit ends in "...". Returns out. */
const char *kv_escape(const char *s, char *out, size_t n);

#endif
