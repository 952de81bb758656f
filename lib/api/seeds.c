/* The seeds' own endpoints (docs/api.md, "Seed-compatible routes"): each
 * takes that API's body, headers and field names, translates the body
 * into native requests (docs/requests.md), submits them the one way every
 * request goes (submit.c: intake's validator, provisioning, credit, the
 * broker's ack), and answers with that API's response shape and status
 * codes. Nothing here validates a value: a translation only renames and
 * moves fields, so a request is accepted or refused for the same reasons
 * whichever route it came by; refusals name the seed's fields.
 *
 *   KrosAI    POST /v1/outbound-calls  endpoint_id = agent, max_duration
 *   Pathors   POST /v1/calls/outbound  projectId = agent, dynamicVariables = context
 *   Cartesia  POST /agents/calls       from_number_id = caller ID, outbound_calls[]
 */
#include "api/api_int.h"
#include "core/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CARTESIA_MAX_CALLS 100

/* A seed's field and the native one it becomes; `required` where the seed
 * requires what outdial does not (from_number). */
typedef struct {
    const char *seed, *native;
    int required;
    const char *words; /* how refusals name it, NULL: seed */
} field_t;

/* The seed's status for a refusal code (0: the native one). */
typedef struct {
    const char *code;
    int status;
    const char *seed_code; /* the code as the seed names it, NULL: the same */
} status_map_t;

typedef struct {
    const char *name;
    const field_t *fields;
    const status_map_t *statuses;
} seed_t;

static int seed_status(const seed_t *s, const od_api_item_t *it, const char **code) {
    *code = it->code;
    for (const status_map_t *m = s->statuses; m->code; m++)
        if (!strcmp(m->code, it->code)) {
            if (m->seed_code) *code = m->seed_code;
            return m->status;
        }
    return it->status;
}

/* Replaces each native field name in msg by the seed's (whole words). */
static void seed_words(const seed_t *s, char *msg, size_t cap) {
    for (const field_t *f = s->fields; f->seed; f++) {
        const char *seed = f->words ? f->words : f->seed;
        if (!f->native || !strcmp(seed, f->native)) continue;
        size_t nl = strlen(f->native), sl = strlen(seed);
        char *p = msg;
        while ((p = strstr(p, f->native))) {
            int start = p == msg || p[-1] == ' ' || p[-1] == '"';
            char after = p[nl];
            if (!start || (after && after != ' ' && after != '"' && after != ',' && after != ':' &&
                           after != '.')) {
                p += nl;
                continue;
            }
            size_t rest = strlen(p + nl);
            if ((size_t)(p - msg) + sl + rest + 1 > cap) break;
            memmove(p + sl, p + nl, rest + 1);
            memcpy(p, seed, sl);
            p += sl;
        }
    }
}

/* The body's fields as native ones into `out`; a null is as absent. NULL
 * and a message in err when a field is unknown or a required one missing. */
