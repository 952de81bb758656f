/* The routes of outdial-api (docs/api.md): authentication by API key and
 * the per-key rate, routing, and POST /v1/calls, GET /v1/calls/{call_id},
 * POST /v1/calls/{call_id}/cancel (the other routes: list.c, batch.c,
 * seeds.c).
 * Every error is {"error": text, "code": CODE, "details": ...}; the codes
 * of a refused request are intake's rejection codes (docs/events.md). */
#include "api/api_int.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "db/repo.h"
#include "domain/request.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- authentication ---- */

/* The key of the request (Authorization: Bearer KEY, or x-api-key: KEY)
 * checked against the stored hashes; its org into org. 0, or -1 after
 * answering (401, or 503 when the database is away). The lookup is by
 * SHA-256 of the key, so timing tells nothing about a stored key; the
 * final comparison is constant-time all the same. */
static int authenticate(od_api_t *api, const od_httpd_req_t *req, od_httpd_resp_t *resp, char *org,
                        size_t org_cap) {
    const char *key = od_httpd_header(req, "x-api-key");
    const char *auth = od_httpd_header(req, "Authorization");
    if (!key && auth && !strncasecmp(auth, "Bearer ", 7)) {
        key = auth + 7;
        while (*key == ' ')
            key++;
    }
    if (key && *key) {
        char hash[OD_SHA256_HEX_LEN], stored[65];
        od_crypto_sha256_hex(key, strlen(key), hash);
        int rc = od_api_key_find(api, hash, org, org_cap, stored);
        if (rc == OD_OK && od_crypto_equal(hash, stored, 64)) {
            int wait = od_api_limiter_take(api->limiter, hash);
            if (!wait) return 0;
            char secs[16];
            snprintf(secs, sizeof secs, "%d", wait);
            od_httpd_resp_header(resp, "Retry-After", secs);
            od_api_reply_error(resp, 429, "RATE_LIMIT_EXCEEDED",
                               "this API key is over its request rate (OUTDIAL_API_RATE_PER_KEY)",
                               NULL);
            return -1;
        }
        if (rc != OD_OK && rc != OD_ERR_NOT_FOUND) {
            od_api_reply_unavailable(resp, "the database is unreachable");
            return -1;
        }
    }
    od_httpd_resp_header(resp, "WWW-Authenticate", "Bearer");
    od_api_reply_error(resp, 401, "UNAUTHORIZED",
                       key ? "invalid or revoked API key"
                           : "missing API key (Authorization: Bearer KEY or x-api-key: KEY)",
                       NULL);
    return -1;
}

/* ---- POST /v1/calls ---- */

/* The body as the message to produce: org_id from the key, request_id from
 * Idempotency-Key or the body (or a new one). NULL after answering. */
static json_t *request_from_body(const od_httpd_req_t *req, od_httpd_resp_t *resp,
                                 const char *org) {
    json_error_t jerr;
    char msg[300];
    json_t *root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        snprintf(msg, sizeof msg, "the body must be a JSON object%s%s", root ? "" : ": ",
                 root ? "" : jerr.text);
        json_decref(root);
        od_api_reply_error(resp, 400, "INVALID_REQUEST", msg, NULL);
        return NULL;
    }
    json_t *o = json_object_get(root, "org_id");
    if (o && (!json_is_string(o) || strcmp(json_string_value(o), org))) {
        json_decref(root);
        od_api_reply_error(resp, 403, "FORBIDDEN", "org_id is not the org of the API key", NULL);
        return NULL;
    }
    json_t *a = json_object_get(root, "action");
    if (a && (!json_is_string(a) || strcmp(json_string_value(a), "call"))) {
        json_decref(root);
        od_api_reply_error(resp, 400, "INVALID_REQUEST",
                           "action must be \"call\" here (cancel: POST /v1/calls/{call_id}/cancel)",
                           NULL);
        return NULL;
    }
    const char *idem = od_httpd_header(req, "Idempotency-Key");
    json_t *rid = json_object_get(root, "request_id");
    if (idem && rid && (!json_is_string(rid) || strcmp(json_string_value(rid), idem))) {
        json_decref(root);
        od_api_reply_error(resp, 400, "INVALID_REQUEST",
                           "the Idempotency-Key header and request_id differ", NULL);
        return NULL;
    }
    if (idem) {
        json_object_set_new(root, "request_id", json_string(idem));
    } else if (!rid) {
        char id[OD_UUID_STRLEN];
        od_uuid_v4(id);
        json_object_set_new(root, "request_id", json_string(id));
    }
    json_object_set_new(root, "org_id", json_string(org));
    return root;
}

