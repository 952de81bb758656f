/* Requests and cancels (lib/domain/request.c) and what intake does with
 * them (lib/scheduler/intake.c, included to reach its static encoder).
 * Input: one message value of calls.requests, as the broker hands it over.
 * Checked: od_request_parse and od_request_resolve leave a verdict that
 * holds (an accepted message has its identity, an E.164 destination, ids
 * without control characters; a rejection has a public code and a UTF-8
 * reason), and the rows intake encodes for it, as it is, as a rejection and
 * as a minimal rejection, are arrays PostgreSQL accepts, one row per call,
 * with a JSON event; the minimal one pure ASCII (issue 12: whatever its
 * bytes, a message gets its row). */
#include "domain/e164.h"
#include "fuzz.h"
#include "pg_array.h"
#include "scheduler/intake.c"

static json_t *prov;

/* A provisioning snapshot as od_request_resolve reads it, the orgs of
 * tests/fixtures/provisioning.json. */
static const char PROV[] =
    "{\"orgs\":{\"acme\":{\"numbers\":{\"+14155550100\":{\"outbound_enabled\":true},"
    "\"+14155550101\":{\"outbound_enabled\":false}},\"agents\":{\"support-bot\":{\"default_from\":"
    "\"+14155550100\",\"max_duration_seconds\":600}}},\"tiny\":{\"numbers\":{\"+14155550200\":"
    "{\"outbound_enabled\":true}},\"agents\":{\"bot\":{\"default_from\":\"+14155550200\"}}}}}";

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    json_object_seed(1); /* the same iteration order every run */
    prov = json_loads(PROV, 0, NULL);
    od_log_set_level("error");
    return 0;
}

static void check_id(const char *what, const char *s) {
    FUZZ_CHECK(s, "%s missing from an accepted message", what);
    size_t n = strlen(s);
    FUZZ_CHECK(n >= 1 && n <= 128, "%s of %zu bytes accepted", what, n);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f, "%s with a control character",
                   what);
}

static void check_verdict(const od_request_t *req) {
    size_t elen = strnlen(req->error, sizeof req->error);
    FUZZ_CHECK(elen < sizeof req->error, "error not NUL-terminated");
    FUZZ_CHECK(od_utf8_valid(req->error, elen), "error is not UTF-8: %s", req->error);
    if (req->reject) {
        FUZZ_CHECK(od_reject_code(req->reject), "reject %d has no public code", (int)req->reject);
        FUZZ_CHECK(elen > 0, "a rejection without a reason");
        return;
    }
    FUZZ_CHECK(!elen, "an accepted message with an error: %s", req->error);
    check_id("org_id", req->org_id);
    check_id("request_id", req->request_id);
    if (req->kind == OD_MSG_CANCEL) return;
    check_id("agent_id", req->agent_id);
    FUZZ_CHECK(req->to_number && od_e164_valid(req->to_number), "to_number not E.164");
    FUZZ_CHECK(!req->from_number || od_e164_valid(req->from_number), "from_number not E.164");
    FUZZ_CHECK(req->ringing_timeout_s >= 5 && req->ringing_timeout_s <= 80, "ringing timeout %d",
               req->ringing_timeout_s);
    FUZZ_CHECK(req->max_duration_s >= 0 && req->max_duration_s <= OD_MAX_DURATION_CEILING,
               "max duration %d", req->max_duration_s);
    FUZZ_CHECK(req->not_before_ms == OD_TIME_ABSENT || od_clock_storable(req->not_before_ms),
               "not_before not storable");
    FUZZ_CHECK(req->expires_at_ms == OD_TIME_ABSENT || od_clock_storable(req->expires_at_ms),
               "expires_at not storable");
}

/* The rows intake writes for msg as `mode` says. */
static void check_rows(const intake_t *in, const od_kafka_msg_t *msg, row_mode_t mode,
                       const char *why) {
    enc_t enc = {0};
    const char *const *cols = encode(&enc, in, msg, 1, mode, why);
    int rows = enc.ncancels ? 0 : 1;
    pg_array_t a;
    for (int c = 0; c < OD_IN_NCOLS; c++) {
        char what[32];
        snprintf(what, sizeof what, "mode %d column %d", (int)mode, c);
        pg_array_read(cols[c], &a, what);
        int want = c >= OD_IN_RANGE_TOPIC ? 1 : rows;
        FUZZ_CHECK(a.n == want, "%s: %d elements, not %d", what, a.n, want);
        for (int i = 0; i < a.n && mode == ROW_MINIMAL; i++)
            for (const char *p = a.elem[i]; p && *p; p++)
                FUZZ_CHECK((unsigned char)*p < 0x80, "%s: a minimal row is not ASCII", what);
        if (c == OD_IN_EVENT && a.n) {
            json_t *ev = json_loads(a.elem[0], 0, NULL);
            FUZZ_CHECK(json_is_object(ev), "%s: the event is not a JSON object", what);
            json_decref(ev);
        }
        if (c == OD_IN_REQUEST && a.n && a.elem[0])
            FUZZ_CHECK(strlen(a.elem[0]) == msg->len && !memcmp(a.elem[0], msg->value, msg->len),
                       "%s: the request is not stored as sent", what);
        if ((c == OD_IN_NOT_BEFORE || c == OD_IN_EXPIRES_AT || c == OD_IN_OCCURRED_AT) && a.n &&
            a.elem[0]) {
            int64_t ms;
            FUZZ_CHECK(!od_clock_parse_rfc3339(a.elem[0], &ms) && od_clock_storable(ms),
                       "%s: time \"%s\" not storable", what, a.elem[0]);
        }
        pg_array_free(&a);
    }
    enc_free(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    od_request_t req;
    od_request_parse(&req, (const char *)data, size);
    check_verdict(&req);
    od_request_resolve(&req, prov);
    check_verdict(&req);
    od_request_clear(&req);

    /* As intake gets it: the value is not NUL-terminated. */
    char *value = malloc(size ? size : 1);
    memcpy(value, data, size);
    od_kafka_msg_t msg = {.topic = "calls.requests",
                          .partition = 3,
                          .offset = 1234567,
                          .timestamp_ms = 1767225600000,
                          .value = value,
                          .len = size};
    intake_t in = {.prov = prov};
    check_rows(&in, &msg, ROW_AS_IS, NULL);
    check_rows(&in, &msg, ROW_REJECTED, "database: invalid input syntax \"\xc3\"");
    check_rows(&in, &msg, ROW_MINIMAL, "database: value too long \"\xc3\xa9\"");
    free(value);
    return 0;
}