static json_t *translate(const seed_t *s, json_t *body, const char *ctx, char *err, size_t cap) {
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v) {
        const field_t *f = s->fields;
        while (f->seed && strcmp(f->seed, k))
            f++;
        if (!f->seed) {
            snprintf(err, cap, "unknown field \"%.40s\"%s", k, ctx);
            return NULL;
        }
    }
    json_t *out = json_object();
    for (const field_t *f = s->fields; f->seed; f++) {
        v = json_object_get(body, f->seed);
        if (v && !json_is_null(v) && f->native) {
            json_object_set(out, f->native, v);
        } else if (f->required && (!v || json_is_null(v))) {
            snprintf(err, cap, "%s is required%s", f->seed, ctx);
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* The error body of a refused item in a seed's words; `extra` members
 * (taken, may be NULL) are added. */
static void reply_refused(const seed_t *s, od_httpd_resp_t *resp, od_api_item_t *it,
                          json_t *extra) {
    const char *code;
    int status = seed_status(s, it, &code);
    char msg[300];
    snprintf(msg, sizeof msg, "%s", it->error);
    seed_words(s, msg, sizeof msg);
    /* details: the field the refusal is about, when it starts the message
     * (KrosAI's {"field": ...}) */
    json_t *details = json_object();
    for (const field_t *f = s->fields; f->seed; f++) {
        const char *words = f->words ? f->words : f->seed;
        size_t n = strlen(words);
        if (!strncmp(msg, words, n) && (msg[n] == ' ' || msg[n] == 0)) {
            json_object_set_new(details, "field", json_string(f->seed));
            break;
        }
    }
    if (status == 503) od_httpd_resp_header(resp, "Retry-After", "1");
    json_t *body = json_pack("{s:s,s:s,s:o}", "error", msg, "code", code, "details", details);
    if (extra) json_object_update(body, extra);
    json_decref(extra);
    od_api_reply_json(resp, status, body);
}

/* The request in its seed's body, submitted as one native request; 0 and
 * the item accepted, or -1 after answering. */
static int submit_one(od_api_t *api, const seed_t *s, const od_httpd_req_t *req,
                      od_httpd_resp_t *resp, const char *org, od_api_item_t *it,
                      json_t *fail_extra) {
    char err[200], rid[200];
    od_api_item_init(it, NULL); /* cleared by the caller whatever happens */
    json_t *body = od_api_parse_body(req, resp);
    if (!body) {
        json_decref(fail_extra);
        return -1;
    }
    json_t *native = translate(s, body, "", err, sizeof err);
    json_decref(body);
    od_api_item_init(it, native);
    if (!native) {
        od_api_item_refuse(it, 400, "INVALID_REQUEST", err);
    } else {
        od_api_default_request_id(req, -1, rid, sizeof rid);
        json_object_set_new(native, "request_id", json_string(rid));
        json_object_set_new(native, "org_id", json_string(org));
        if (od_api_items_check(api, org, it, 1) != OD_OK) {
            json_decref(fail_extra);
            od_api_reply_unavailable(resp, "the database is unreachable");
            return -1;
        }
        od_api_items_produce(api, it, 1);
    }
    if (it->status) {
        reply_refused(s, resp, it, fail_extra);
        return -1;
    }
    json_decref(fail_extra);
    return 0;
}

/* ---- KrosAI: POST /v1/outbound-calls ---- */

static const field_t krosai_fields[] = {{"from_number", "from_number", 1, NULL},
                                        {"to_number", "to_number", 0, NULL},
                                        {"endpoint_id", "agent_id", 0, NULL},
                                        {"metadata", "metadata", 0, NULL},
                                        {"webhook_url", "webhook_url", 0, NULL},
                                        {"max_duration", "max_duration_seconds", 0, NULL},
                                        {NULL, NULL, 0, NULL}};
/* KrosAI's guide: number errors are 400, an unknown endpoint 404
 * ENDPOINT_NOT_FOUND; its OpenAPI: 402 for balance, 403 for outbound
 * disabled (docs/api.md says which wins where they differ). */
static const status_map_t krosai_statuses[] = {{"NUMBER_NOT_OWNED", 400, NULL},
                                               {"OUTBOUND_DISABLED", 403, NULL},
                                               {"AGENT_NOT_FOUND", 404, "ENDPOINT_NOT_FOUND"},
                                               {NULL, 0, NULL}};
static const seed_t krosai = {"KrosAI", krosai_fields, krosai_statuses};

void od_api_krosai(od_api_t *api, const od_httpd_req_t *req, od_httpd_resp_t *resp,
                   const char *org) {
    const char *want = od_httpd_header(req, "x-organization-id");
    if (want && strcmp(want, org)) {
        od_api_reply_error(resp, 403, "FORBIDDEN",
                           "x-organization-id is not the org of the API key", json_object());
        return;
    }
    od_api_item_t it;
    if (submit_one(api, &krosai, req, resp, org, &it, NULL)) goto out;
    char now[32];
    od_clock_format_rfc3339(od_clock_now_ms(), now, sizeof now);
    json_t *r = it.request;
    od_api_reply_json(
        resp, 200,
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:s,s:s,s:s}", "call_id", it.call_id, "request_id",
                  it.request_id, "status", "queued", "from_number", it.from_number, "to_number",
                  json_string_value(json_object_get(r, "to_number")), "endpoint_id",
                  json_object_get(r, "agent_id"), "created_at", now, "provider", "outdial",
                  "message", "call queued: outdial dials it once admitted"));
out:
    od_api_item_clear(&it);
}

