/* Provisioning file checks (see provisioning.h). Each check_* returns 0 or
 * -1 after writing "path: reason" into the error buffer. */
#include "domain/provisioning.h"
#include "core/utf8.h"
#include "domain/e164.h"
#include "webhook/sign.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    char *err;
    size_t cap;
} perr_t;

__attribute__((format(printf, 3, 4))) static int bad(perr_t *e, const char *path, const char *fmt,
                                                     ...) {
    char msg[256], text[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(text, sizeof text, "%s: %s", path, msg);
    /* UTF-8 whatever the file held, cut between characters */
    od_utf8_clip(e->err, e->cap, text, strlen(text), 0);
    return -1;
}

/* A value quoted in an error: at most 40 bytes of it, cut between
 * characters, "..." marking a cut ("%.40s" could split a character). */
#define QUOTE 44
static const char *quote(char q[QUOTE], const char *s) {
    od_utf8_clip(q, QUOTE, s, strlen(s), 0);
    return q;
}

int od_plan_cap(const char *plan) {
    if (!plan) return -2;
    if (!strcmp(plan, "free")) return 1;
    if (!strcmp(plan, "pro")) return 10;
    if (!strcmp(plan, "business")) return 50;
    if (!strcmp(plan, "enterprise")) return -1;
    return -2;
}

/* Checks that object `o` at `path` has only the keys in `allowed`. */
static int only_keys(perr_t *e, const char *path, const json_t *o, const char *const *allowed) {
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        const char *const *a = allowed;
        while (*a && strcmp(*a, k))
            a++;
        if (!*a) {
            char q[QUOTE];
            return bad(e, path, "unknown field \"%s\"", quote(q, k));
        }
    }
    return 0;
}

/* `required`: REQUIRED, OPTIONAL (absent: left as it is), or NULLABLE
 * (optional, and an explicit null clears it; see docs/provisioning.md). */
enum { OPTIONAL, REQUIRED, NULLABLE };

static int null_ok(perr_t *e, const char *p, const json_t *v, int required) {
    if (!json_is_null(v) || required == NULLABLE) return 0;
    return bad(e, p,
               required == REQUIRED ? "is required (null is not a value)"
                                    : "cannot be null: leave it out to keep it as it is");
}

static int str_field(perr_t *e, const char *path, const json_t *o, const char *key, int required,
                     const char **out) {
    char p[256];
    json_t *v = json_object_get(o, key);
    snprintf(p, sizeof p, "%s.%s", path, key);
    *out = NULL;
    if (!v) return required == REQUIRED ? bad(e, p, "is required") : 0;
    if (json_is_null(v)) return null_ok(e, p, v, required);
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 256)
        return bad(e, p, "must be a string of 1 to 256 characters");
    *out = json_string_value(v);
    return 0;
}

/* An identifier requests name (org, agent, trunk ids): like a string
 * field, and with no control character, which no request could carry. */
static int id_field(perr_t *e, const char *path, const json_t *o, const char *key,
                    const char **out) {
    if (str_field(e, path, o, key, 1, out)) return -1;
    for (const unsigned char *p = (const unsigned char *)*out; *p; p++)
        if (*p < 0x20 || *p == 0x7f) {
            char pk[256];
            snprintf(pk, sizeof pk, "%s.%s", path, key);
            return bad(e, pk, "must not contain control characters");
        }
    return 0;
}

/* An http(s) URL with nothing that could break the request line. */
static int http_url(const char *url) {
    if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) return 0;
    for (const unsigned char *p = (const unsigned char *)url; *p; p++)
        if (*p <= 0x20 || *p == 0x7f) return 0;
    return 1;
}

static int int_field(perr_t *e, const char *path, const json_t *o, const char *key, int required,
                     long lo, long hi) {
    char p[256];
    json_t *v = json_object_get(o, key);
    snprintf(p, sizeof p, "%s.%s", path, key);
    if (!v) return required == REQUIRED ? bad(e, p, "is required") : 0;
    if (json_is_null(v)) return null_ok(e, p, v, required);
    if (!json_is_integer(v)) return bad(e, p, "must be a whole number");
    if (json_integer_value(v) < lo || json_integer_value(v) > hi)
        return bad(e, p, "must be between %ld and %ld", lo, hi);
    return 0;
}

