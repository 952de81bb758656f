/* Request validation: every field, every rejection code, table-driven. */
#include "check.h"
#include "core/utf8.h"
#include "domain/request.h"

#include <stdlib.h>

static const char *PROV =
    "{\"orgs\":{\"acme\":{\"plan\":\"pro\","
    " \"numbers\":{\"+14155550100\":{\"outbound_enabled\":true,\"trunk\":\"t\"},"
    "              \"+14155550199\":{\"outbound_enabled\":false,\"trunk\":\"t\"}},"
    " \"agents\":{\"bot\":{\"default_from\":\"+14155550100\",\"max_duration_seconds\":600},"
    "             \"nodefault\":{\"default_from\":null,\"max_duration_seconds\":600}}}}}";

#define OK                                                                                         \
    "\"request_id\":\"r1\",\"org_id\":\"acme\",\"agent_id\":\"bot\",\"to_number\":\"+"             \
    "442071838750\""

static const struct {
    const char *msg;
    od_reject_t want;
    const char *err_has; /* substring of the message, or NULL */
} cases[] = {
    {"{" OK "}", OD_REJ_NONE, NULL},
    {"{" OK ",\"action\":\"call\"}", OD_REJ_NONE, NULL},
    {"{" OK ",\"from_number\":\"+14155550100\",\"metadata\":{\"k\":1},\"context\":{\"name\":\"A\"},"
     "\"instructions\":\"be brief\",\"ringing_timeout_seconds\":5,\"max_duration_seconds\":600,"
     "\"not_before\":\"2026-01-01T00:00:00Z\",\"expires_at\":\"2026-01-02T00:00:00Z\","
     "\"webhook_url\":\"https://example.com/h\","
     "\"retry\":{\"max_attempts\":3,\"delay_seconds\":300,\"on\":[\"no_answer\",\"busy\"]}}",
     OD_REJ_NONE, NULL},
    /* not a request at all */
    {"", OD_REJ_INVALID_REQUEST, "empty"},
    {"not json", OD_REJ_INVALID_REQUEST, "not JSON"},
    {"[1,2]", OD_REJ_INVALID_REQUEST, "JSON object"},
    {"\"str\"", OD_REJ_INVALID_REQUEST, "JSON object"},
    {"{" OK ",\"org_id\":\"acme\"}", OD_REJ_INVALID_REQUEST, "not JSON"}, /* duplicate key */
    /* required fields */
    {"{\"org_id\":\"acme\",\"agent_id\":\"bot\",\"to_number\":\"+442071838750\"}",
     OD_REJ_INVALID_REQUEST, "request_id is required"},
    {"{\"request_id\":\"r\",\"agent_id\":\"bot\",\"to_number\":\"+442071838750\"}",
     OD_REJ_INVALID_REQUEST, "org_id is required"},
    {"{\"request_id\":\"r\",\"org_id\":\"acme\",\"to_number\":\"+442071838750\"}",
     OD_REJ_INVALID_REQUEST, "agent_id is required"},
    {"{\"request_id\":\"r\",\"org_id\":\"acme\",\"agent_id\":\"bot\"}", OD_REJ_INVALID_REQUEST,
     "to_number is required"},
    /* field shapes */
    {"{\"request_id\":\"\",\"org_id\":\"acme\",\"agent_id\":\"bot\",\"to_number\":\"+"
     "442071838750\"}",
     OD_REJ_INVALID_REQUEST, "1 to 128"},
    {"{\"request_id\":7,\"org_id\":\"acme\",\"agent_id\":\"bot\",\"to_number\":\"+442071838750\"}",
     OD_REJ_INVALID_REQUEST, "must be a string"},
    {"{\"request_id\":\"a\\u0001b\",\"org_id\":\"acme\",\"agent_id\":\"bot\",\"to_number\":\"+"
     "442071838750\"}",
     OD_REJ_INVALID_REQUEST, "control character"},
    {"{" OK ",\"surprise\":1}", OD_REJ_INVALID_REQUEST, "unknown field"},
    {"{" OK ",\"action\":\"dial\"}", OD_REJ_INVALID_REQUEST, "action"},
    {"{" OK ",\"metadata\":[1]}", OD_REJ_INVALID_REQUEST, "metadata must be an object"},
    {"{" OK ",\"context\":\"x\"}", OD_REJ_INVALID_REQUEST, "context must be an object"},
    {"{" OK ",\"instructions\":5}", OD_REJ_INVALID_REQUEST, "instructions"},
    {"{" OK ",\"ringing_timeout_seconds\":4}", OD_REJ_INVALID_REQUEST, "between 5 and 80"},
    {"{" OK ",\"ringing_timeout_seconds\":81}", OD_REJ_INVALID_REQUEST, "between 5 and 80"},
    {"{" OK ",\"ringing_timeout_seconds\":80}", OD_REJ_NONE, NULL},
    {"{" OK ",\"ringing_timeout_seconds\":30.5}", OD_REJ_INVALID_REQUEST, "whole number"},
    {"{" OK ",\"max_duration_seconds\":0}", OD_REJ_INVALID_REQUEST, "between 1 and 14400"},
    {"{" OK ",\"max_duration_seconds\":14401}", OD_REJ_INVALID_REQUEST, "between 1 and 14400"},
    {"{" OK ",\"max_duration_seconds\":601}", OD_REJ_INVALID_REQUEST, "ceiling of 600"},
    {"{" OK ",\"not_before\":\"tomorrow\"}", OD_REJ_INVALID_REQUEST, "RFC 3339"},
    {"{" OK ",\"expires_at\":\"2026-01-01T00:00:00\"}", OD_REJ_INVALID_REQUEST, "RFC 3339"},
    {"{" OK ",\"not_before\":\"2026-01-02T00:00:00Z\",\"expires_at\":\"2026-01-01T00:00:00Z\"}",
     OD_REJ_INVALID_REQUEST, "later than"},
    {"{" OK ",\"webhook_url\":\"ftp://x/y\"}", OD_REJ_INVALID_REQUEST, "webhook_url"},
    {"{" OK ",\"webhook_url\":\"https://example.com/h\\r\\nX-Evil: 1\"}", OD_REJ_INVALID_REQUEST,
     "webhook_url must not contain spaces or control characters"},
    {"{" OK ",\"webhook_url\":\"https://example.com/h\\n\"}", OD_REJ_INVALID_REQUEST,
     "control characters"},
    {"{" OK ",\"webhook_url\":\"https://example.com/a b\"}", OD_REJ_INVALID_REQUEST, "spaces"},
    /* times PostgreSQL cannot store (it has no year 0) */
    {"{" OK ",\"not_before\":\"0000-01-01T00:00:00Z\"}", OD_REJ_INVALID_REQUEST, "0001-01-01"},
    {"{" OK ",\"expires_at\":\"0001-01-01T00:00:00+01:00\"}", OD_REJ_INVALID_REQUEST, "0001-01-01"},
    {"{" OK ",\"expires_at\":\"9999-12-31T23:00:00-02:00\"}", OD_REJ_INVALID_REQUEST, "9999-12-31"},
    {"{" OK ",\"not_before\":\"0001-01-01T00:00:00Z\"}", OD_REJ_NONE, NULL},
    /* the epoch is a time like any other, not "absent" */
    {"{" OK ",\"not_before\":\"1970-01-01T00:00:00Z\",\"expires_at\":\"1970-01-01T00:00:00Z\"}",
     OD_REJ_INVALID_REQUEST, "later than"},
    {"{" OK ",\"retry\":{\"max_attempts\":0}}", OD_REJ_INVALID_REQUEST, "retry.max_attempts"},
    {"{" OK ",\"retry\":{\"on\":[\"declined\"]}}", OD_REJ_INVALID_REQUEST, "retry.on"},
    {"{" OK ",\"retry\":{\"tries\":2}}", OD_REJ_INVALID_REQUEST, "unknown field"},
    {"{" OK ",\"retry\":5}", OD_REJ_INVALID_REQUEST, "retry must be an object"},
    /* numbers */
    {"{\"request_id\":\"r\",\"org_id\":\"acme\",\"agent_id\":\"bot\",\"to_number\":\"4155550100\"}",
     OD_REJ_INVALID_PHONE_NUMBER, "to_number"},
    {"{" OK ",\"from_number\":\"+1 415\"}", OD_REJ_INVALID_PHONE_NUMBER, "from_number"},
    {"{\"request_id\":\"r\",\"org_id\":\"acme\",\"agent_id\":\"bot\",\"to_number\":5}",
     OD_REJ_INVALID_REQUEST, "must be a string"},
    /* provisioning */
    {"{\"request_id\":\"r\",\"org_id\":\"nobody\",\"agent_id\":\"bot\",\"to_number\":\"+"
     "442071838750\"}",
     OD_REJ_ORG_NOT_FOUND, "nobody"},
    {"{\"request_id\":\"r\",\"org_id\":\"acme\",\"agent_id\":\"ghost\",\"to_number\":\"+"
     "442071838750\"}",
     OD_REJ_AGENT_NOT_FOUND, "ghost"},
    {"{" OK ",\"from_number\":\"+14155550111\"}", OD_REJ_NUMBER_NOT_OWNED, "+14155550111"},
    {"{" OK ",\"from_number\":\"+14155550199\"}", OD_REJ_OUTBOUND_DISABLED, "+14155550199"},
    {"{\"request_id\":\"r\",\"org_id\":\"acme\",\"agent_id\":\"nodefault\",\"to_number\":\"+"
     "442071838750\"}",
     OD_REJ_INVALID_REQUEST, "default_from"},
    /* cancel */
    {"{\"action\":\"cancel\",\"org_id\":\"acme\",\"request_id\":\"r1\"}", OD_REJ_NONE, NULL},
    {"{\"action\":\"cancel\",\"org_id\":\"acme\"}", OD_REJ_INVALID_REQUEST, "request_id"},
    {"{\"action\":\"cancel\",\"org_id\":\"acme\",\"request_id\":\"r1\",\"to_number\":\"+1\"}",
     OD_REJ_INVALID_REQUEST, "unknown field"},
};

