/* outdialctl show: one call and its event history, from the database. */
#include "ctl.h"
#include "db/db.h"
#include "db/repo.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

static const char *s(json_t *o, const char *k) {
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "-";
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
        printf("\n%-4s %-26s %-15s %s\n", "SEQ", "OCCURRED_AT", "TYPE", "DETAIL");
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(call, "events"), i, e) {
            printf("%-4lld %-26s %-15s %s\n",
                   (long long)json_integer_value(json_object_get(e, "seq")), s(e, "occurred_at"),
                   s(e, "type"),
                   json_is_string(json_object_get(e, "error_code")) ? s(e, "error_code") : "");
        }
    }
    json_decref(call);
    return 0;
}