static void create_call(od_api_t *api, const od_httpd_req_t *req, od_httpd_resp_t *resp,
                        const char *org) {
    json_t *root = request_from_body(req, resp, org);
    if (!root) return;
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!text) {
        od_api_reply_error(resp, 400, "INVALID_REQUEST", "the body cannot be encoded as JSON",
                           NULL);
        return;
    }
    /* The very bytes to produce go through intake's validator. */
    od_request_t r;
    json_t *prov = NULL;
    od_request_parse(&r, text, strlen(text));
    if (!r.reject) {
        int rc = od_api_provisioning(api, org, &prov); /* cached */
        od_db_t *db = NULL;
        if (!rc) {
            od_request_resolve(&r, prov);
            /* 402: the hold can never be covered (one query: balances change) */
            db = r.reject ? NULL : od_api_db_take(api);
            rc = r.reject ? OD_OK : db ? od_api_credit_check(db, &r) : OD_ERR_DB;
            od_api_db_give(api, db);
        }
        if (rc) {
            od_api_reply_unavailable(resp, "the database is unreachable");
            goto out;
        }
    }
    if (r.reject) {
        od_api_reply_error(resp, od_api_reject_status(r.reject), od_reject_code(r.reject), r.error,
                           NULL);
        goto out;
    }
    char call_id[OD_UUID_STRLEN], key[300];
    od_request_call_id(r.org_id, r.request_id, call_id);
    snprintf(key, sizeof key, "%s:%s", r.org_id, r.request_id);
    od_api_accept(api, req, resp, key, text, call_id, r.org_id, r.request_id); /* 202 or 503 */
out:
    od_request_clear(&r);
    json_decref(prov);
    free(text);
}

/* ---- GET /v1/calls/{id}, POST /v1/calls/{id}/cancel ---- */

/* The call of org with that id, from the database or (accepted here but not
 * stored yet) as queued; NULL after answering 404 or 503. */
static json_t *find_call(od_api_t *api, const char *call_id, const char *org,
                         od_httpd_resp_t *resp) {
    json_t *call = NULL;
    od_db_t *db = od_api_db_take(api);
    int rc = db ? od_repo_api_call_get(db, call_id, org, &call) : OD_ERR_DB;
    od_api_db_give(api, db);
    if (rc) {
        od_api_reply_unavailable(resp, "the database is unreachable");
        return NULL;
    }
    char rid[256];
    if (!call && !od_api_recent_find(api, call_id, org, rid, sizeof rid))
        call =
            json_pack("{s:s,s:s,s:s}", "call_id", call_id, "request_id", rid, "status", "queued");
    if (!call)
        od_api_reply_error(resp, 404, "CALL_NOT_FOUND", "no call of this org has this call_id",
                           NULL);
    return call;
}

static int terminal(const char *status) {
    static const char *const ends[] = {"completed", "no_answer", "busy",   "failed",
                                       "canceled",  "rejected",  "expired"};
    for (size_t i = 0; i < sizeof ends / sizeof *ends; i++)
        if (status && !strcmp(status, ends[i])) return 1;
    return 0;
}

static void cancel_call(od_api_t *api, const char *call_id, const char *org,
                        od_httpd_resp_t *resp) {
    json_t *call = find_call(api, call_id, org, resp);
    if (!call) return;
    const char *status = json_string_value(json_object_get(call, "status"));
    const char *rid = json_string_value(json_object_get(call, "request_id"));
    if (terminal(status)) {
        od_api_reply_json(resp, 409,
                          json_pack("{s:s,s:s,s:{s:s,s:s}}", "error", "the call has already ended",
                                    "code", "CALL_ENDED", "details", "call_id", call_id, "status",
                                    status));
        json_decref(call);
        return;
    }
    /* As `outdialctl submit --cancel` sends it: keyed like its request, so
     * it cannot overtake it. */
    json_t *msg = json_pack("{s:s,s:s,s:s}", "action", "cancel", "org_id", org, "request_id", rid);
    char *text = json_dumps(msg, JSON_COMPACT), key[300];
    snprintf(key, sizeof key, "%s:%s", org, rid);
    int rc = od_api_produce(api, key, text);
    if (rc)
        od_api_reply_unavailable(resp, "the broker did not acknowledge the cancel; retry later");
    else
        od_api_reply_json(resp, 202,
                          json_pack("{s:s,s:s,s:s}", "call_id", call_id, "request_id", rid,
                                    "status", "cancel_requested"));
    free(text);
    json_decref(msg);
    json_decref(call);
}

