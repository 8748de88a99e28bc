/* Dates as servers write them, parsed without the C library's locale
 * (strptime's %a and %b take the names of LC_TIME). */
#ifndef KV_UTIL_TIME_H
#define KV_UTIL_TIME_H

#include <time.h>

/* An HTTP date (RFC 9110 IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT"),
 * as Unix time. English day and month names, abbreviated or full, in any
 * case; anything after the seconds is ignored (the zone is always GMT).
 * 0 when text is NULL or not such a date. */
time_t kv_time_parse_http(const char *text);

/* The date and time of an RFC 3339 / ISO 8601 timestamp
 * ("2024-01-02T03:04:05.678Z"), as Unix time, taken as UTC; anything after
 * the seconds (fraction, zone) is ignored. 0 when text is NULL or not such
 * a timestamp. */
time_t kv_time_parse_rfc3339(const char *text);

#endif
