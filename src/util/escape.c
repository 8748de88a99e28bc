#include "util/escape.h"

#include <stdio.h>
#include <string.h>

/* The escaped form of c into e (at most 4 characters + NUL). */
static void escape_char(unsigned char c, char e[5])
{
    if (c == '\n' || c == '\r' || c == '\t')
        snprintf(e, 5, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
    else if (c < 0x20 || c == 0x7f)
        snprintf(e, 5, "\\x%02x", c);
    else if (c == '\\' || c == '\'')
        snprintf(e, 5, "\\%c", c);
    else
        snprintf(e, 5, "%c", c);
}

static size_t escaped_len(const char *s)
{
    size_t n = 0;
    for (char e[5]; *s; s++) {
        escape_char((unsigned char)*s, e);
        n += strlen(e);
    }
    return n;
}

const char *kv_escape(const char *s, char *out, size_t n)
{
    size_t used = 0;
    int cut = escaped_len(s) >= n;
    out[0] = '\0';
    for (; *s; s++) {
        char e[5];
        size_t len;
        escape_char((unsigned char)*s, e);
        len = strlen(e);
        if (cut && used + len + 4 > n) { /* room for "..." and the NUL */
            memcpy(out + used, "...", 4);
            return out;
        }
        memcpy(out + used, e, len + 1);
        used += len;
    }
    return out;
}
