/* lib/core/utf8.c against an independent reading of RFC 3629: which byte
 * sequences are characters, where a cut may fall, and that od_utf8_clip
 * always writes well-formed UTF-8 (ASCII with OD_UTF8_ASCII) within its
 * buffer. Input: one byte of parameters (cut length, buffer size, flags),
 * then the text. */
#include "core/utf8.h"
#include "fuzz.h"

#include <string.h>

/* The character at s[0..n): its length, or 0 (RFC 3629 section 4, NUL
 * excluded), decoded to its code point and judged by that. */
static size_t ref_char_len(const unsigned char *s, size_t n) {
    if (!n || !s[0]) return 0;
    size_t len = s[0] < 0x80             ? 1
                 : (s[0] & 0xe0) == 0xc0 ? 2
                 : (s[0] & 0xf0) == 0xe0 ? 3
                 : (s[0] & 0xf8) == 0xf0 ? 4
                                         : 0;
    if (!len || n < len) return 0;
    uint32_t cp = len == 1   ? s[0]
                  : len == 2 ? s[0] & 0x1fu
                  : len == 3 ? s[0] & 0x0fu
                             : s[0] & 0x07u;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) { return 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    unsigned p = data[0];
    const char *s = (const char *)data + 1;
    const unsigned char *u = data + 1;
    size_t n = size - 1;

    int valid = 1;
    for (size_t i = 0; i < n;) {
        size_t c = od_utf8_char_len(s + i, n - i), r = ref_char_len(u + i, n - i);
        FUZZ_CHECK(c == r, "char_len at byte %zu: %zu, RFC 3629 says %zu", i, c, r);
        if (!c) valid = 0;
        i += c ? c : 1;
    }
    FUZZ_CHECK(od_utf8_valid(s, n) == valid, "od_utf8_valid says %d", !valid);

    /* A cut: within max, on a boundary (never inside a character). */
    size_t max = p & 0x3f, cut = od_utf8_cut(s, n, max);
    FUZZ_CHECK(cut <= max && cut <= n, "cut %zu of %zu bytes, max %zu", cut, n, max);
    if (valid) FUZZ_CHECK(od_utf8_valid(s, cut), "cut at %zu splits a character", cut);
    FUZZ_CHECK(cut == n || cut + 4 > max, "cut at %zu leaves room before %zu", cut, max);

    /* A clip: NUL-terminated within cap, well-formed, ASCII if asked; all
     * of a valid text when it fits. */
    int flags = p & 0x40 ? OD_UTF8_ASCII : 0;
    size_t cap = p & 0x80 ? 4 + (p & 0x3f) : 256;
    char *out = malloc(cap + 1);
    out[cap] = 0x5a; /* a canary just past the buffer */
    size_t escaped = od_utf8_clip(out, cap, s, n, flags);
    size_t len = strlen(out);
    FUZZ_CHECK(len < cap && out[cap] == 0x5a, "clip wrote %zu bytes into %zu", len + 1, cap);
    FUZZ_CHECK(od_utf8_valid(out, len), "clip wrote bytes that are not UTF-8");
    if (flags)
        for (size_t i = 0; i < len; i++)
            FUZZ_CHECK((unsigned char)out[i] < 0x80, "clip wrote byte %zu above 0x7f", i);
    if (valid && !flags && n < cap) {
        FUZZ_CHECK(len == n && !memcmp(out, s, n), "clip changed a text that fits");
        FUZZ_CHECK(!escaped, "clip escaped %zu bytes of valid text", escaped);
    }
    if (!valid && n + 3 * n < cap) FUZZ_CHECK(escaped > 0, "clip escaped nothing of bad text");
    free(out);
    return 0;
}
