/* The figures behind the scheduler's database gauges (see repo.h): cheap
 * reads over the partial indexes of queued and live calls and the head of
 * the outbox. */
#include "db/db_int.h"
#include "db/repo.h"

#include <stdlib.h>
#include <string.h>

int od_repo_gauges(od_db_t *db, void (*plan)(const char *plan, long queued, long live, void *ctx),
                   long *outbox_rows, double *outbox_age_s, void *ctx) {
    int rc;
    PGresult *r = od_db__query(
        db,
        "SELECT o.plan,"
        " count(*) FILTER (WHERE c.status = 'queued'),"
        " count(*) FILTER (WHERE c.status <> 'queued')"
        " FROM calls c JOIN orgs o ON o.id = c.org_id"
        " WHERE c.status IN ('queued', 'initiated', 'ringing', 'answered', 'in_progress')"
        " GROUP BY o.plan",
        0, NULL, &rc);
    if (!r) return rc;
    for (int i = 0; i < PQntuples(r); i++)
        plan(PQgetvalue(r, i, 0), strtol(PQgetvalue(r, i, 1), NULL, 10),
             strtol(PQgetvalue(r, i, 2), NULL, 10), ctx);
    PQclear(r);
    r = od_db__query(
        db,
        "SELECT (SELECT count(*) FROM outbox),"
        " coalesce((SELECT extract(epoch FROM now() - e.occurred_at)"
        "   FROM outbox o JOIN call_events e ON e.call_id = o.call_id AND e.seq = o.seq"
        "  ORDER BY o.id LIMIT 1), 0)",
        0, NULL, &rc);
    if (!r) return rc;
    *outbox_rows = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    *outbox_age_s = strtod(PQgetvalue(r, 0, 1), NULL);
    if (*outbox_age_s < 0) *outbox_age_s = 0;
    PQclear(r);
    return OD_OK;
}