/* call_id is UUID v5 of (org_id NUL request_id) in outdial's namespace; the
 * vectors are Python's uuid.uuid5(uuid.UUID(OD_CALL_ID_NAMESPACE), name). */
static void call_ids(void) {
    char id[OD_UUID_STRLEN], again[OD_UUID_STRLEN];
    od_request_call_id("acme", "r-123", id);
    CHECK_STR(id, "0b4e9f0b-cd6f-5f80-9438-a29fcf2ba966", "acme / r-123");
    od_request_call_id("acme", "r-123", again);
    CHECK_STR(again, id, "same name, same id");
    od_request_call_id("acmer", "-123", again);
    CHECK(strcmp(again, id) != 0, "the separator keeps org and request apart: %s", again);
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    od_request_call_id("acme", big, id); /* past the stack buffer */
    CHECK(id[14] == '5' && strchr("89ab", id[19]), "version 5, RFC variant: %s", id);
}

int main(void) {
    call_ids();
    json_t *prov = json_loads(PROV, 0, NULL);
    CHECK(prov != NULL, "fixture parses");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        od_request_t r;
        od_request_parse(&r, cases[i].msg, strlen(cases[i].msg));
        od_request_resolve(&r, prov);
        CHECK(r.reject == cases[i].want, "case %zu %s: got %s (%s)", i, cases[i].msg,
              od_reject_code(r.reject) ? od_reject_code(r.reject) : "accepted", r.error);
        if (cases[i].err_has)
            CHECK(strstr(r.error, cases[i].err_has) != NULL, "case %zu: \"%s\" lacks \"%s\"", i,
                  r.error, cases[i].err_has);
        od_request_clear(&r);
    }

    /* Defaults are filled in from the agent. */
    od_request_t r;
    const char *m = "{" OK "}";
    od_request_parse(&r, m, strlen(m));
    od_request_resolve(&r, prov);
    CHECK_STR(r.from_number, "+14155550100", "default from");
    CHECK(r.max_duration_s == 600, "agent ceiling as default: %d", r.max_duration_s);
    CHECK(r.ringing_timeout_s == 60, "ringing default: %d", r.ringing_timeout_s);
    od_request_clear(&r);

    /* A rejected request still names what it could read. */
    m = "{\"request_id\":\"r9\",\"org_id\":\"acme\",\"agent_id\":\"bot\",\"to_number\":\"12\"}";
    od_request_parse(&r, m, strlen(m));
    CHECK_STR(r.org_id, "acme", "org kept");
    CHECK_STR(r.request_id, "r9", "request_id kept");
    od_request_clear(&r);

    /* expires_at at the epoch is kept (an already expired call), not
     * taken for absent. */
    m = "{" OK ",\"expires_at\":\"1970-01-01T00:00:00Z\"}";
    od_request_parse(&r, m, strlen(m));
    CHECK(!r.reject && r.expires_at_ms == 0 && r.not_before_ms == OD_TIME_ABSENT, "epoch kept");
    od_request_clear(&r);

    /* Rejection texts quote at most 40 (or 64) bytes of a value, cut
     * between characters, and are UTF-8 whatever the message held. */
