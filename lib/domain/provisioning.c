/* Provisioning file checks (see provisioning.h). Each check_* returns 0 or
 * -1 after writing "path: reason" into the error buffer. */
#include "domain/provisioning.h"
#include "domain/e164.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    char *err;
    size_t cap;
} perr_t;

__attribute__((format(printf, 3, 4))) static int bad(perr_t *e, const char *path, const char *fmt,
                                                     ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(e->err, e->cap, "%s: %s", path, msg);
    return -1;
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
        if (!*a) return bad(e, path, "unknown field \"%.40s\"", k);
    }
    return 0;
}

static int str_field(perr_t *e, const char *path, const json_t *o, const char *key, int required,
                     const char **out) {
    char p[256];
    json_t *v = json_object_get(o, key);
    snprintf(p, sizeof p, "%s.%s", path, key);
    *out = NULL;
    if (!v) return required ? bad(e, p, "is required") : 0;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 256)
        return bad(e, p, "must be a string of 1 to 256 characters");
    *out = json_string_value(v);
    return 0;
}

static int int_field(perr_t *e, const char *path, const json_t *o, const char *key, int required,
                     long lo, long hi) {
    char p[256];
    json_t *v = json_object_get(o, key);
    snprintf(p, sizeof p, "%s.%s", path, key);
    if (!v) return required ? bad(e, p, "is required") : 0;
    if (!json_is_integer(v)) return bad(e, p, "must be a whole number");
    if (json_integer_value(v) < lo || json_integer_value(v) > hi)
        return bad(e, p, "must be between %ld and %ld", lo, hi);
    return 0;
}

static int sip_uri(perr_t *e, const char *path, const char *key, const char *s) {
    if (s && strncmp(s, "sip:", 4) && strncmp(s, "sips:", 5))
        return bad(e, path, "%s must be a sip: or sips: URI", key);
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

static int check_trunks(perr_t *e, const json_t *trunks) {
    static const char *const keys[] = {"id",  "proxy",          "username", "password",
                                       "cps", "max_concurrent", NULL};
    size_t i;
    json_t *t;
    if (array_of_objects(e, "trunks", trunks)) return -1;
    json_array_foreach((json_t *)trunks, i, t) {
        char p[64];
        const char *id, *proxy, *s;
        snprintf(p, sizeof p, "trunks[%zu]", i);
        if (only_keys(e, p, t, keys) || str_field(e, p, t, "id", 1, &id) ||
            str_field(e, p, t, "proxy", 1, &proxy) || sip_uri(e, p, "proxy", proxy) ||
            str_field(e, p, t, "username", 0, &s) || str_field(e, p, t, "password", 0, &s) ||
            int_field(e, p, t, "cps", 0, 1, 10000) ||
            int_field(e, p, t, "max_concurrent", 0, 1, 1000000))
            return -1;
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
        if (only_keys(e, p, r, keys) || str_field(e, p, r, "prefix", 1, &prefix) ||
            int_field(e, p, r, "millicents_per_minute", 1, 0, 100000000) ||
            int_field(e, p, r, "increment_seconds", 0, 1, 3600))
            return -1;
        size_t n = strlen(prefix);
        if (prefix[0] != '+' || n > 16 || strspn(prefix + 1, "0123456789") != n - 1)
            return bad(e, p, "prefix must be '+' followed by up to 15 digits");
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
    static const char *const keys[] = {
        "id",          "plan",           "max_concurrent", "balance_millicents",
        "webhook_url", "webhook_secret", "numbers",        "agents",
        NULL};
    static const char *const nkeys[] = {"e164", "trunk", "outbound_enabled", NULL};
    static const char *const akeys[] = {"id", "sip_uri", "default_from", "max_duration_seconds",
                                        NULL};
    const char *id, *plan, *url, *s;
    if (only_keys(e, p, org, keys) || str_field(e, p, org, "id", 1, &id) ||
        str_field(e, p, org, "plan", 1, &plan) ||
        int_field(e, p, org, "max_concurrent", 0, 0, 1000000) ||
        int_field(e, p, org, "balance_millicents", 0, 0, (long)1 << 53) ||
        str_field(e, p, org, "webhook_url", 0, &url) ||
        str_field(e, p, org, "webhook_secret", 0, &s))
        return -1;
    if (od_plan_cap(plan) == -2)
        return bad(e, p, "plan must be free, pro, business or enterprise, not \"%.40s\"", plan);
    if (url && strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
        return bad(e, p, "webhook_url must be an http(s) URL");
    char sub[128];
    const json_t *numbers = json_object_get(org, "numbers"),
                 *agents = json_object_get(org, "agents");
    snprintf(sub, sizeof sub, "%s.numbers", p);
    if (array_of_objects(e, sub, numbers)) return -1;
    size_t i;
    json_t *x;
    json_array_foreach((json_t *)numbers, i, x) {
        const char *num, *trunk;
        snprintf(sub, sizeof sub, "%s.numbers[%zu]", p, i);
        if (only_keys(e, sub, x, nkeys) || str_field(e, sub, x, "e164", 1, &num) ||
            str_field(e, sub, x, "trunk", 1, &trunk))
            return -1;
        if (!od_e164_valid(num)) return bad(e, sub, "e164 \"%.40s\" is not an E.164 number", num);
        json_t *ob = json_object_get(x, "outbound_enabled");
        if (ob && !json_is_boolean(ob))
            return bad(e, sub, "outbound_enabled must be true or false");
        if (seen_id(numbers, i, "e164", num)) return bad(e, sub, "%s is listed twice", num);
        if (!in_trunks(trunks, trunk) && !(trunk_exists && trunk_exists(trunk, ctx)))
            return bad(e, sub, "trunk \"%.64s\" is not defined", trunk);
    }
    snprintf(sub, sizeof sub, "%s.agents", p);
    if (array_of_objects(e, sub, agents)) return -1;
    json_array_foreach((json_t *)agents, i, x) {
        const char *aid, *uri, *from;
        snprintf(sub, sizeof sub, "%s.agents[%zu]", p, i);
        if (only_keys(e, sub, x, akeys) || str_field(e, sub, x, "id", 1, &aid) ||
            str_field(e, sub, x, "sip_uri", 1, &uri) || sip_uri(e, sub, "sip_uri", uri) ||
            str_field(e, sub, x, "default_from", 0, &from) ||
            int_field(e, sub, x, "max_duration_seconds", 0, 1, 14400))
            return -1;
        if (from && !seen_id(numbers, json_array_size(numbers), "e164", from))
            return bad(e, sub, "default_from %.40s is not one of the org's numbers", from);
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
