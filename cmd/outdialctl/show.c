/* outdialctl show: one call, its event history and the webhook delivery of
 * each event, from the database. */
#include "ctl.h"
#include "db/db.h"
#include "db/repo.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s(json_t *o, const char *k) {
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "-";
}

/* "delivered", "pending (2 tries: HTTP 503)", "failed (1 try: refused: ...)" */
static void describe_delivery(json_t *d, char *out, size_t cap) {
    long long tries = json_integer_value(json_object_get(d, "attempts"));
    const char *st = s(d, "status");
    int n = snprintf(out, cap, "%s", st);
    if (!strcmp(st, "delivered") && tries <= 1) return;
    n += snprintf(out + n, cap - (size_t)n, " (%lld %s", tries, tries == 1 ? "try" : "tries");
    if (json_is_string(json_object_get(d, "last_error")) && n < (int)cap)
        n += snprintf(out + n, cap - (size_t)n, ": %s", s(d, "last_error"));
    if (n < (int)cap) snprintf(out + n, cap - (size_t)n, ")");
}

int od_ctl_show(const od_ctl_conf_t *c, int argc, char **argv) {
    char err[512];
    if (!(argc == 1 || (argc == 0 && c->org && c->request)))
        return od_ctl_fail(2, "usage: outdialctl show CALL_ID | show --org ORG --request REQ");
    od_db_t *db = od_db_connect(c->common.pg_dsn, "outdialctl", err, sizeof err);
    if (!db) return od_ctl_fail(1, "%s", err);
    json_t *call = NULL;
    int rc = od_repo_call_show(db, argc ? argv[0] : NULL, c->org, c->request, &call);
    if (rc) {
        rc = od_ctl_fail(1, "%s", od_db_error(db));
        od_db_close(db);
        return rc;
    }
    od_db_close(db);
    if (!call) return od_ctl_fail(1, "no such call");
    if (c->json) {
        char *text = json_dumps(call, JSON_INDENT(2) | JSON_SORT_KEYS);
        puts(text);
        free(text);
    } else {
        printf("call_id     %s\norg_id      %s\nrequest_id  %s\nagent_id    %s\n"
               "from        %s\nto          %s\nstatus      %s\n",
               s(call, "call_id"), s(call, "org_id"), s(call, "request_id"), s(call, "agent_id"),
               s(call, "from_number"), s(call, "to_number"), s(call, "status"));
        if (json_is_string(json_object_get(call, "error_code")))
            printf("error       %s: %s\n", s(call, "error_code"), s(call, "error_message"));
        json_t *hooks = json_object_get(call, "webhooks");
        if (json_is_object(hooks))
            printf("webhooks    %s, %lld of %lld events delivered%s%s\n", s(hooks, "status"),
                   (long long)json_integer_value(json_object_get(hooks, "delivered")),
                   (long long)json_integer_value(json_object_get(hooks, "events")),
                   json_is_string(json_object_get(hooks, "last_error")) ? "; last error: " : "",
                   json_is_string(json_object_get(hooks, "last_error")) ? s(hooks, "last_error")
                                                                        : "");
        printf("\n%-4s %-26s %-16s %-22s %s\n", "SEQ", "OCCURRED_AT", "TYPE", "ERROR", "WEBHOOK");
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(call, "events"), i, e) {
            char hook[160] = "";
            long long seq = json_integer_value(json_object_get(e, "seq"));
            size_t j;
            json_t *d;
            json_array_foreach(json_object_get(hooks, "deliveries"), j, d) {
                if (json_integer_value(json_object_get(d, "seq")) == seq)
                    describe_delivery(d, hook, sizeof hook);
            }
            printf("%-4lld %-26s %-16s %-22s %s\n", seq, s(e, "occurred_at"), s(e, "type"),
                   json_is_string(json_object_get(e, "error_code")) ? s(e, "error_code") : "",
                   hook);
        }
    }
    json_decref(call);
    return 0;
}
