/* Growable text buffer (see buf.h). */
#include "core/buf.h"
#include "core/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* U+FFFD, written for each byte that is not UTF-8: text from here goes to
 * PostgreSQL and JSON consumers, which refuse such bytes. */
#define REPLACEMENT "\xef\xbf\xbd"

static void reserve(od_buf_t *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) {
        fputs("out of memory\n", stderr);
        abort();
    }
    b->data = d;
    b->cap = cap;
}

void od_buf_reset(od_buf_t *b) {
    b->len = 0;
    if (b->data) b->data[0] = 0;
}

void od_buf_free(od_buf_t *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void od_buf_append(od_buf_t *b, const char *s, size_t n) {
    reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void od_buf_puts(od_buf_t *b, const char *s) { od_buf_append(b, s, strlen(s)); }

void od_buf_putc(od_buf_t *b, char c) { od_buf_append(b, &c, 1); }

void od_buf_pg_array_elem(od_buf_t *b, const char *s) {
    od_buf_pg_array_elem_n(b, s, s ? strlen(s) : 0);
}

void od_buf_pg_array_elem_n(od_buf_t *b, const char *s, size_t n) {
    if (b->len && b->data[b->len - 1] != '{') od_buf_putc(b, ',');
    if (!s) {
        od_buf_puts(b, "NULL");
        return;
    }
    reserve(b, 3 * n + 2);
    char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n;) {
        size_t c = od_utf8_char_len(s + i, n - i);
        if (!c) { /* PostgreSQL would refuse the whole array */
            memcpy(o, REPLACEMENT, 3);
            o += 3;
            i++;
            continue;
        }
        if (s[i] == '"' || s[i] == '\\') *o++ = '\\';
        memcpy(o, s + i, c);
        o += c;
        i += c;
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = 0;
}

void od_buf_json_str(od_buf_t *b, const char *s) {
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(s);
    reserve(b, 6 * n + 2);
    char *o = b->data + b->len;
    *o++ = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        size_t c = od_utf8_char_len((const char *)p, (size_t)(s + n - (const char *)p));
        if (!c) { /* not UTF-8: the JSON would be refused downstream */
            memcpy(o, REPLACEMENT, 3);
            o += 3;
        } else if (c > 1) {
            memcpy(o, p, c);
            o += c;
            p += c - 1;
        } else if (*p == '"' || *p == '\\') {
            *o++ = '\\';
            *o++ = (char)*p;
        } else if (*p < 0x20) {
            *o++ = '\\';
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        } else {
            *o++ = (char)*p;
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = 0;
}

void od_buf_printf(od_buf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* The two alphabets of RFC 4648: they differ in their last two digits. */
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void base64(od_buf_t *b, const void *s, size_t n, int url) {
    const char *a = url ? B64URL : B64;
    const unsigned char *p = s;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        od_buf_putc(b, a[v >> 18 & 63]);
        od_buf_putc(b, a[v >> 12 & 63]);
        if (i + 1 < n)
            od_buf_putc(b, a[v >> 6 & 63]);
        else if (!url)
            od_buf_putc(b, '=');
        if (i + 2 < n)
            od_buf_putc(b, a[v & 63]);
        else if (!url)
            od_buf_putc(b, '=');
    }
}

void od_buf_base64url(od_buf_t *b, const void *s, size_t n) { base64(b, s, n, 1); }
void od_buf_base64(od_buf_t *b, const void *s, size_t n) { base64(b, s, n, 0); }

long od_base64_decode(const char *s, int url, unsigned char *out, size_t cap) {
    const char *a = url ? B64URL : B64;
    size_t len = strlen(s), pad = 0;
    while (!url && pad < 2 && len > 0 && s[len - 1] == '=')
        len--, pad++;
    if (pad && (len + pad) % 4) return -1; /* padding only to a whole quantum */
    size_t n = 0;
    unsigned v = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        const char *d = s[i] ? strchr(a, s[i]) : NULL;
        if (!d) return -1;
        v = v << 6 | (unsigned)(d - a);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n >= cap) return -1;
            out[n++] = (unsigned char)(v >> bits);
        }
    }
    if (bits >= 6 || (v & ((1u << bits) - 1))) return -1;
    return (long)n;
}
