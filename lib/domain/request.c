/* Request validation (see request.h). Checks run in the order of the public
 * codes' precedence: the shape of the message (INVALID_REQUEST, then
 * INVALID_PHONE_NUMBER), then provisioning (ORG_NOT_FOUND, AGENT_NOT_FOUND,
 * NUMBER_NOT_OWNED, OUTBOUND_DISABLED). The first failure wins. */
#include "domain/request.h"
#include "core/clock.h"
#include "core/utf8.h"
#include "crypto/crypto.h"
#include "domain/e164.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *od_reject_code(od_reject_t r) {
    static const char *const names[] = {NULL,
                                        "INVALID_REQUEST",
                                        "INVALID_PHONE_NUMBER",
                                        "ORG_NOT_FOUND",
                                        "NUMBER_NOT_OWNED",
                                        "OUTBOUND_DISABLED",
                                        "AGENT_NOT_FOUND",
                                        "INSUFFICIENT_BALANCE"};
    return (unsigned)r < sizeof names / sizeof *names ? names[r] : NULL;
}

/* The text of a rejection is well-formed UTF-8 whatever went into it (it
 * goes into the database and an event): formatted in full, then cut on a
 * character boundary; a byte that is not UTF-8 shows as "\xNN". */
__attribute__((format(printf, 3, 4))) static int fail(od_request_t *req, od_reject_t code,
                                                      const char *fmt, ...) {
    if (req->reject) return -1;
    req->reject = code;
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    od_utf8_clip(req->error, sizeof req->error, text, strlen(text), 0);
    return -1;
}

/* A value quoted in a rejection: at most about `cap` - 4 bytes of it, cut
 * between characters, "..." marking a cut. */
#define QUOTE_SHORT 44 /* 40 bytes */
#define QUOTE_LONG 68  /* 64 bytes */
static const char *quote(char *buf, size_t cap, const char *s) {
    od_utf8_clip(buf, cap, s, strlen(s), 0);
    return buf;
}

/* An identifier: a string of 1..max bytes with no control characters. */
static int check_id(od_request_t *req, const char *field, json_t *v, size_t max, const char **out) {
    if (!v) return fail(req, OD_REJ_INVALID_REQUEST, "%s is required", field);
    if (!json_is_string(v)) return fail(req, OD_REJ_INVALID_REQUEST, "%s must be a string", field);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n > max)
        return fail(req, OD_REJ_INVALID_REQUEST, "%s must be 1 to %zu characters", field, max);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return fail(req, OD_REJ_INVALID_REQUEST, "%s contains a control character", field);
    *out = s;
    return 0;
}

static int check_int(od_request_t *req, const char *field, json_t *v, long lo, long hi, int *out) {
    if (!v) return 0;
    if (!json_is_integer(v))
        return fail(req, OD_REJ_INVALID_REQUEST, "%s must be a whole number", field);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return fail(req, OD_REJ_INVALID_REQUEST, "%s must be between %ld and %ld", field, lo, hi);
    *out = (int)x;
    return 0;
}

static int check_phone(od_request_t *req, const char *field, json_t *v, int required,
                       const char **out) {
    if (!v) return required ? fail(req, OD_REJ_INVALID_REQUEST, "%s is required", field) : 0;
    if (!json_is_string(v)) return fail(req, OD_REJ_INVALID_REQUEST, "%s must be a string", field);
    *out = json_string_value(v);
    char q[QUOTE_SHORT];
    if (!od_e164_valid(*out))
        return fail(req, OD_REJ_INVALID_PHONE_NUMBER, "%s \"%s\" is not an E.164 number", field,
                    quote(q, sizeof q, *out));
    return 0;
}

static int check_object(od_request_t *req, const char *field, json_t *v, size_t max_bytes) {
    if (!v) return 0;
    if (!json_is_object(v)) return fail(req, OD_REJ_INVALID_REQUEST, "%s must be an object", field);
    size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT);
    if (n > max_bytes)
        return fail(req, OD_REJ_INVALID_REQUEST, "%s is larger than %zu bytes", field, max_bytes);
    return 0;
}

