/* UTF-8 that PostgreSQL and JSON consumers accept, by construction. Every
 * text outdial writes to the database or into an event passes through
 * these: a cut never splits a character, and bytes that are not UTF-8 (or
 * NUL, which PostgreSQL text cannot hold) never get through. libc only. */
#ifndef OD_CORE_UTF8_H
#define OD_CORE_UTF8_H

#include <stddef.h>

/* The length (1..4) of the well-formed character (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF) at s[0..n), or 0 if the
 * bytes there do not start one. NUL counts as not well-formed. */
size_t od_utf8_char_len(const char *s, size_t n);

/* Whether s[0..n) is well-formed UTF-8 without NUL. */
int od_utf8_valid(const char *s, size_t n);

/* The length of the longest prefix of s[0..n) of at most `max` bytes that
 * ends on a character boundary. */
size_t od_utf8_cut(const char *s, size_t n, size_t max);

/* Copies s[0..n) into out (`cap` >= 4 bytes, always NUL-terminated) as
 * well-formed UTF-8: each byte that does not start a well-formed character
 * is written as the four characters "\xNN" (with OD_UTF8_ASCII, every byte
 * above 0x7f too). What does not fit is cut on a character boundary and
 * "..." marks the cut; the text then takes at most cap - 4 bytes. Returns
 * the number of bytes escaped, so a caller can say so. */
#define OD_UTF8_ASCII 1
size_t od_utf8_clip(char *out, size_t cap, const char *s, size_t n, int flags);

#endif
