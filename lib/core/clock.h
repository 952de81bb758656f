/* Wall-clock and monotonic time in milliseconds, and RFC 3339 timestamps. */
#ifndef OD_CORE_CLOCK_H
#define OD_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the Unix epoch. */
int64_t od_clock_now_ms(void);
/* Milliseconds from an arbitrary origin that never goes backwards. */
int64_t od_clock_mono_ms(void);

/* Sleeps `ms` milliseconds (any amount: seconds are split out). */
void od_clock_sleep_ms(long ms);

/* Writes `ms` as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC). `cap` >= 25. */
void od_clock_format_rfc3339(int64_t ms, char *out, size_t cap);

/* Parses an RFC 3339 date-time ("2026-11-22T10:00:00Z",
 * "2026-11-22T10:00:00.5+02:00"); a time zone is required. Returns 0 and
 * sets *ms, or -1 if `s` is not one. */
int od_clock_parse_rfc3339(const char *s, int64_t *ms);

#endif
