#include "util/secret.h"

#include <stdlib.h>
#include <string.h>

void kv_secret_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}
