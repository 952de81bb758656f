/* Wall-clock and monotonic time in milliseconds, and RFC 3339 timestamps. */
#ifndef OD_CORE_CLOCK_H
#define OD_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds since the Unix epoch. */
int64_t od_clock_now_ms(void);
/* Milliseconds from an arbitrary origin that never goes backwards. */
int64_t od_clock_mono_ms(void);
/* Seconds on the same clock, with sub-microsecond resolution: for timing
 * what a histogram observes. */
double od_clock_mono_s(void);

/* Sleeps `ms` milliseconds (any amount: seconds are split out). */
void od_clock_sleep_ms(long ms);

/* Writes `ms` as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC), before 1970 too. `cap` >=
 * 25; see od_clock_storable for the range written with four-digit years. */
void od_clock_format_rfc3339(int64_t ms, char *out, size_t cap);

/* The instants outdial stores, 0001-01-01T00:00:00Z to
 * 9999-12-31T23:59:59.999Z: PostgreSQL's timestamptz holds them all (it has
 * no year 0) and od_clock_format_rfc3339 writes them with four digits. */
#define OD_CLOCK_MIN_MS (-62135596800000LL)
#define OD_CLOCK_MAX_MS 253402300799999LL
int od_clock_storable(int64_t ms);

/* Parses an RFC 3339 date-time ("2026-11-22T10:00:00Z",
 * "2026-11-22T10:00:00.5+02:00"); a time zone is required. Returns 0 and
 * sets *ms, or -1 if `s` is not one. */
int od_clock_parse_rfc3339(const char *s, int64_t *ms);

#endif