/* ---- Pathors: POST /v1/calls/outbound ---- */

static const field_t pathors_fields[] = {{"projectId", "agent_id", 0, NULL},
                                         {"fromNumber", "from_number", 1, NULL},
                                         {"toNumber", "to_number", 0, NULL},
                                         {"dynamicVariables", "context", 0, NULL},
                                         {NULL, NULL, 0, NULL}};
/* Pathors: a project is an agent, to which the key's org has no access
 * when it is not one of the org's (403); a from number not active is 400,
 * one not the org's 403. */
static const status_map_t pathors_statuses[] = {
    {"AGENT_NOT_FOUND", 403, NULL}, {"OUTBOUND_DISABLED", 400, NULL}, {NULL, 0, NULL}};
static const seed_t pathors = {"Pathors", pathors_fields, pathors_statuses};

void od_api_pathors(od_api_t *api, const od_httpd_req_t *req, od_httpd_resp_t *resp,
                    const char *org) {
    od_api_item_t it;
    if (!submit_one(api, &pathors, req, resp, org, &it, json_pack("{s:b}", "success", 0)))
        od_api_reply_json(resp, 200,
                          json_pack("{s:b,s:s,s:s}", "success", 1, "call_id", it.call_id,
                                    "request_id", it.request_id));
    od_api_item_clear(&it);
}

/* ---- Cartesia: POST /agents/calls ---- */

static const field_t cartesia_fields[] = {
    {"from_number_id", "from_number", 1, NULL},
    {"agent_id", "agent_id", 1, NULL},
    {"outbound_calls", NULL, 1, NULL},
    {"ringing_timeout_seconds", "ringing_timeout_seconds", 0, NULL},
    {"max_call_duration_minutes", "max_duration_seconds", 0,
     "max_duration_seconds (max_call_duration_minutes x 60)"},
    {NULL, NULL, 0, NULL}};
static const field_t cartesia_item_fields[] = {
    {"to_number", "to_number", 1, NULL}, {"metadata", "metadata", 0, NULL}, {NULL, NULL, 0, NULL}};
/* Cartesia: 400 for a number that cannot call out, 403 for one not the
 * org's, 404 for an unknown agent or number. */
static const status_map_t cartesia_statuses[] = {{"OUTBOUND_DISABLED", 400, NULL}, {NULL, 0, NULL}};
static const seed_t cartesia = {"Cartesia", cartesia_fields, cartesia_statuses};
static const seed_t cartesia_item = {"Cartesia", cartesia_item_fields, cartesia_statuses};

static int version_valid(const char *v) {
    /* YYYY-MM-DD; 2026-03-01 is the version whose shapes are served */
    if (!v || strlen(v) != 10) return 0;
    for (int i = 0; i < 10; i++)
        if (i == 4 || i == 7 ? v[i] != '-' : (v[i] < '0' || v[i] > '9')) return 0;
    return 1;
}