static int check_time(od_request_t *req, const char *field, json_t *v, int64_t *out) {
    int64_t ms;
    if (!v) return 0;
    if (!json_is_string(v) || od_clock_parse_rfc3339(json_string_value(v), &ms))
        return fail(req, OD_REJ_INVALID_REQUEST, "%s must be an RFC 3339 date-time with a zone",
                    field);
    /* PostgreSQL has no year 0, and the timestamps outdial writes have four
     * digits of year: in UTC, 0001-01-01 to 9999-12-31. */
    if (!od_clock_storable(ms))
        return fail(req, OD_REJ_INVALID_REQUEST,
                    "%s must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z", field);
    *out = ms;
    return 0;
}

static int check_url(od_request_t *req, json_t *v) {
    if (!v) return 0;
    const char *s = json_string_value(v);
    if (!s || (strncmp(s, "http://", 7) && strncmp(s, "https://", 8)) || strlen(s) > 2048 ||
        strlen(s) < 10)
        return fail(req, OD_REJ_INVALID_REQUEST, "webhook_url must be an http(s) URL");
    /* CR/LF would split the HTTP request line; no URL has spaces either */
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return fail(req, OD_REJ_INVALID_REQUEST,
                        "webhook_url must not contain spaces or control characters");
    return 0;
}

/* retry: {"max_attempts":1..10,"delay_seconds":0..86400,
 *         "on":["no_answer","busy","carrier_busy"]} */
static int check_retry(od_request_t *req, json_t *v) {
    if (!v) return 0;
    if (!json_is_object(v)) return fail(req, OD_REJ_INVALID_REQUEST, "retry must be an object");
    const char *k;
    json_t *x;
    int dummy;
    json_object_foreach(v, k, x) {
        if (!strcmp(k, "max_attempts")) {
            if (check_int(req, "retry.max_attempts", x, 1, 10, &dummy)) return -1;
        } else if (!strcmp(k, "delay_seconds")) {
            if (check_int(req, "retry.delay_seconds", x, 0, 86400, &dummy)) return -1;
        } else if (!strcmp(k, "on")) {
            size_t i;
            json_t *e;
            if (!json_is_array(x))
                return fail(req, OD_REJ_INVALID_REQUEST, "retry.on must be an array");
            json_array_foreach(x, i, e) {
                const char *s = json_string_value(e);
                if (!s ||
                    (strcmp(s, "no_answer") && strcmp(s, "busy") && strcmp(s, "carrier_busy")))
                    return fail(
                        req, OD_REJ_INVALID_REQUEST,
                        "retry.on may list only \"no_answer\", \"busy\" and \"carrier_busy\"");
            }
        } else {
            char q[QUOTE_SHORT];
            return fail(req, OD_REJ_INVALID_REQUEST, "retry has an unknown field \"%s\"",
                        quote(q, sizeof q, k));
        }
    }
    return 0;
}

static const char *const request_fields[] = {"action",
                                             "request_id",
                                             "org_id",
                                             "agent_id",
                                             "to_number",
                                             "from_number",
                                             "metadata",
                                             "context",
                                             "instructions",
                                             "ringing_timeout_seconds",
                                             "max_duration_seconds",
                                             "not_before",
                                             "expires_at",
                                             "webhook_url",
                                             "retry",
                                             NULL};

static int known_field(const char *k, const char *const *list) {
    for (; *list; list++)
        if (!strcmp(k, *list)) return 1;
    return 0;
}