/* A sip: or sips: URI that can go between < and > in a SIP header as it
 * is: no control character, space, quote or angle bracket. */
static int sip_uri(perr_t *e, const char *path, const char *key, const char *s) {
    if (!s) return 0;
    if (strncmp(s, "sip:", 4) && strncmp(s, "sips:", 5))
        return bad(e, path, "%s must be a sip: or sips: URI", key);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>' || *p == '"')
            return bad(e, path, "%s must not contain spaces, control characters, quotes or < >",
                       key);
    return 0;
}

/* Finds `id` among the "id" fields of array `arr` before index `before`. */
static int seen_id(const json_t *arr, size_t before, const char *key, const char *id) {
    for (size_t i = 0; i < before; i++) {
        const char *x = json_string_value(json_object_get(json_array_get(arr, i), key));
        if (x && !strcmp(x, id)) return 1;
    }
    return 0;
}

static int array_of_objects(perr_t *e, const char *path, const json_t *v) {
    if (v && !json_is_array(v)) return bad(e, path, "must be an array");
    size_t i;
    json_t *x;
    json_array_foreach((json_t *)v, i, x) {
        if (!json_is_object(x)) {
            char p[256];
            snprintf(p, sizeof p, "%s[%zu]", path, i);
            return bad(e, p, "must be an object");
        }
    }
    return 0;
}

/* A string field that must be one of `allowed` (NULL-terminated). */
static int enum_field(perr_t *e, const char *path, const json_t *o, const char *key,
                      const char *const *allowed, const char **out) {
    if (str_field(e, path, o, key, NULLABLE, out)) return -1;
    if (!*out) return 0;
    for (const char *const *a = allowed; *a; a++)
        if (!strcmp(*out, *a)) return 0;
    char q[QUOTE];
    return bad(e, path, "%s must be %s%s%s%s%s, not \"%s\"", key, allowed[0],
               allowed[1] ? (allowed[2] ? ", " : " or ") : "", allowed[1] ? allowed[1] : "",
               allowed[1] && allowed[2] ? " or " : "", allowed[1] && allowed[2] ? allowed[2] : "",
               quote(q, *out));
}

static int bool_field(perr_t *e, const char *path, const json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    if (v && !json_is_boolean(v) && !json_is_null(v))
        return bad(e, path, "%s must be true, false or null (the default, false)", key);
    return 0;
}

static const char *const TRANSPORTS[] = {"udp", "tcp", "tls", NULL};

static int check_trunks(perr_t *e, const json_t *trunks) {
    static const char *const keys[] = {
        "id",        "proxy",          "username",  "password",         "cps", "max_concurrent",
        "transport", "outbound_proxy", "caller_id", "follow_redirects", NULL};
    static const char *const caller_ids[] = {"from", "pai", "ppi", NULL};
    size_t i;
    json_t *t;
    if (array_of_objects(e, "trunks", trunks)) return -1;
    json_array_foreach((json_t *)trunks, i, t) {
        char p[64];
        const char *id, *proxy, *s, *user, *obp, *cid;
        snprintf(p, sizeof p, "trunks[%zu]", i);
        if (only_keys(e, p, t, keys) || id_field(e, p, t, "id", &id) ||
            str_field(e, p, t, "proxy", REQUIRED, &proxy) || sip_uri(e, p, "proxy", proxy) ||
            str_field(e, p, t, "username", NULLABLE, &user) ||
            str_field(e, p, t, "password", NULLABLE, &s) ||
            int_field(e, p, t, "cps", NULLABLE, 1, 10000) ||
            int_field(e, p, t, "max_concurrent", NULLABLE, 1, 1000000) ||
            enum_field(e, p, t, "transport", TRANSPORTS, &s) ||
            str_field(e, p, t, "outbound_proxy", NULLABLE, &obp) ||
            sip_uri(e, p, "outbound_proxy", obp) ||
            enum_field(e, p, t, "caller_id", caller_ids, &cid) ||
            bool_field(e, p, t, "follow_redirects"))
            return -1;
        if (cid && strcmp(cid, "from") && !user)
            return bad(e, p, "caller_id \"%s\" puts the username in From: give a username", cid);
        if (seen_id(trunks, i, "id", id)) return bad(e, p, "trunk \"%s\" is listed twice", id);
    }
    return 0;
}

