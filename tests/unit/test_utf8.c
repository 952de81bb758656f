/* UTF-8 checks and cuts that never split a character (lib/core/utf8.c),
 * and the buffer writers that keep text PostgreSQL and JSON accept. */
#include "check.h"
#include "core/buf.h"
#include "core/utf8.h"

#define EURO "\xe2\x82\xac"      /* U+20AC, 3 bytes */
#define EMOJI "\xf0\x9f\x93\x9e" /* U+1F4DE, 4 bytes */

int main(void) {
    static const struct {
        const char *s;
        size_t n, len; /* bytes of input, length of the character there (0: none) */
    } chars[] = {
        {"a", 1, 1},
        {"\xc3\xa9", 2, 2},
        {EURO, 3, 3},
        {EMOJI, 4, 4},
        {"\xf4\x8f\xbf\xbf", 4, 4}, /* U+10FFFF */
        {"", 1, 0},                 /* NUL: PostgreSQL text cannot hold it */
        {"\x80", 1, 0},             /* a continuation byte alone */
        {"\xc0\xaf", 2, 0},         /* overlong '/' */
        {"\xc1\xbf", 2, 0},         /* overlong */
        {"\xe0\x80\xaf", 3, 0},     /* overlong */
        {"\xed\xa0\x80", 3, 0},     /* a UTF-16 surrogate */
        {"\xf4\x90\x80\x80", 4, 0}, /* above U+10FFFF */
        {"\xf5\x80\x80\x80", 4, 0},
        {"\xff", 1, 0},
        {EURO, 2, 0},  /* cut: the character is not all there */
        {EMOJI, 3, 0}, /* cut */
        {"\xe2\x28\xa1", 3, 0},
    };
    for (size_t i = 0; i < sizeof chars / sizeof *chars; i++)
        CHECK(od_utf8_char_len(chars[i].s, chars[i].n) == chars[i].len, "char %zu: got %zu", i,
              od_utf8_char_len(chars[i].s, chars[i].n));

    static const struct {
        const char *s;
        size_t max, want; /* cut at `max` bytes: the prefix length */
    } cuts[] = {
        {"abc", 10, 3},
        {"abc", 2, 2},
        {"ab" EURO, 3, 2}, /* not inside the euro */
        {"ab" EURO, 4, 2},
        {"ab" EURO, 5, 5},
        {EMOJI EMOJI, 7, 4},
        {EMOJI EMOJI, 8, 8},
        {"a\xff"
         "b",
         2, 2}, /* a stray byte is a unit of its own */
        {"", 5, 0},
    };
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        size_t got = od_utf8_cut(cuts[i].s, strlen(cuts[i].s), cuts[i].max);
        CHECK(got == cuts[i].want, "cut %zu: got %zu, want %zu", i, got, cuts[i].want);
    }

    static const struct {
        const char *s;
        size_t cap;
        int flags;
        const char *want;
        size_t escaped;
    } clips[] = {
        {"short", 44, 0, "short", 0},
        {"exactly", 8, 0, "exactly", 0},  /* fits with its NUL: no cut */
        {"exactly!", 8, 0, "exac...", 0}, /* does not: cut, "..." */
        {"ab" EURO "cde", 8, 0, "ab...", 0},
        {"abc" EURO "d", 10, 0, "abc" EURO "d", 0},
        {"abcd" EURO "efg", 10, 0, "abcd...", 0},
        {"abcd" EURO "e", 11, 0, "abcd" EURO "e", 0},
        {"x\xffy", 44, 0, "x\\xFFy", 1},
        {"x\xe2\x82y", 44, 0, "x\\xE2\\x82y", 2}, /* a character cut by someone else */
        {"caf\xc3\xa9", 44, OD_UTF8_ASCII, "caf\\xC3\\xA9", 2},
        {"\xff\xff\xff", 8, 0, "\\xFF...", 1},
        {"", 4, 0, "", 0},
    };
    for (size_t i = 0; i < sizeof clips / sizeof *clips; i++) {
        char out[64];
        memset(out, '#', sizeof out);
        size_t esc =
            od_utf8_clip(out, clips[i].cap, clips[i].s, strlen(clips[i].s), clips[i].flags);
        CHECK_STR(out, clips[i].want, clips[i].s);
        CHECK(esc == clips[i].escaped, "clip %zu: %zu escaped", i, esc);
        CHECK(strlen(out) < clips[i].cap, "clip %zu fits", i);
        CHECK(od_utf8_valid(out, strlen(out)), "clip %zu is UTF-8", i);
    }
    /* Whatever the bytes and the cut, the result is well-formed. */
    const char *hostile = "\xe2\x82\xac\xe2\x82\xf0\x9f\x93\x9e\xc0\xaf\xed\xa0\x80z";
    for (size_t cap = 4; cap < 40; cap++) {
        char out[64];
        od_utf8_clip(out, cap, hostile, strlen(hostile), 0);
        CHECK(od_utf8_valid(out, strlen(out)) && strlen(out) < cap, "cap %zu: \"%s\"", cap, out);
    }

    /* The buffer writers: what goes to PostgreSQL and into JSON. */
    od_buf_t b = {0};
    od_buf_putc(&b, '{');
    od_buf_pg_array_elem_n(&b, "a\xe2\x82\"" EURO, 7);
    od_buf_pg_array_elem_n(&b, "x\0y", 3);
    CHECK_STR(b.data, "{\"a\xef\xbf\xbd\xef\xbf\xbd\\\"" EURO "\",\"x\xef\xbf\xbdy\"",
              "pg array: U+FFFD for each byte that is not UTF-8, and for NUL");
    od_buf_reset(&b);
    od_buf_json_str(&b, "\xff" EURO "\n\"" EMOJI "\xf0\x9f");
    CHECK_STR(b.data, "\"\xef\xbf\xbd" EURO "\\u000a\\\"" EMOJI "\xef\xbf\xbd\xef\xbf\xbd\"",
              "json: U+FFFD for each byte that is not UTF-8");
    od_buf_free(&b);
    return CHECK_DONE();
}