static void parse_request(od_request_t *req) {
    json_t *r = req->root;
    const char *k;
    json_t *v;
    json_object_foreach(r, k, v) {
        if (!known_field(k, request_fields)) {
            char q[QUOTE_SHORT];
            fail(req, OD_REJ_INVALID_REQUEST, "unknown field \"%s\"", quote(q, sizeof q, k));
            return;
        }
    }
    req->ringing_timeout_s = OD_RINGING_TIMEOUT_DEFAULT;
    if (check_id(req, "request_id", json_object_get(r, "request_id"), 128, &req->request_id) ||
        check_id(req, "agent_id", json_object_get(r, "agent_id"), 128, &req->agent_id) ||
        check_object(req, "metadata", json_object_get(r, "metadata"), 16384) ||
        check_object(req, "context", json_object_get(r, "context"), 65536) ||
        check_int(req, "ringing_timeout_seconds", json_object_get(r, "ringing_timeout_seconds"), 5,
                  80, &req->ringing_timeout_s) ||
        check_int(req, "max_duration_seconds", json_object_get(r, "max_duration_seconds"), 1,
                  OD_MAX_DURATION_CEILING, &req->max_duration_s) ||
        check_time(req, "not_before", json_object_get(r, "not_before"), &req->not_before_ms) ||
        check_time(req, "expires_at", json_object_get(r, "expires_at"), &req->expires_at_ms) ||
        check_url(req, json_object_get(r, "webhook_url")) ||
        check_retry(req, json_object_get(r, "retry")))
        return;
    json_t *ins = json_object_get(r, "instructions");
    if (ins && (!json_is_string(ins) || json_string_length(ins) > 32768)) {
        fail(req, OD_REJ_INVALID_REQUEST, "instructions must be a string of at most 32768 bytes");
        return;
    }
    if (req->not_before_ms != OD_TIME_ABSENT && req->expires_at_ms != OD_TIME_ABSENT &&
        req->expires_at_ms <= req->not_before_ms) {
        fail(req, OD_REJ_INVALID_REQUEST, "expires_at must be later than not_before");
        return;
    }
    req->metadata = json_object_get(r, "metadata");
    if (check_phone(req, "to_number", json_object_get(r, "to_number"), 1, &req->to_number)) return;
    check_phone(req, "from_number", json_object_get(r, "from_number"), 0, &req->from_number);
}

static void parse_cancel(od_request_t *req) {
    const char *k;
    json_t *v;
    req->kind = OD_MSG_CANCEL;
    json_object_foreach(req->root, k, v) {
        if (strcmp(k, "action") && strcmp(k, "org_id") && strcmp(k, "request_id")) {
            char q[QUOTE_SHORT];
            fail(req, OD_REJ_INVALID_REQUEST, "a cancel has an unknown field \"%s\"",
                 quote(q, sizeof q, k));
            return;
        }
    }
    check_id(req, "request_id", json_object_get(req->root, "request_id"), 128, &req->request_id);
}

void od_request_parse(od_request_t *req, const char *buf, size_t len) {
    memset(req, 0, sizeof *req);
    req->kind = OD_MSG_REQUEST;
    req->not_before_ms = req->expires_at_ms = OD_TIME_ABSENT;
    if (!buf || len == 0) {
        fail(req, OD_REJ_INVALID_REQUEST, "empty message");
        return;
    }
    if (len > OD_REQUEST_MAX_BYTES) {
        fail(req, OD_REJ_INVALID_REQUEST, "message is larger than %d bytes", OD_REQUEST_MAX_BYTES);
        return;
    }
    /* jansson lets a NUL pass after a number ({"a":1\0}); PostgreSQL's
     * json would refuse the request as stored, so it is refused here, with
     * a reason. */
    const char *nul = memchr(buf, 0, len);
    if (nul) {
        fail(req, OD_REJ_INVALID_REQUEST, "not JSON: a NUL byte at byte %zu", (size_t)(nul - buf));
        return;
    }
    json_error_t jerr;
    req->root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!req->root) {
        fail(req, OD_REJ_INVALID_REQUEST, "not JSON: %s at byte %d", jerr.text, jerr.position);
        return;
    }
    if (!json_is_object(req->root)) {
        fail(req, OD_REJ_INVALID_REQUEST, "not a request: the value must be a JSON object");
        return;
    }
    /* org_id first, so that every later rejection can name the tenant. */
    if (check_id(req, "org_id", json_object_get(req->root, "org_id"), 128, &req->org_id)) {
        req->org_id = NULL;
        json_t *rid = json_object_get(req->root, "request_id");
        if (json_is_string(rid)) req->request_id = json_string_value(rid);
        return;
    }
    json_t *action = json_object_get(req->root, "action");
    if (action) {
        const char *a = json_string_value(action);
        if (a && !strcmp(a, "cancel")) {
            parse_cancel(req);
            return;
        }
        if (!a || strcmp(a, "call")) {
            fail(req, OD_REJ_INVALID_REQUEST, "action must be \"call\" or \"cancel\"");
            return;
        }
    }
    parse_request(req);
}

