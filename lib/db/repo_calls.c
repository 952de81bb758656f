/* Reading calls for `outdialctl show` (see repo.h): the call, its events
 * and its webhook deliveries. */
#include "db/db_int.h"
#include "db/repo.h"

#include <ctype.h>
#include <stdio.h>

static int is_uuid(const char *s) {
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    for (int i = 0; shape[i]; i++, s++) {
        if (shape[i] == '-' ? *s != '-' : !isxdigit((unsigned char)*s)) return 0;
    }
    return *s == 0;
}

int od_repo_call_show(od_db_t *db, const char *call_id, const char *org_id, const char *request_id,
                      json_t **out) {
    static const char sql[] =
        "SELECT jsonb_build_object('call_id', c.call_id, 'org_id', c.org_id,"
        " 'request_id', c.request_id, 'agent_id', c.agent_id, 'from_number', c.from_number,"
        " 'to_number', c.to_number, 'status', c.status, 'attempt', c.attempt,"
        " 'error_code', c.error_code, 'error_message', c.error_message,"
        " 'created_at', c.created_at, 'updated_at', c.updated_at, 'request', c.request,"
        " 'source', c.source,"
        " 'webhooks', (SELECT jsonb_build_object('status', w.status, 'delivered', w.delivered,"
        "     'events', w.events, 'last_error', w.last_error,"
        "     'deliveries', (SELECT jsonb_agg(jsonb_build_object('seq', d.seq, 'url', d.url,"
        "         'status', d.status, 'attempts', d.attempts, 'last_status', d.last_status,"
        "         'last_error', d.last_error) ORDER BY d.seq)"
        "       FROM webhook_deliveries d WHERE d.call_id = c.call_id))"
        "   FROM call_webhooks w WHERE w.call_id = c.call_id),"
        " 'events', coalesce((SELECT jsonb_agg(e.body ORDER BY e.seq) FROM call_events e"
        "                      WHERE e.call_id = c.call_id), '[]'))::text"
        " FROM calls c WHERE ";
    int rc;
    PGresult *r;
    *out = NULL;
    if (call_id) {
        if (!is_uuid(call_id)) return OD_OK; /* no call can have that id */
        const char *p[] = {call_id};
        char q[sizeof sql + 64];
        snprintf(q, sizeof q, "%sc.call_id = $1::uuid", sql);
        r = od_db__query(db, q, 1, p, &rc);
    } else {
        const char *p[] = {org_id, request_id};
        char q[sizeof sql + 64];
        snprintf(q, sizeof q, "%sc.org_id = $1 AND c.request_id = $2", sql);
        r = od_db__query(db, q, 2, p, &rc);
    }
    if (!r) return rc;
    if (PQntuples(r) == 1) *out = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    return OD_OK;
}
