/* UTF-8 checks and safe cuts (see utf8.h). */
#include "core/utf8.h"

#include <string.h>

size_t od_utf8_char_len(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    if (!n || !s[0]) return 0;
    if (s[0] < 0x80) return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* the allowed range of the second byte */
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        if (s[0] == 0xe0) lo = 0xa0; /* overlong */
        if (s[0] == 0xed) hi = 0x9f; /* UTF-16 surrogates */
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        if (s[0] == 0xf0) lo = 0x90; /* overlong */
        if (s[0] == 0xf4) hi = 0x8f; /* above U+10FFFF */
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    return len;
}

int od_utf8_valid(const char *s, size_t n) {
    for (size_t i = 0, c; i < n; i += c)
        if (!(c = od_utf8_char_len(s + i, n - i))) return 0;
    return 1;
}

size_t od_utf8_cut(const char *s, size_t n, size_t max) {
    if (n <= max) max = n;
    size_t end = 0;
    while (end < max) {
        size_t c = od_utf8_char_len(s + end, n - end);
        if (!c) c = 1; /* a stray byte is a unit of its own */
        if (end + c > max) break;
        end += c;
    }
    return end;
}

/* One input unit at s[0..n): its length in the input and in the output. */
static size_t unit(const char *s, size_t n, int flags, size_t *width) {
    size_t c = od_utf8_char_len(s, n);
    int esc = !c || ((flags & OD_UTF8_ASCII) && c > 1);
    *width = esc ? 4 : c;
    return esc ? 1 : c;
}

size_t od_utf8_clip(char *out, size_t cap, const char *s, size_t n, int flags) {
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0, escaped = 0, total = 0, w;
    if (cap < 4) {
        if (cap) out[0] = 0;
        return 0;
    }
    for (size_t i = 0; i < n; total += w)
        i += unit(s + i, n - i, flags, &w);
    /* All of it, or as much as leaves room for "..." */
    size_t limit = total < cap ? cap - 1 : cap - 4, i = 0;
    while (i < n) {
        size_t take = unit(s + i, n - i, flags, &w);
        if (o + w > limit) break;
        if (w != take) { /* one byte, escaped */
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[(unsigned char)s[i] >> 4];
            out[o++] = hex[(unsigned char)s[i] & 15];
            escaped++;
        } else {
            memcpy(out + o, s + i, take);
            o += take;
        }
        i += take;
    }
    if (i < n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = 0;
    return escaped;
}