static int check_rates(perr_t *e, const json_t *rates) {
    static const char *const keys[] = {"prefix", "millicents_per_minute", "increment_seconds",
                                       NULL};
    size_t i;
    json_t *r;
    if (array_of_objects(e, "rates", rates)) return -1;
    json_array_foreach((json_t *)rates, i, r) {
        char p[64];
        const char *prefix;
        snprintf(p, sizeof p, "rates[%zu]", i);
        if (only_keys(e, p, r, keys) || str_field(e, p, r, "prefix", REQUIRED, &prefix) ||
            int_field(e, p, r, "millicents_per_minute", REQUIRED, 0, 100000000) ||
            int_field(e, p, r, "increment_seconds", NULLABLE, 1, 3600))
            return -1;
        size_t n = strlen(prefix);
        if (prefix[0] != '+' || n < 2 || n > 16 || strspn(prefix + 1, "0123456789") != n - 1)
            return bad(e, p, "prefix must be '+' followed by 1 to 15 digits");
        if (seen_id(rates, i, "prefix", prefix))
            return bad(e, p, "prefix \"%s\" is listed twice", prefix);
    }
    return 0;
}

static int in_trunks(const json_t *trunks, const char *id) {
    return seen_id(trunks, json_array_size(trunks), "id", id);
}

