/* Event encoding: fields present when known, absent when not. */
#include "check.h"
#include "domain/event.h"

static json_t *encode(const od_event_t *e) {
    od_buf_t b = {0};
    od_event_write(e, &b);
    json_error_t err;
    json_t *o = json_loads(b.data, 0, &err);
    CHECK(o != NULL, "valid JSON: %s in %s", err.text, b.data);
    od_buf_free(&b);
    return o ? o : json_object();
}

int main(void) {
    od_event_t e;
    od_event_init(&e);
    json_t *meta = json_pack("{s:s}", "campaign", "c1");
    e.event_id = "11111111-1111-4111-8111-111111111111";
    e.call_id = "22222222-2222-4222-8222-222222222222";
    e.request_id = "r1";
    e.org_id = "acme";
    e.agent_id = "bot";
    e.from_number = "+14155550100";
    e.to_number = "+442071838750";
    e.status = "queued";
    e.seq = 1;
    e.occurred_at_ms = 1795341600500LL;
    e.metadata = meta;
    json_t *o = encode(&e);
    CHECK_STR(json_string_value(json_object_get(o, "type")), "call.queued", "type");
    CHECK_STR(json_string_value(json_object_get(o, "occurred_at")), "2026-11-22T10:00:00.500Z",
              "time");
    CHECK(json_integer_value(json_object_get(o, "seq")) == 1, "seq");
    CHECK_STR(json_string_value(json_object_get(json_object_get(o, "metadata"), "campaign")), "c1",
              "metadata echoed");
    static const char *const absent[] = {
        "attempt",          "error_code",      "sip_status",    "ringing_at",
        "duration_seconds", "cost_millicents", "credit_status", "source"};
    for (size_t i = 0; i < sizeof absent / sizeof *absent; i++)
        CHECK(json_object_get(o, absent[i]) == NULL, "%s absent", absent[i]);
    json_decref(o);

    e.status = "completed";
    e.attempt = 2;
    e.sip_status = 200;
    e.sip_reason = "OK";
    e.hangup_by = "callee";
    e.answered_at_ms = 1795341601000LL;
    e.ended_at_ms = 1795341661000LL;
    e.duration_seconds = 60;
    e.billable_seconds = 60;
    e.cost_millicents = 0; /* zero is a known value, not "unknown" */
    e.credit_status = "settled";
    o = encode(&e);
    CHECK_STR(json_string_value(json_object_get(o, "type")), "call.completed", "type");
    CHECK(json_integer_value(json_object_get(o, "attempt")) == 2, "attempt");
    CHECK(json_integer_value(json_object_get(o, "sip_status")) == 200, "sip");
    CHECK(json_object_get(o, "cost_millicents") &&
              json_integer_value(json_object_get(o, "cost_millicents")) == 0,
          "zero cost present");
    CHECK_STR(json_string_value(json_object_get(o, "answered_at")), "2026-11-22T10:00:01.000Z",
              "answered");
    CHECK_STR(json_string_value(json_object_get(o, "credit_status")), "settled", "credit");
    json_decref(o);
    json_decref(meta);

    /* Strings that need escaping come out as valid JSON. */
    od_event_init(&e);
    e.status = "rejected";
    e.error_message = "not JSON: \"\\\x01\n\t";
    o = encode(&e);
    CHECK_STR(json_string_value(json_object_get(o, "error_message")), "not JSON: \"\\\x01\n\t",
              "escaped");
    json_decref(o);

    static const struct {
        const char *s;
        int terminal;
    } st[] = {{"queued", 0},      {"initiated", 0}, {"ringing", 0},   {"answered", 0},
              {"in_progress", 0}, {"completed", 1}, {"no_answer", 1}, {"busy", 1},
              {"failed", 1},      {"canceled", 1},  {"rejected", 1},  {"expired", 1}};
    for (size_t i = 0; i < sizeof st / sizeof *st; i++)
        CHECK(od_status_is_terminal(st[i].s) == st[i].terminal, "%s", st[i].s);
    return CHECK_DONE();
}