#define E "\xe2\x82\xac"
#define A39 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define O63 "ooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooooo"
    static const struct {
        const char *msg, *want;
    } quoted[] = {
        {"{" OK ",\"" A39 E "zzz\":1}", "unknown field \"" A39 "...\""},
        {"{" OK ",\"retry\":{\"" A39 E "zzz\":1}}", "retry has an unknown field \"" A39 "...\""},
        {"{\"action\":\"cancel\",\"org_id\":\"acme\",\"request_id\":\"r\",\"" A39 E "zzz\":1}",
         "a cancel has an unknown field \"" A39 "...\""},
        {"{\"request_id\":\"r\",\"org_id\":\"acme\",\"agent_id\":\"bot\",\"to_number\":\"+" A39 E
         "z\"}",
         "to_number \"+" A39 "...\" is not an E.164 number"},
        {"{\"request_id\":\"r\",\"org_id\":\"" O63 E "zzzz\",\"agent_id\":\"bot\",\"to_number\":\"+"
         "442071838750\"}",
         "org \"" O63 "...\" is not provisioned"},
        {"{\"request_id\":\"r\",\"org_id\":\"acme\",\"agent_id\":\"" O63 E
         "zzzz\",\"to_number\":\"+442071838750\"}",
         "agent \"" O63 "...\" is not provisioned for org \"acme\""},
        {"{" OK ",\"" A39 E "\":1}", "unknown field \"" A39 E "\""}, /* fits: whole */
        {"\xff not json", "not JSON: unable to decode byte 0xff at byte 0"},
    };
    for (size_t i = 0; i < sizeof quoted / sizeof *quoted; i++) {
        od_request_parse(&r, quoted[i].msg, strlen(quoted[i].msg));
        od_request_resolve(&r, prov);
        CHECK_STR(r.error, quoted[i].want, quoted[i].msg);
        CHECK(od_utf8_valid(r.error, strlen(r.error)), "quoted %zu: UTF-8", i);
        od_request_clear(&r);
    }

    /* A NUL after a number, which jansson lets pass (found by fuzz_request,
     * tests/fuzz/corpus/request/regress_nul_after_number.bin): PostgreSQL's
     * json would refuse the stored request and send the whole batch down
     * the slow path; refused here, with the reason. */
    static const char nul_msg[] = "{\"org_id\":\"acme\",\"request_id\":\"r-1\","
                                  "\"ringing_timeout_seconds\":30\0}";
    od_request_parse(&r, nul_msg, sizeof nul_msg - 1);
    CHECK(r.reject == OD_REJ_INVALID_REQUEST, "a NUL byte: reject %d", (int)r.reject);
    CHECK_STR(r.error, "not JSON: a NUL byte at byte 64", "a NUL byte");
    od_request_clear(&r);

    /* Oversized message. */
    size_t big = OD_REQUEST_MAX_BYTES + 1;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    od_request_parse(&r, huge, big);
    CHECK(r.reject == OD_REJ_INVALID_REQUEST && strstr(r.error, "larger"), "oversize: %s", r.error);
    od_request_clear(&r);
    free(huge);

    CHECK(od_reject_code(OD_REJ_INSUFFICIENT_BALANCE) &&
              !strcmp(od_reject_code(OD_REJ_INSUFFICIENT_BALANCE), "INSUFFICIENT_BALANCE"),
          "code names");
    json_decref(prov);
    return CHECK_DONE();
}
