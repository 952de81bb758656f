/* The routes of outdial-api (docs/api.md): authentication by API key,
 * POST /v1/calls, GET /v1/calls/{call_id}, POST /v1/calls/{call_id}/cancel.
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

/* ---- answers ---- */

static void answer_json(od_httpd_resp_t *resp, int status, json_t *body /* taken */) {
    char *text = json_dumps(body, JSON_COMPACT);
    resp->status = status;
    od_httpd_resp_header(resp, "Content-Type", "application/json");
    od_buf_puts(&resp->body, text ? text : "{}");
    od_buf_putc(&resp->body, '\n');
    free(text);
    json_decref(body);
}

static void answer_error(od_httpd_resp_t *resp, int status, const char *code, const char *msg) {
    answer_json(resp, status, json_pack("{s:s,s:s,s:n}", "error", msg, "code", code, "details"));
}

static void unavailable(od_httpd_resp_t *resp, const char *msg) {
    od_httpd_resp_header(resp, "Retry-After", "1");
    answer_error(resp, 503, "SERVICE_UNAVAILABLE", msg);
}

/* The HTTP status of a rejection code. */
static int reject_status(od_reject_t r) {
    switch (r) {
    case OD_REJ_AGENT_NOT_FOUND: return 404;
    case OD_REJ_ORG_NOT_FOUND:
    case OD_REJ_NUMBER_NOT_OWNED:
    case OD_REJ_OUTBOUND_DISABLED: return 403;
    case OD_REJ_INSUFFICIENT_BALANCE: return 402;
    default: return 400;
    }
}

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
        if (rc == OD_OK && od_crypto_equal(hash, stored, 64)) return 0;
        if (rc != OD_OK && rc != OD_ERR_NOT_FOUND) {
            unavailable(resp, "the database is unreachable");
            return -1;
        }
    }
    od_httpd_resp_header(resp, "WWW-Authenticate", "Bearer");
    answer_error(resp, 401, "UNAUTHORIZED",
                 key ? "invalid or revoked API key"
                     : "missing API key (Authorization: Bearer KEY or x-api-key: KEY)");
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
        answer_error(resp, 400, "INVALID_REQUEST", msg);
        return NULL;
    }
    json_t *o = json_object_get(root, "org_id");
    if (o && (!json_is_string(o) || strcmp(json_string_value(o), org))) {
        json_decref(root);
        answer_error(resp, 403, "FORBIDDEN", "org_id is not the org of the API key");
        return NULL;
    }
    json_t *a = json_object_get(root, "action");
    if (a && (!json_is_string(a) || strcmp(json_string_value(a), "call"))) {
        json_decref(root);
        answer_error(resp, 400, "INVALID_REQUEST",
                     "action must be \"call\" here (cancel: POST /v1/calls/{call_id}/cancel)");
        return NULL;
    }
    const char *idem = od_httpd_header(req, "Idempotency-Key");
    json_t *rid = json_object_get(root, "request_id");
    if (idem && rid && (!json_is_string(rid) || strcmp(json_string_value(rid), idem))) {
        json_decref(root);
        answer_error(resp, 400, "INVALID_REQUEST",
                     "the Idempotency-Key header and request_id differ");
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
        answer_error(resp, 400, "INVALID_REQUEST", "the body cannot be encoded as JSON");
        return;
    }
    /* The very bytes to produce go through intake's validator. */
    od_request_t r;
    json_t *prov = NULL;
    od_request_parse(&r, text, strlen(text));
    if (!r.reject) {
        if (od_api_provisioning(api, org, &prov)) {
            unavailable(resp, "the database is unreachable");
            goto out;
        }
        od_request_resolve(&r, prov);
    }
    if (r.reject) {
        answer_error(resp, reject_status(r.reject), od_reject_code(r.reject), r.error);
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
        unavailable(resp, "the database is unreachable");
        return NULL;
    }
    char rid[256];
    if (!call && !od_api_recent_find(api, call_id, org, rid, sizeof rid))
        call =
            json_pack("{s:s,s:s,s:s}", "call_id", call_id, "request_id", rid, "status", "queued");
    if (!call) answer_error(resp, 404, "CALL_NOT_FOUND", "no call of this org has this call_id");
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
        answer_json(resp, 409,
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
        unavailable(resp, "the broker did not acknowledge the cancel; retry later");
    else
        answer_json(resp, 202,
                    json_pack("{s:s,s:s,s:s}", "call_id", call_id, "request_id", rid, "status",
                              "cancel_requested"));
    free(text);
    json_decref(msg);
    json_decref(call);
}

/* ---- routing ---- */

typedef enum { R_NONE, R_CALLS, R_CALL, R_CANCEL } route_t;

/* Matches the path; for routes of one call, its id (up to 63 bytes) into
 * id. */
static route_t match(const char *path, char *id, size_t cap) {
    static const char prefix[] = "/v1/calls";
    size_t n = sizeof prefix - 1;
    if (strncmp(path, prefix, n)) return R_NONE;
    path += n;
    if (!*path) return R_CALLS;
    if (*path++ != '/' || !*path) return R_NONE;
    const char *slash = strchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : strlen(path);
    if (len == 0 || len >= cap) return R_NONE;
    memcpy(id, path, len);
    id[len] = 0;
    if (!slash) return R_CALL;
    return !strcmp(slash, "/cancel") ? R_CANCEL : R_NONE;
}

void od_api_handle(void *ctx, const od_httpd_req_t *req, od_httpd_resp_t *resp) {
    od_api_t *api = ctx;
    char id[64], org[256];
    route_t r = match(req->path, id, sizeof id);
    const char *want = r == R_CALL ? "GET" : "POST";
    if (r == R_NONE) {
        answer_error(resp, 404, "NOT_FOUND", "no such route");
        return;
    }
    if (strcmp(req->method, want)) {
        od_httpd_resp_header(resp, "Allow", want);
        answer_error(resp, 405, "METHOD_NOT_ALLOWED", "method not allowed on this route");
        return;
    }
    if (authenticate(api, req, resp, org, sizeof org)) return;
    switch (r) {
    case R_CALLS: create_call(api, req, resp, org); break;
    case R_CALL: {
        json_t *call = find_call(api, id, org, resp);
        if (call) answer_json(resp, 200, call);
        break;
    }
    case R_CANCEL: cancel_call(api, id, org, resp); break;
    default: break;
    }
}
