/* Provisioning files (lib/domain/provisioning.c), as `outdialctl apply`
 * reads them. Input: the file. Checked: od_provisioning_check either
 * accepts, and then what apply writes holds (ids without control
 * characters, E.164 numbers, http(s) webhook URLs without spaces or control
 * characters, known plans, rate prefixes of '+' and digits), or refuses
 * with "path: reason", NUL-terminated, UTF-8, within its buffer. Numbers
 * may name the trunk "existing" as if the database had it. */
#include "core/utf8.h"
#include "domain/e164.h"
#include "domain/provisioning.h"
#include "fuzz.h"

#include <string.h>

static int trunk_exists(const char *id, void *ctx) { return !strcmp(id, "existing"); }

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    json_object_seed(1);
    return 0;
}

static void no_control(const char *what, const char *s) {
    FUZZ_CHECK(s && *s, "%s missing or empty in an accepted file", what);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        FUZZ_CHECK(*p >= 0x20 && *p != 0x7f, "%s with a control character accepted", what);
}

static const char *s_of(const json_t *o, const char *k) {
    return json_string_value(json_object_get(o, k));
}

static void check_accepted(const json_t *doc) {
    size_t i, j;
    json_t *x, *y;
    json_array_foreach(json_object_get(doc, "trunks"), i, x) no_control("trunk id", s_of(x, "id"));
    json_array_foreach(json_object_get(doc, "rates"), i, x) {
        const char *p = s_of(x, "prefix");
        FUZZ_CHECK(p && p[0] == '+' && p[1] && strspn(p + 1, "0123456789") == strlen(p + 1),
                   "rate prefix \"%s\" accepted", p ? p : "(null)");
    }
    json_array_foreach(json_object_get(doc, "orgs"), i, x) {
        no_control("org id", s_of(x, "id"));
        FUZZ_CHECK(od_plan_cap(s_of(x, "plan")) != -2, "unknown plan accepted");
        const char *url = s_of(x, "webhook_url");
        if (url) {
            FUZZ_CHECK(!strncmp(url, "http://", 7) || !strncmp(url, "https://", 8),
                       "webhook_url \"%s\" accepted", url);
            for (const unsigned char *p = (const unsigned char *)url; *p; p++)
                FUZZ_CHECK(*p > 0x20 && *p != 0x7f, "webhook_url with a space or control");
        }
        json_array_foreach(json_object_get(x, "numbers"), j, y) {
            const char *n = s_of(y, "e164");
            FUZZ_CHECK(n && od_e164_valid(n), "number \"%s\" accepted", n ? n : "(null)");
        }
        json_array_foreach(json_object_get(x, "agents"), j, y) {
            no_control("agent id", s_of(y, "id"));
            const char *u = s_of(y, "sip_uri");
            FUZZ_CHECK(u && (!strncmp(u, "sip:", 4) || !strncmp(u, "sips:", 5)),
                       "agent sip_uri accepted");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!doc) return 0;
    char err[1024 + 1];
    memset(err, 0x5a, sizeof err);
    int rc = od_provisioning_check(doc, trunk_exists, NULL, err, sizeof err - 1);
    FUZZ_CHECK(rc == 0 || rc == -1, "returned %d", rc);
    FUZZ_CHECK(err[sizeof err - 1] == 0x5a, "wrote past the error buffer");
    if (rc == 0) {
        check_accepted(doc);
    } else {
        size_t n = strnlen(err, sizeof err - 1);
        FUZZ_CHECK(n < sizeof err - 1, "error not NUL-terminated");
        FUZZ_CHECK(strstr(err, ": ") && strchr("$tro", err[0]), "error without a path: %s", err);
        FUZZ_CHECK(od_utf8_valid(err, n), "error is not UTF-8: %s", err);
    }
    json_decref(doc);
    return 0;
}
