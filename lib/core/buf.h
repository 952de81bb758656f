/* A growable byte buffer for building text (SQL array literals, JSON
 * lines). Always NUL-terminated. Allocation failure aborts: these buffers
 * are small next to what the process already holds. */
#ifndef OD_CORE_BUF_H
#define OD_CORE_BUF_H

#include <stddef.h>

typedef struct {
    char *data;
    size_t len, cap;
} od_buf_t;

void od_buf_reset(od_buf_t *b);
void od_buf_free(od_buf_t *b);
void od_buf_append(od_buf_t *b, const char *s, size_t n);
void od_buf_puts(od_buf_t *b, const char *s);
void od_buf_putc(od_buf_t *b, char c);

/* Appends `s` as one element of a PostgreSQL array literal: a separating
 * comma if needed, then "s" with '"' and '\' escaped, or NULL when s is
 * NULL. Open with od_buf_putc(b, '{') and close with '}'. Like
 * od_buf_json_str, it writes U+FFFD for each byte that is not UTF-8 (or
 * NUL): a last guard, since callers should hand it well-formed text. */
void od_buf_pg_array_elem(od_buf_t *b, const char *s);
/* The same for the n bytes at s (which need not be NUL-terminated). */
void od_buf_pg_array_elem_n(od_buf_t *b, const char *s, size_t n);

/* Appends `s` as a JSON string: quoted, with '"', '\\' and control
 * characters escaped, and U+FFFD for each byte that is not UTF-8. */
void od_buf_json_str(od_buf_t *b, const char *s);

/* Appends the n bytes at s in base64url (RFC 4648 section 5), unpadded. */
void od_buf_base64url(od_buf_t *b, const void *s, size_t n);
/* Appends the n bytes at s in base64 (RFC 4648 section 4), padded. */
void od_buf_base64(od_buf_t *b, const void *s, size_t n);

/* Decodes base64 into out: url 1, base64url unpadded (what
 * od_buf_base64url writes); url 0, the standard alphabet with its '='
 * padding or without. Only the canonical spelling is read (no other
 * characters, no unused bits set), so no two texts decode to the same
 * bytes. Returns the byte count, or -1. */
long od_base64_decode(const char *s, int url, unsigned char *out, size_t cap);

/* Appends printf-formatted text. */
void od_buf_printf(od_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