void od_request_resolve(od_request_t *req, const json_t *prov) {
    if (req->reject || req->kind != OD_MSG_REQUEST) return;
    char org_q[QUOTE_LONG], agent_q[QUOTE_LONG];
    quote(org_q, sizeof org_q, req->org_id);
    quote(agent_q, sizeof agent_q, req->agent_id);
    json_t *org = json_object_get(json_object_get(prov, "orgs"), req->org_id);
    if (!org) {
        fail(req, OD_REJ_ORG_NOT_FOUND, "org \"%s\" is not provisioned", org_q);
        return;
    }
    json_t *agent = json_object_get(json_object_get(org, "agents"), req->agent_id);
    if (!agent) {
        fail(req, OD_REJ_AGENT_NOT_FOUND, "agent \"%s\" is not provisioned for org \"%s\"", agent_q,
             org_q);
        return;
    }
    if (!req->from_number) {
        req->from_number = json_string_value(json_object_get(agent, "default_from"));
        if (!req->from_number) {
            fail(req, OD_REJ_INVALID_REQUEST,
                 "from_number is required: agent \"%s\" has no default_from", agent_q);
            return;
        }
    }
    json_t *num = json_object_get(json_object_get(org, "numbers"), req->from_number);
    if (!num) {
        fail(req, OD_REJ_NUMBER_NOT_OWNED, "from_number %s is not owned by org \"%s\"",
             req->from_number, org_q);
        return;
    }
    if (!json_is_true(json_object_get(num, "outbound_enabled"))) {
        fail(req, OD_REJ_OUTBOUND_DISABLED, "from_number %s is not enabled for outbound calls",
             req->from_number);
        return;
    }
    json_t *ceil_v = json_object_get(agent, "max_duration_seconds");
    int ceiling =
        json_is_integer(ceil_v) ? (int)json_integer_value(ceil_v) : OD_AGENT_MAX_DURATION_DEFAULT;
    if (req->max_duration_s > ceiling) {
        fail(req, OD_REJ_INVALID_REQUEST,
             "max_duration_seconds %d exceeds agent \"%s\" ceiling of %d", req->max_duration_s,
             agent_q, ceiling);
        return;
    }
    if (!req->max_duration_s) req->max_duration_s = ceiling;
}

void od_request_clear(od_request_t *req) {
    json_decref(req->root);
    memset(req, 0, sizeof *req);
}

void od_request_call_id(const char *org_id, const char *request_id, char out[OD_UUID_STRLEN]) {
    /* OD_CALL_ID_NAMESPACE as bytes */
    static const unsigned char ns[16] = {0x6f, 0x40, 0x3f, 0x91, 0x02, 0xae, 0x4c, 0x8f,
                                         0x88, 0xc5, 0x83, 0xd2, 0xd9, 0xb9, 0x86, 0x0a};
    static const char hex[] = "0123456789abcdef";
    size_t no = strlen(org_id), nr = strlen(request_id), n = sizeof ns + no + 1 + nr;
    unsigned char stack[512], *name = n <= sizeof stack ? stack : malloc(n);
    unsigned char d[OD_SHA1_LEN];
    if (!name) abort();
    memcpy(name, ns, sizeof ns);
    memcpy(name + sizeof ns, org_id, no);
    name[sizeof ns + no] = 0;
    memcpy(name + sizeof ns + no + 1, request_id, nr);
    od_crypto_sha1(name, n, d);
    if (name != stack) free(name);
    d[6] = (unsigned char)((d[6] & 0x0f) | 0x50); /* version 5 */
    d[8] = (unsigned char)((d[8] & 0x3f) | 0x80); /* variant RFC 9562 */
    int o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[d[i] >> 4];
        out[o++] = hex[d[i] & 15];
    }
    out[o] = 0;
}