/* ---- routing ---- */

typedef enum {
    R_NONE,
    R_CALLS,   /* /v1/calls: GET list, POST create */
    R_BATCH,   /* /v1/calls/batch */
    R_CALL,    /* /v1/calls/{id} */
    R_CANCEL,  /* /v1/calls/{id}/cancel */
    R_EVENTS,  /* /v1/calls/{id}/events */
    R_KROSAI,  /* /v1/outbound-calls */
    R_PATHORS, /* /v1/calls/outbound */
    R_CARTESIA /* /agents/calls */
} route_t;

/* Matches the path; for routes of one call, its id (up to 63 bytes) into
 * id. "batch" and "outbound" are routes of their own, never call ids
 * (a call_id is a UUID). */
static route_t match(const char *path, char *id, size_t cap) {
    static const char prefix[] = "/v1/calls";
    size_t n = sizeof prefix - 1;
    if (!strcmp(path, "/v1/outbound-calls")) return R_KROSAI;
    if (!strcmp(path, "/agents/calls")) return R_CARTESIA;
    if (strncmp(path, prefix, n)) return R_NONE;
    path += n;
    if (!*path) return R_CALLS;
    if (*path++ != '/' || !*path) return R_NONE;
    if (!strcmp(path, "batch")) return R_BATCH;
    if (!strcmp(path, "outbound")) return R_PATHORS;
    const char *slash = strchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : strlen(path);
    if (len == 0 || len >= cap) return R_NONE;
    memcpy(id, path, len);
    id[len] = 0;
    if (!slash) return R_CALL;
    if (!strcmp(slash, "/cancel")) return R_CANCEL;
    return !strcmp(slash, "/events") ? R_EVENTS : R_NONE;
}

/* The methods a route answers, as the Allow header lists them. */
static const char *allowed(route_t r) {
    switch (r) {
    case R_CALLS: return "GET, POST";
    case R_CALL:
    case R_EVENTS: return "GET";
    default: return "POST";
    }
}

void od_api_handle(void *ctx, const od_httpd_req_t *req, od_httpd_resp_t *resp) {
    od_api_t *api = ctx;
    char id[64], org[256];
    route_t r = match(req->path, id, sizeof id);
    if (r == R_NONE) {
        od_api_reply_error(resp, 404, "NOT_FOUND", "no such route", NULL);
        return;
    }
    const char *allow = allowed(r);
    int ok = 0;
    for (const char *m = allow; *m && !ok; m += strspn(m, ", ")) {
        size_t n = strcspn(m, ",");
        ok = strlen(req->method) == n && !strncmp(m, req->method, n);
        m += n;
    }
    if (!ok) {
        od_httpd_resp_header(resp, "Allow", allow);
        od_api_reply_error(resp, 405, "METHOD_NOT_ALLOWED", "method not allowed on this route",
                           NULL);
        return;
    }
    if (authenticate(api, req, resp, org, sizeof org)) return;
    switch (r) {
    case R_CALLS:
        if (!strcmp(req->method, "GET"))
            od_api_list_calls(api, req, resp, org);
        else
            create_call(api, req, resp, org);
        break;
    case R_CALL: {
        json_t *call = find_call(api, id, org, resp);
        if (call) od_api_reply_json(resp, 200, call);
        break;
    }
    case R_CANCEL: cancel_call(api, id, org, resp); break;
    case R_EVENTS: od_api_call_events(api, id, org, resp); break;
    case R_BATCH: od_api_batch(api, req, resp, org); break;
    case R_KROSAI: od_api_krosai(api, req, resp, org); break;
    case R_PATHORS: od_api_pathors(api, req, resp, org); break;
    case R_CARTESIA: od_api_cartesia(api, req, resp, org); break;
    default: break;
    }
}
