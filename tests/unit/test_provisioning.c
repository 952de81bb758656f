/* Provisioning file checks: each problem is reported with its JSON path. */
#include "check.h"
#include "core/utf8.h"
#include "domain/provisioning.h"

#define TRUNK "{\"id\":\"t\",\"proxy\":\"sip:127.0.0.1:5090\",\"cps\":5,\"max_concurrent\":10}"
#define ORG(extra)                                                                                 \
    "{\"id\":\"acme\",\"plan\":\"pro\",\"balance_millicents\":100" extra ","                       \
    "\"numbers\":[{\"e164\":\"+14155550100\",\"trunk\":\"t\",\"outbound_enabled\":true}],"         \
    "\"agents\":[{\"id\":\"bot\",\"sip_uri\":\"sip:a@127.0.0.1\",\"default_from\":\"+"             \
    "14155550100\"}]}"

static int known_trunk(const char *id, void *ctx) { return !strcmp(id, "old"); }

int main(void) {
    static const struct {
        const char *doc;
        const char *err; /* NULL: valid; else the expected start of the error */
    } cases[] = {
        {"{}", NULL},
        {"{\"trunks\":[" TRUNK "],\"rates\":[{\"prefix\":\"+1\",\"millicents_per_minute\":1200,"
         "\"increment_seconds\":6}],\"orgs\":[" ORG("") "]}",
         NULL},
        {"[]", "$: must be a JSON object"},
        /* ids no request could name, URLs that would break the request
         * line, a prefix that matches every number */
        {"{\"orgs\":[{\"id\":\"ac\\u0001me\",\"plan\":\"pro\"}]}",
         "orgs[0].id: must not contain control characters"},
        {"{\"orgs\":[{\"id\":\"acme\\n\",\"plan\":\"pro\"}]}",
         "orgs[0].id: must not contain control characters"},
        {"{\"orgs\":[{\"id\":\"acme\",\"plan\":\"pro\",\"agents\":[{\"id\":\"b\\u007fot\","
         "\"sip_uri\":\"sip:a@127.0.0.1\"}]}]}",
         "orgs[0].agents[0].id: must not contain control characters"},
        {"{\"trunks\":[{\"id\":\"t\\t\",\"proxy\":\"sip:x\"}]}",
         "trunks[0].id: must not contain control characters"},
        {"{\"orgs\":[{\"id\":\"acme\",\"plan\":\"pro\",\"webhook_url\":\"http://h/x\\r\\nX: y\"}]}",
         "orgs[0]: webhook_url must be an http(s) URL"},
        {"{\"orgs\":[{\"id\":\"acme\",\"plan\":\"pro\",\"webhook_url\":\"http://h/a b\"}]}",
         "orgs[0]: webhook_url must be an http(s) URL"},
        {"{\"orgs\":[{\"id\":\"acme\",\"plan\":\"pro\",\"webhook_url\":\"https://h/ok\"}]}", NULL},
        {"{\"rates\":[{\"prefix\":\"+\",\"millicents_per_minute\":1}]}",
         "rates[0]: prefix must be '+' followed by 1 to 15 digits"},
        {"{\"rates\":[{\"prefix\":\"+4\",\"millicents_per_minute\":1}]}", NULL},
        {"{\"trunk\":[]}", "$: unknown field"},
        {"{\"trunks\":{}}", "trunks: must be an array"},
        {"{\"trunks\":[{\"id\":\"t\"}]}", "trunks[0].proxy: is required"},
        {"{\"trunks\":[{\"id\":\"t\",\"proxy\":\"http://x\"}]}", "trunks[0]: proxy must be a sip"},
        {"{\"trunks\":[{\"id\":\"t\",\"proxy\":\"sip:x\",\"cps\":0}]}",
         "trunks[0].cps: must be between"},
        {"{\"trunks\":[" TRUNK "," TRUNK "]}", "trunks[1]: trunk \"t\" is listed twice"},
        {"{\"rates\":[{\"prefix\":\"1\",\"millicents_per_minute\":1}]}",
         "rates[0]: prefix must be"},
        {"{\"rates\":[{\"prefix\":\"+1\"}]}", "rates[0].millicents_per_minute: is required"},
        {"{\"rates\":[{\"prefix\":\"+1\",\"millicents_per_minute\":-1}]}",
         "rates[0].millicents_per_minute: must be between"},
        {"{\"orgs\":[{\"id\":\"a\",\"plan\":\"gold\"}]}", "orgs[0]: plan must be"},
        {"{\"orgs\":[{\"id\":\"a\"}]}", "orgs[0].plan: is required"},
        {"{\"orgs\":[{\"id\":\"a\",\"plan\":\"free\",\"balance_millicents\":-5}]}",
         "orgs[0].balance_millicents: must be between"},
        {"{\"orgs\":[" ORG("") "]}", "orgs[0].numbers[0]: trunk \"t\" is not defined"},
        {"{\"trunks\":[" TRUNK "],\"orgs\":[{\"id\":\"a\",\"plan\":\"free\",\"numbers\":"
         "[{\"e164\":\"555\",\"trunk\":\"t\"}]}]}",
         "orgs[0].numbers[0]: e164"},
        {"{\"trunks\":[" TRUNK "],\"orgs\":[{\"id\":\"a\",\"plan\":\"free\",\"agents\":"
         "[{\"id\":\"b\",\"sip_uri\":\"sip:x\",\"default_from\":\"+14155550100\"}]}]}",
         "orgs[0].agents[0]: default_from"},
        {"{\"trunks\":[" TRUNK "],\"orgs\":[{\"id\":\"a\",\"plan\":\"free\",\"agents\":"
         "[{\"id\":\"b\",\"sip_uri\":\"tel:1\"}]}]}",
         "orgs[0].agents[0]: sip_uri"},
        /* nothing that could break the SIP message it goes into */
        {"{\"trunks\":[" TRUNK "],\"orgs\":[{\"id\":\"a\",\"plan\":\"free\",\"agents\":"
         "[{\"id\":\"b\",\"sip_uri\":\"sip:x\\r\\nX-Evil: 1\"}]}]}",
         "orgs[0].agents[0]: sip_uri must not contain"},
        {"{\"trunks\":[" TRUNK "],\"orgs\":[{\"id\":\"a\",\"plan\":\"free\",\"agents\":"
         "[{\"id\":\"b\",\"sip_uri\":\"sip:a b@x\"}]}]}",
         "orgs[0].agents[0]: sip_uri must not contain"},
        {"{\"trunks\":[{\"id\":\"t\",\"proxy\":\"sip:x>;evil\"}]}",
         "trunks[0]: proxy must not contain"},
        {"{\"trunks\":[{\"id\":\"t\",\"proxy\":\"sip:x\",\"outbound_proxy\":\"sip:y\\u0007\"}]}",
         "trunks[0]: outbound_proxy must not contain"},
        {"{\"trunks\":[" TRUNK "],\"orgs\":[{\"id\":\"a\",\"plan\":\"free\",\"agents\":"
         "[{\"id\":\"b\",\"sip_uri\":\"sip:x\",\"max_duration_seconds\":20000}]}]}",
         "orgs[0].agents[0].max_duration_seconds"},
        {"{\"trunks\":[" TRUNK "],\"orgs\":[" ORG("") "," ORG("") "]}",
         "orgs[1]: org \"acme\" is listed twice"},
        {"{\"trunks\":[" TRUNK "],\"orgs\":[" ORG(",\"webhook_url\":\"x\"") "]}",
         "orgs[0]: webhook_url"},
        {"{\"trunks\":[" TRUNK "],\"orgs\":[" ORG(",\"colour\":1") "]}", "orgs[0]: unknown field"},
        /* null clears an optional field; it is refused where it means nothing */
        {"{\"trunks\":[{\"id\":\"t\",\"proxy\":\"sip:x\",\"username\":null,\"password\":null,"
         "\"cps\":null,\"max_concurrent\":null}],\"rates\":[{\"prefix\":\"+1\","
         "\"millicents_per_minute\":1,\"increment_seconds\":null}],\"orgs\":[{\"id\":\"a\","
         "\"plan\":\"free\",\"max_concurrent\":null,\"webhook_url\":null,\"webhook_secret\":null,"
         "\"numbers\":[{\"e164\":\"+14155550100\",\"trunk\":\"t\",\"outbound_enabled\":null}],"
         "\"agents\":[{\"id\":\"b\",\"sip_uri\":\"sip:x\",\"default_from\":null,"
         "\"max_duration_seconds\":null}]}]}",
         NULL},
        {"{\"orgs\":[{\"id\":\"a\",\"plan\":\"free\",\"balance_millicents\":null}]}",
         "orgs[0].balance_millicents: cannot be null"},
        {"{\"orgs\":[{\"id\":\"a\",\"plan\":null}]}", "orgs[0].plan: is required"},
        {"{\"trunks\":[{\"id\":\"t\",\"proxy\":null}]}", "trunks[0].proxy: is required"},
        {"{\"rates\":[{\"prefix\":\"+1\",\"millicents_per_minute\":null}]}",
         "rates[0].millicents_per_minute: is required"},
        {"{\"orgs\":[{\"id\":\"a\",\"plan\":\"free\",\"numbers\":[{\"e164\":\"+14155550100\","
         "\"trunk\":\"old\"}]}]}",
         NULL}, /* a trunk already in the database */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char err[512] = "";
        json_error_t je;
        json_t *doc = json_loads(cases[i].doc, 0, &je);
        CHECK(doc != NULL, "case %zu parses: %s", i, je.text);
        int rc = od_provisioning_check(doc, known_trunk, NULL, err, sizeof err);
        if (!cases[i].err)
            CHECK(rc == 0, "case %zu should pass: %s", i, err);
        else
            CHECK(rc == -1 && !strncmp(err, cases[i].err, strlen(cases[i].err)),
                  "case %zu: got \"%s\", want \"%s...\"", i, err, cases[i].err);
        json_decref(doc);
    }
    /* Quoted values are cut between characters (found by
     * fuzz_provisioning, tests/fuzz/corpus/provisioning/
     * regress_utf8_cut.json: "%.40s" split a 2-byte character), and the
     * error is UTF-8 whatever the file held. */
    static const struct {
        const char *doc, *err;
    } quoted[] = {
        {"{\"\u00fcs"
         "UUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUU"
         "\u00fc\u00fcs\":[]}",
         "$: unknown field \"\xc3\xbcs"
         "UUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUUU"
         "...\""},
        {"{\"orgs\":[{\"id\":\"o\",\"plan\":\""
         "\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac"
         "\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\u20ac\"}]}",
         "orgs[0]: plan must be free, pro, business or enterprise, not \""
         "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
         "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
         "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac...\""},
    };
    for (size_t i = 0; i < sizeof quoted / sizeof *quoted; i++) {
        char err[512] = "";
        json_t *doc = json_loads(quoted[i].doc, 0, NULL);
        CHECK(doc && od_provisioning_check(doc, known_trunk, NULL, err, sizeof err) == -1,
              "quoted %zu refused", i);
        CHECK(!strcmp(err, quoted[i].err), "quoted %zu: got \"%s\", want \"%s\"", i, err,
              quoted[i].err);
        CHECK(od_utf8_valid(err, strlen(err)), "quoted %zu: UTF-8", i);
        json_decref(doc);
    }

    CHECK(od_plan_cap("free") == 1 && od_plan_cap("pro") == 10 && od_plan_cap("business") == 50 &&
              od_plan_cap("enterprise") == -1 && od_plan_cap("gold") == -2,
          "plan caps");
    return CHECK_DONE();
}
