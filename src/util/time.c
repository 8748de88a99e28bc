#include "util/time.h"

#include <string.h>

static const char *const day_names[] = {"sunday", "monday", "tuesday", "wednesday",
                                        "thursday", "friday", "saturday"};
static const char *const month_names[] = {"january", "february", "march", "april",
                                          "may", "june", "july", "august",
                                          "september", "october", "november", "december"};

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void skip_spaces(const char **p)
{
    while (**p == ' ' || **p == '\t')
        (*p)++;
}

/* Matches the full name or its first three letters, in any case; returns
 * the index in names or -1. */
static int name_at(const char **p, const char *const *names, int count)
{
    for (int i = 0; i < count; i++) {
        size_t n = strlen(names[i]), k = 0;
        while (k < n && lower((*p)[k]) == names[i][k])
            k++;
        if (k == n || (k == 3 && !(lower((*p)[3]) >= 'a' && lower((*p)[3]) <= 'z'))) {
            *p += k;
            return i;
        }
    }
    return -1;
}

/* 1 to maxdigits decimal digits, within lo..hi; -1 otherwise. */
static int number_at(const char **p, int maxdigits, int lo, int hi)
{
    int v = 0, k = 0;
    skip_spaces(p);
    while (k < maxdigits && **p >= '0' && **p <= '9') {
        v = v * 10 + (**p - '0');
        (*p)++;
        k++;
    }
    return k && v >= lo && v <= hi ? v : -1;
}

static int literal(const char **p, char c)
{
    if (**p != c)
        return 0;
    (*p)++;
    return 1;
}

/* HH:MM:SS into tm; 0 on failure. */
static int clock_at(const char **p, struct tm *tm)
{
    return (tm->tm_hour = number_at(p, 2, 0, 23)) >= 0 && literal(p, ':') &&
           (tm->tm_min = number_at(p, 2, 0, 59)) >= 0 && literal(p, ':') &&
           (tm->tm_sec = number_at(p, 2, 0, 60)) >= 0;
}

/* "Sun, 06 Nov 1994 08:49:37" into tm; 0 when it is not. */
static int http_fields(const char **p, struct tm *tm)
{
    int year;
    skip_spaces(p);
    if (name_at(p, day_names, 7) < 0)
        return 0;
    skip_spaces(p);
    if (!literal(p, ',') || (tm->tm_mday = number_at(p, 2, 1, 31)) < 0)
        return 0;
    skip_spaces(p);
    if ((tm->tm_mon = name_at(p, month_names, 12)) < 0 || (year = number_at(p, 4, 0, 9999)) < 0)
        return 0;
    tm->tm_year = year - 1900;
    return clock_at(p, tm);
}

/* "2024-01-02T03:04:05" into tm; 0 when it is not. */
static int rfc3339_fields(const char **p, struct tm *tm)
{
    int year, month;
    if ((year = number_at(p, 4, 0, 9999)) < 0 || !literal(p, '-') ||
        (month = number_at(p, 2, 1, 12)) < 0 || !literal(p, '-') ||
        (tm->tm_mday = number_at(p, 2, 1, 31)) < 0 || !literal(p, 'T'))
        return 0;
    tm->tm_year = year - 1900;
    tm->tm_mon = month - 1;
    return clock_at(p, tm);
}

static time_t parse_with(const char *text, int (*fields)(const char **, struct tm *))
{
    struct tm tm;
    const char *p = text;
    memset(&tm, 0, sizeof tm);
    return p && fields(&p, &tm) ? timegm(&tm) : 0;
}

time_t kv_time_parse_http(const char *text)
{
    return parse_with(text, http_fields);
}

time_t kv_time_parse_rfc3339(const char *text)
{
    return parse_with(text, rfc3339_fields);
}
