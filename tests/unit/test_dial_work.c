/* Dial work into what the SIP legs need: URIs through the trunk, the
 * agent's headers (base64url JSON), hand-back ages, and refusals. */
#include "check.h"
#include "core/buf.h"
#include "dialer/dialer_int.h"

#include <stdlib.h>

static const char WORK_HEAD[] =
    "{\"type\":\"dial\",\"call_id\":\"0b9f6a52-7d1c-4c35-9a57-3f1f7e6f0a11\",\"attempt\":2,"
    "\"org_id\":\"acme\",\"agent_id\":\"bot\",\"from_number\":\"+14155550100\","
    "\"to_number\":\"+442071838750\",\"agent_sip_uri\":\"sip:bot@10.0.0.7:5070\","
    "\"trunk\":{\"id\":\"t1\",\"proxy\":\"sip:carrier.example:5060;transport=udp\","
    "\"username\":\"u\",\"password\":\"p\",\"cps\":20},"
    "\"ringing_timeout_seconds\":30,\"max_duration_seconds\":600,"
    "\"admitted_at\":\"2026-11-22T10:00:00.000Z\",";
static const char WORK_TAIL[] =
    "\"context\":{\"lang\":\"en\"},\"instructions\":\"be brief\",\"metadata\":{\"k\":1}}";

static const od_seal_key_t no_key;
static const od_work_opts_t opts = {&no_key, 1024};

static int parse(const char *extra, od_work_t *w, char *err) {
    char text[2048];
    snprintf(text, sizeof text, "%s%s%s", WORK_HEAD, extra, WORK_TAIL);
    json_t *m = json_loads(text, 0, NULL);
    int rc = od_work_parse(m, &opts, w, err, 160);
    json_decref(m);
    return rc;
}

static void base64url(void) {
    static const struct {
        const char *in, *out;
    } cases[] = {{"", ""},
                 {"f", "Zg"},
                 {"fo", "Zm8"},
                 {"foo", "Zm9v"},
                 {"foob", "Zm9vYg"},
                 {"\xfb\xff", "-_8"},
                 {"{\"lang\":\"en\"}", "eyJsYW5nIjoiZW4ifQ"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        od_buf_t b = {0};
        od_buf_base64url(&b, cases[i].in, strlen(cases[i].in));
        CHECK_STR(b.len ? b.data : "", cases[i].out, cases[i].in);
        od_buf_free(&b);
    }
}

int main(void) {
    od_work_t w;
    char err[160];
    base64url();

    CHECK(parse("", &w, err) == 0, "%s", err);
    CHECK_STR(w.to, "sip:+442071838750@carrier.example:5060", "callee URI via the trunk's host");
    CHECK_STR(w.from, "sip:+14155550100@carrier.example:5060", "caller ID");
    CHECK_STR(w.proxy, "sip:carrier.example:5060;transport=udp", "proxy as given");
    CHECK_STR(w.username, "u", "username");
    CHECK(w.attempt == 2 && w.cps == 20 && w.ringing_timeout_s == 30 && w.max_duration_s == 600,
          "numbers");
    CHECK(w.admitted_ms == 1795341600000LL, "admitted %lld", (long long)w.admitted_ms);
    CHECK(strstr(w.headers, "X-Outdial-Call-Id: 0b9f6a52-7d1c-4c35-9a57-3f1f7e6f0a11\r\n") != NULL,
          "call id header");
    CHECK(strstr(w.headers, "X-Outdial-Context: eyJsYW5nIjoiZW4ifQ\r\n") != NULL, "context");
    CHECK(strstr(w.headers, "X-Outdial-Instructions: ImJlIGJyaWVmIg\r\n") != NULL,
          "instructions as a JSON string");
    CHECK(strstr(w.headers, "X-Outdial-Metadata: eyJrIjoxfQ") != NULL, "metadata");
    CHECK(w.headers[strlen(w.headers) - 1] != '\n', "no CRLF after the last header");
    od_work_clear(&w);

    /* handed back by a draining dialer: its age counts from then */
    CHECK(parse("\"handed_back_at\":\"2026-11-22T10:00:30.000Z\",", &w, err) == 0, "%s", err);
    CHECK(w.admitted_ms == 1795341630000LL, "handed back %lld", (long long)w.admitted_ms);
    od_work_clear(&w);

    /* refusals name what is wrong and keep the call id to report on */
    json_t *m = json_loads("{\"type\":\"dial\",\"call_id\":\"c1\",\"attempt\":1}", 0, NULL);
    CHECK(od_work_parse(m, &opts, &w, err, sizeof err) == -1 && strstr(err, "to_number"), "%s",
          err);
    CHECK_STR(w.call_id, "c1", "call id kept for the report");
    json_decref(m);
    od_work_clear(&w);
    m = json_loads("{\"type\":\"dial\",\"attempt\":1}", 0, NULL);
    CHECK(od_work_parse(m, &opts, &w, err, sizeof err) == -1 && !w.call_id[0], "no call id");
    json_decref(m);

    /* A control character in anything that goes into SIP would end a
     * header line and add one of its own (found by fuzz_dial_work: DEL
     * in agent_id, tests/fuzz/corpus/dial_work/regress_del_in_agent_id.json):
     * refused, the call id kept to report the failure on. */
    static const char *const injected[] = {
        "\"agent_id\":\"b\\u007ft\",",
        "\"org_id\":\"acme\\r\\nX-Evil: 1\",",
        "\"to_number\":\"+44207\\r\\nVia: x\",",
        "\"agent_sip_uri\":\"sip:bot@10.0.0.7\\r\\nContact: <sip:evil>\",",
        "\"trunk\":{\"proxy\":\"sip:carrier.example\",\"username\":\"u\\n\"},",
    };
    for (size_t i = 0; i < sizeof injected / sizeof *injected; i++) {
        CHECK(parse(injected[i], &w, err) == -1, "%s: accepted", injected[i]);
        CHECK_STR(err, "dial work with a control character in a value that goes into SIP",
                  injected[i]);
        CHECK_STR(w.call_id, "0b9f6a52-7d1c-4c35-9a57-3f1f7e6f0a11", injected[i]);
        od_work_clear(&w);
    }
    CHECK(parse("\"call_id\":\"c\\r\\n1\",", &w, err) == -1 && !w.call_id[0],
          "a call id with a control character is no call id");
    od_work_clear(&w);
    CHECK(parse("\"call_id\":\"\",", &w, err) == -1 && !w.call_id[0],
          "an empty call id is no call id (fuzz_dial_work, regress_empty_call_id.json)");
    CHECK_STR(err, "dial work without call_id or attempt", "empty call id");
    od_work_clear(&w);
    return CHECK_DONE();
}
