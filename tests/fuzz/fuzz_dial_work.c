/* Dial work (lib/dialer/work.c od_work_parse), as the dialer reads it off
 * its topic. Input: the message value; the header line budget is taken
 * from the input's size (128..1151 bytes, the range --sip-header-max
 * allows). Checked: on success, every string that goes into a SIP message
 * (URIs, user names, the X-Outdial-* headers, the caller-ID header) is free
 * of control characters, so no value can add a header line or break the
 * request line; the X-Outdial-* lines are "Name: value", and those made of
 * JSON stay within the budget; numbers are in range. On failure, the call
 * is either unusable (no call_id) or has a reason that is plain text. */
#include "core/utf8.h"
#include "dialer/dialer_int.h"
#include "fuzz.h"

#include <string.h>

static od_seal_key_t key;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    json_object_seed(1);
    for (int i = 0; i < OD_SEAL_KEY_LEN; i++)
        key.k[i] = (unsigned char)(i * 7 + 1); /* as fuzz_unseal */
    key.set = 1;
    return 0;
}

static void sip_safe(const char *what, const char *s, int required) {
    FUZZ_CHECK(s || !required, "%s missing after a successful parse", what);
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
        FUZZ_CHECK(*p >= 0x20 && *p != 0x7f, "%s with control character 0x%02x: %s", what, *p, s);
}

static void check_headers(const char *h, size_t line_max) {
    FUZZ_CHECK(h, "no agent headers");
    FUZZ_CHECK(!strncmp(h, "X-Outdial-Call-Id: ", 19), "headers start with %.40s", h);
    while (*h) {
        const char *end = strstr(h, "\r\n");
        size_t n = end ? (size_t)(end - h) : strlen(h);
        const char *colon = memchr(h, ':', n);
        FUZZ_CHECK(!strncmp(h, "X-Outdial-", 10) && colon && colon[1] == ' ',
                   "header line \"%.*s\"", (int)n, h);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK((unsigned char)h[i] >= 0x20 && h[i] != 0x7f,
                       "header line \"%.*s\" with a control character", (int)n, h);
        if (!strncmp(h, "X-Outdial-Context", 17) || !strncmp(h, "X-Outdial-Instructions", 22) ||
            !strncmp(h, "X-Outdial-Metadata", 18))
            FUZZ_CHECK(n <= line_max, "a %zu-byte line, budget %zu", n, line_max);
        h += n;
        if (end) {
            h += 2;
            FUZZ_CHECK(*h, "headers end with CRLF");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_t *m = json_loadb((const char *)data, size, 0, NULL);
    if (!m) return 0;
    size_t line_max = 128 + size % 1024;
    od_work_opts_t opts = {&key, line_max};
    od_work_t w;
    char err[160];
    memset(err, 0, sizeof err);
    int rc = od_work_parse(m, &opts, &w, err, sizeof err);
    if (rc) {
        FUZZ_CHECK(rc == -1, "returned %d", rc);
        FUZZ_CHECK(err[0] && od_utf8_valid(err, strlen(err)), "a failure without a plain reason");
        sip_safe("call_id", w.call_id, 0);
    } else {
        sip_safe("call_id", w.call_id, 1);
        FUZZ_CHECK(w.call_id[0], "empty call_id");
        FUZZ_CHECK(w.attempt >= 1 && w.cps >= 1 && w.ringing_timeout_s >= 1 &&
                       w.max_duration_s >= 1,
                   "attempt %d cps %d ringing %d max %d", w.attempt, w.cps, w.ringing_timeout_s,
                   w.max_duration_s);
        sip_safe("to", w.to, 1);
        sip_safe("from", w.from, 1);
        sip_safe("proxy", w.proxy, 1);
        sip_safe("agent_uri", w.agent_uri, 1);
        sip_safe("trunk_id", w.trunk_id, 1);
        sip_safe("username", w.username, 0);
        sip_safe("agent_username", w.agent_username, 0);
        sip_safe("trunk_headers", w.trunk_headers, 0);
        check_headers(w.headers, line_max);
    }
    od_work_clear(&w);
    json_decref(m);
    return 0;
}
