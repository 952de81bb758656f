/* POST /v1/calls/batch: up to OD_API_BATCH_MAX native requests in one
 * body, {"calls":[...]}, each checked on its own by intake's validator;
 * every accepted one is produced, and the answer (200) comes once the
 * broker acknowledged them all, with one entry per item in order: its
 * call_id, or why it was refused. Like Cartesia's POST /agents/calls, a
 * refused item does not stop the others (docs/api.md). */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OD_API_BATCH_MAX 100

/* Item i of the body as a native request of org, or refused. */
static void item_from(od_api_item_t *it, json_t *body, const od_httpd_req_t *req, const char *org,
                      int i) {
    if (!json_is_object(body)) {
        od_api_item_init(it, NULL);
        od_api_item_refuse(it, 400, "INVALID_REQUEST", "an item must be a JSON object");
        return;
    }
    od_api_item_init(it, json_deep_copy(body));
    json_t *r = it->request;
    json_t *o = json_object_get(r, "org_id");
    if (o && (!json_is_string(o) || strcmp(json_string_value(o), org))) {
        od_api_item_refuse(it, 403, "FORBIDDEN", "org_id is not the org of the API key");
        return;
    }
    json_t *a = json_object_get(r, "action");
    if (a && (!json_is_string(a) || strcmp(json_string_value(a), "call"))) {
        od_api_item_refuse(it, 400, "INVALID_REQUEST", "action must be \"call\" in a batch");
        return;
    }
    if (!json_object_get(r, "request_id")) {
        char rid[200];
        od_api_default_request_id(req, i, rid, sizeof rid);
        json_object_set_new(r, "request_id", json_string(rid));
    }
    json_object_set_new(r, "org_id", json_string(org));
}

void od_api_batch(od_api_t *api, const od_httpd_req_t *req, od_httpd_resp_t *resp,
                  const char *org) {
    json_t *root = od_api_parse_body(req, resp);
    if (!root) return;
    const char *k;
    json_t *v, *calls = json_object_get(root, "calls");
    json_object_foreach(root, k, v) {
        if (strcmp(k, "calls")) {
            json_decref(root);
            od_api_reply_error(resp, 400, "INVALID_REQUEST",
                               "unknown field: the body is {\"calls\": [request, ...]}", NULL);
            return;
        }
    }
    size_t n = json_array_size(calls);
    if (!json_is_array(calls) || n < 1 || n > OD_API_BATCH_MAX) {
        json_decref(root);
        od_api_reply_error(resp, 400, "INVALID_REQUEST",
                           "calls must be an array of 1 to 100 requests",
                           json_pack("{s:i}", "max_items", OD_API_BATCH_MAX));
        return;
    }
    od_api_item_t *items = calloc(n, sizeof *items);
    for (size_t i = 0; i < n; i++)
        item_from(&items[i], json_array_get(calls, i), req, org, (int)i);
    json_decref(root);
    if (od_api_items_check(api, org, items, (int)n) != OD_OK) {
        od_api_reply_unavailable(resp, "the database is unreachable");
        goto out;
    }
    od_api_items_produce(api, items, (int)n);
    json_t *answers = json_array();
    for (size_t i = 0; i < n; i++) {
        od_api_item_t *it = &items[i];
        json_t *rid = it->request_id[0] ? json_string(it->request_id) : json_null();
        if (!it->status)
            json_array_append_new(answers, json_pack("{s:i,s:s,s:s,s:o,s:n}", "index", (int)i,
                                                     "status", "queued", "call_id", it->call_id,
                                                     "request_id", rid, "error"));
        else
            json_array_append_new(answers,
                                  json_pack("{s:i,s:s,s:n,s:o,s:{s:s,s:s,s:n,s:i}}", "index",
                                            (int)i, "status", "refused", "call_id", "request_id",
                                            rid, "error", "error", it->error, "code", it->code,
                                            "details", "http_status", it->status));
    }
    od_api_reply_json(resp, 200, json_pack("{s:o}", "calls", answers));
out:
    for (size_t i = 0; i < n; i++)
        od_api_item_clear(&items[i]);
    free(items);
}