static int check_org(perr_t *e, const char *p, const json_t *org, const json_t *trunks,
                     int (*trunk_exists)(const char *, void *), void *ctx) {
    static const char *const keys[] = {"id",
                                       "plan",
                                       "max_concurrent",
                                       "balance_millicents",
                                       "webhook_url",
                                       "webhook_secret",
                                       "webhook_secret_previous",
                                       "numbers",
                                       "agents",
                                       NULL};
    static const char *const nkeys[] = {"e164", "trunk", "outbound_enabled", NULL};
    static const char *const akeys[] = {
        "id",        "sip_uri",  "default_from", "max_duration_seconds",
        "transport", "username", "password",     NULL};
    const char *id, *plan, *url, *s = NULL, *prev = NULL;
    if (only_keys(e, p, org, keys) || id_field(e, p, org, "id", &id) ||
        str_field(e, p, org, "plan", REQUIRED, &plan) ||
        int_field(e, p, org, "max_concurrent", NULLABLE, 0, 1000000) ||
        str_field(e, p, org, "webhook_url", NULLABLE, &url) ||
        str_field(e, p, org, "webhook_secret", NULLABLE, &s) ||
        str_field(e, p, org, "webhook_secret_previous", NULLABLE, &prev))
        return -1;
    const char *why = s ? od_webhook_secret_problem(s) : NULL;
    if (why) return bad(e, p, "webhook_secret %s", why);
    why = prev ? od_webhook_secret_problem(prev) : NULL;
    if (why) return bad(e, p, "webhook_secret_previous %s", why);
    /* The grant is a running total: null would not say what it becomes. */
    char sub[128];
    snprintf(sub, sizeof sub, "%s.balance_millicents", p);
    if (json_is_null(json_object_get(org, "balance_millicents")))
        return bad(e, sub,
                   "cannot be null: it is the total credit granted; leave it out to keep it,"
                   " or give the new total (0 takes back all unspent credit)");
    if (int_field(e, p, org, "balance_millicents", OPTIONAL, 0, (long)1 << 53)) return -1;
    char q[QUOTE];
    if (od_plan_cap(plan) == -2)
        return bad(e, p, "plan must be free, pro, business or enterprise, not \"%s\"",
                   quote(q, plan));
    if (url && !http_url(url))
        return bad(e, p, "webhook_url must be an http(s) URL without spaces or control characters");
    const json_t *numbers = json_object_get(org, "numbers"),
                 *agents = json_object_get(org, "agents");
    snprintf(sub, sizeof sub, "%s.numbers", p);
    if (array_of_objects(e, sub, numbers)) return -1;
    size_t i;
    json_t *x;
    json_array_foreach((json_t *)numbers, i, x) {
        const char *num, *trunk;
        snprintf(sub, sizeof sub, "%s.numbers[%zu]", p, i);
        if (only_keys(e, sub, x, nkeys) || str_field(e, sub, x, "e164", REQUIRED, &num) ||
            str_field(e, sub, x, "trunk", REQUIRED, &trunk))
            return -1;
        if (!od_e164_valid(num))
            return bad(e, sub, "e164 \"%s\" is not an E.164 number", quote(q, num));
        json_t *ob = json_object_get(x, "outbound_enabled");
        if (ob && !json_is_boolean(ob) && !json_is_null(ob))
            return bad(e, sub, "outbound_enabled must be true, false or null (the default, true)");
        if (seen_id(numbers, i, "e164", num)) return bad(e, sub, "%s is listed twice", num);
        if (!in_trunks(trunks, trunk) && !(trunk_exists && trunk_exists(trunk, ctx)))
            return bad(e, sub, "trunk \"%s\" is not defined", quote(q, trunk));
    }
    snprintf(sub, sizeof sub, "%s.agents", p);
    if (array_of_objects(e, sub, agents)) return -1;
    json_array_foreach((json_t *)agents, i, x) {
        const char *aid, *uri, *from;
        snprintf(sub, sizeof sub, "%s.agents[%zu]", p, i);
        if (only_keys(e, sub, x, akeys) || id_field(e, sub, x, "id", &aid) ||
            str_field(e, sub, x, "sip_uri", REQUIRED, &uri) || sip_uri(e, sub, "sip_uri", uri) ||
            str_field(e, sub, x, "default_from", NULLABLE, &from) ||
            int_field(e, sub, x, "max_duration_seconds", NULLABLE, 1, 14400) ||
            enum_field(e, sub, x, "transport", TRANSPORTS, &s) ||
            str_field(e, sub, x, "username", NULLABLE, &s) ||
            str_field(e, sub, x, "password", NULLABLE, &s))
            return -1;
        if (from && !seen_id(numbers, json_array_size(numbers), "e164", from))
            return bad(e, sub, "default_from %s is not one of the org's numbers", quote(q, from));
        if (seen_id(agents, i, "id", aid)) return bad(e, sub, "agent \"%s\" is listed twice", aid);
    }
    return 0;
}

int od_provisioning_check(const json_t *doc, int (*trunk_exists)(const char *, void *), void *ctx,
                          char *err, size_t err_size) {
    static const char *const keys[] = {"trunks", "rates", "orgs", NULL};
    perr_t e = {err, err_size};
    if (!json_is_object(doc)) return bad(&e, "$", "must be a JSON object");
    if (only_keys(&e, "$", doc, keys)) return -1;
    const json_t *trunks = json_object_get(doc, "trunks"), *orgs = json_object_get(doc, "orgs");
    if (check_trunks(&e, trunks) || check_rates(&e, json_object_get(doc, "rates"))) return -1;
    if (array_of_objects(&e, "orgs", orgs)) return -1;
    size_t i;
    json_t *org;
    json_array_foreach((json_t *)orgs, i, org) {
        char p[64];
        snprintf(p, sizeof p, "orgs[%zu]", i);
        if (check_org(&e, p, org, trunks, trunk_exists, ctx)) return -1;
        const char *id = json_string_value(json_object_get(org, "id"));
        if (seen_id(orgs, i, "id", id)) return bad(&e, p, "org \"%s\" is listed twice", id);
    }
    return 0;
}