void od_api_cartesia(od_api_t *api, const od_httpd_req_t *req, od_httpd_resp_t *resp,
                     const char *org) {
    if (!version_valid(od_httpd_header(req, "Cartesia-Version"))) {
        od_api_reply_error(resp, 400, "INVALID_REQUEST",
                           "the Cartesia-Version header is required (2026-03-01)", NULL);
        return;
    }
    json_t *body = od_api_parse_body(req, resp);
    if (!body) return;
    char err[200];
    json_t *shared = translate(&cartesia, body, "", err, sizeof err);
    json_t *calls = json_object_get(body, "outbound_calls");
    size_t n = json_array_size(calls);
    if (shared && (!json_is_array(calls) || n < 1 || n > CARTESIA_MAX_CALLS))
        snprintf(err, sizeof err, "outbound_calls must be an array of 1 to %d calls",
                 CARTESIA_MAX_CALLS);
    od_api_item_t *items = NULL;
    if (shared && n >= 1 && n <= CARTESIA_MAX_CALLS && json_is_array(calls)) {
        items = calloc(n, sizeof *items);
        for (size_t i = 0; i < n; i++) {
            json_t *c = json_array_get(calls, i), *native = NULL;
            char ctx[48];
            snprintf(ctx, sizeof ctx, " in outbound_calls[%zu]", i);
            if (!json_is_object(c))
                snprintf(err, sizeof err, "outbound_calls[%zu] must be an object", i);
            else if ((native = translate(&cartesia_item, c, ctx, err, sizeof err)) &&
                     !json_is_string(json_object_get(native, "to_number")))
                snprintf(err, sizeof err, "to_number must be a string in outbound_calls[%zu]", i);
            else if (native) {
                json_t *mins = json_object_get(shared, "max_duration_seconds");
                json_object_update(native, shared);
                if (json_is_integer(mins) && json_integer_value(mins) > -1000000 &&
                    json_integer_value(mins) < 1000000)
                    json_object_set_new(native, "max_duration_seconds",
                                        json_integer(json_integer_value(mins) * 60));
                char rid[200];
                od_api_default_request_id(req, (int)i, rid, sizeof rid);
                json_object_set_new(native, "request_id", json_string(rid));
                json_object_set_new(native, "org_id", json_string(org));
                od_api_item_init(&items[i], native);
                continue;
            }
            /* the shape of the body is wrong: 400 for it all */
            json_decref(native);
            for (size_t j = 0; j < i; j++)
                od_api_item_clear(&items[j]);
            free(items);
            items = NULL;
            break;
        }
    }
    json_decref(shared);
    json_decref(body);
    if (!items) {
        od_api_reply_error(resp, 400, "INVALID_REQUEST", err, NULL);
        return;
    }
    if (od_api_items_check(api, org, items, (int)n) != OD_OK) {
        od_api_reply_unavailable(resp, "the database is unreachable");
        goto out;
    }
    od_api_items_produce(api, items, (int)n);
    /* Refused all for one reason: the request itself is (an unknown agent,
     * a number not the org's, a bad ringing timeout), answered with
     * Cartesia's status; else one answer per destination. */
    size_t same = 0;
    for (size_t i = 0; i < n; i++)
        same += items[i].status && !strcmp(items[i].code, items[0].code ? items[0].code : "");
    if (same == n) {
        reply_refused(&cartesia, resp, &items[0], NULL);
        goto out;
    }
    json_t *answers = json_array();
    for (size_t i = 0; i < n; i++) {
        od_api_item_t *it = &items[i];
        const char *number = json_string_value(json_object_get(it->request, "to_number"));
        json_t *e = json_null();
        if (it->status) {
            const char *code;
            int status = seed_status(&cartesia, it, &code);
            char msg[300];
            snprintf(msg, sizeof msg, "%s", it->error);
            seed_words(&cartesia, msg, sizeof msg);
            e = json_pack("{s:s,s:s,s:n,s:i}", "error", msg, "code", code, "details", "http_status",
                          status);
        }
        json_array_append_new(answers, json_pack("{s:s,s:s,s:o}", "number", number ? number : "",
                                                 "agent_call_id", it->status ? "" : it->call_id,
                                                 "error", e));
    }
    od_api_reply_json(resp, 200, json_pack("{s:o}", "calls", answers));
out:
    for (size_t i = 0; i < n; i++)
        od_api_item_clear(&items[i]);
    free(items);
}
