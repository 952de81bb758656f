/* Answers of every route: JSON bodies, the {"error","code","details"} shape
 * of every error, and the HTTP status of each rejection code. */
#include "api/api_int.h"

#include <stdlib.h>

void od_api_reply_json(od_httpd_resp_t *resp, int status, json_t *body) {
    char *text = json_dumps(body, JSON_COMPACT);
    resp->status = status;
    od_httpd_resp_header(resp, "Content-Type", "application/json");
    od_buf_puts(&resp->body, text ? text : "{}");
    od_buf_putc(&resp->body, '\n');
    free(text);
    json_decref(body);
}

void od_api_reply_error(od_httpd_resp_t *resp, int status, const char *code, const char *msg,
                        json_t *details) {
    od_api_reply_json(resp, status,
                      json_pack("{s:s,s:s,s:o}", "error", msg, "code", code, "details",
                                details ? details : json_null()));
}

void od_api_reply_unavailable(od_httpd_resp_t *resp, const char *msg) {
    od_httpd_resp_header(resp, "Retry-After", "1");
    od_api_reply_error(resp, 503, "SERVICE_UNAVAILABLE", msg, NULL);
}

int od_api_reject_status(od_reject_t r) {
    switch (r) {
    case OD_REJ_AGENT_NOT_FOUND: return 404;
    case OD_REJ_ORG_NOT_FOUND:
    case OD_REJ_NUMBER_NOT_OWNED:
    case OD_REJ_OUTBOUND_DISABLED: return 403;
    case OD_REJ_INSUFFICIENT_BALANCE: return 402;
    default: return 400;
    }
}
