/* Outbox reads, and the removal of published rows, for the event relay (see
 * repo.h). */
#include "db/db_int.h"
#include "db/repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int od_repo_outbox_read(od_db_t *db, int limit, void (*fn)(const od_outbox_row_t *, void *),
                        void *ctx) {
    char lim[16];
    const char *p[] = {lim};
    int rc;
    snprintf(lim, sizeof lim, "%d", limit);
    PGresult *r = od_db__query(db,
                               "SELECT o.id, o.kind, o.call_id, e.event_id, e.type,"
                               " e.body->>'occurred_at', coalesce(o.payload, e.body)::text"
                               " FROM outbox o LEFT JOIN call_events e"
                               " ON o.kind = 'event' AND e.call_id = o.call_id AND e.seq = o.seq"
                               " ORDER BY o.id LIMIT $1",
                               1, p, &rc);
    if (!r) return rc;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        od_outbox_row_t row = {strtoll(PQgetvalue(r, i, 0), NULL, 10),
                               PQgetvalue(r, i, 1),
                               PQgetvalue(r, i, 2),
                               PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3),
                               PQgetisnull(r, i, 4) ? NULL : PQgetvalue(r, i, 4),
                               PQgetisnull(r, i, 5) ? NULL : PQgetvalue(r, i, 5),
                               PQgetvalue(r, i, 6)};
        fn(&row, ctx);
    }
    PQclear(r);
    return n;
}

int od_repo_outbox_done(od_db_t *db, const int64_t *ids, int n) {
    if (n == 0) return OD_OK;
    size_t cap = (size_t)n * 21 + 3, len = 0;
    char *arr = malloc(cap);
    arr[len++] = '{';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(arr + len, cap - len, "%s%lld", i ? "," : "", (long long)ids[i]);
    arr[len++] = '}';
    arr[len] = 0;
    const char *p[] = {arr};
    int rc;
    PGresult *r = od_db__query(db, "SELECT od_outbox_done($1::bigint[])", 1, p, &rc);
    PQclear(r);
    free(arr);
    return rc;
}
