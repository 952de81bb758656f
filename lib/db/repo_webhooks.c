/* Webhook deliveries: claim due ones, record attempts. */
#include "db/db_int.h"
#include "db/repo.h"

#include <stdio.h>
#include <stdlib.h>

int od_repo_webhook_claim(od_db_t *db, int max, int per_org, const char *busy, int lease_s,
                          void (*fn)(const od_webhook_row_t *, void *), void *ctx) {
    char m[16], po[16], l[16];
    const char *p[] = {m, po, busy, l};
    int rc;
    snprintf(m, sizeof m, "%d", max);
    snprintf(po, sizeof po, "%d", per_org);
    snprintf(l, sizeof l, "%d", lease_s);
    PGresult *r = od_db__query(db,
                               "SELECT c.id, c.url, c.attempts, c.event_id, c.body,"
                               " coalesce(c.secret, ''), c.org_id,"
                               " coalesce(o.webhook_secret_previous, '')"
                               " FROM od_webhook_claim($1::integer, $2::integer, $3::text[],"
                               " make_interval(secs => $4::integer)) c"
                               " LEFT JOIN orgs o ON o.id = c.org_id",
                               4, p, &rc);
    if (!r) return rc;
    for (int i = 0; i < PQntuples(r); i++) {
        od_webhook_row_t row = {strtoll(PQgetvalue(r, i, 0), NULL, 10),
                                PQgetvalue(r, i, 1),
                                PQgetvalue(r, i, 3),
                                PQgetvalue(r, i, 4),
                                PQgetvalue(r, i, 5),
                                PQgetvalue(r, i, 6),
                                atoi(PQgetvalue(r, i, 2)),
                                PQgetvalue(r, i, 7)};
        fn(&row, ctx);
    }
    PQclear(r);
    return OD_OK;
}

int od_repo_webhook_result(od_db_t *db, long long id, const char *outcome, int http_status,
                           const char *error, long retry_ms, long give_up_s) {
    char i[24], h[16], rm[24], g[24];
    const char *p[] = {i, outcome, http_status ? h : NULL, error && *error ? error : NULL, rm, g};
    int rc;
    snprintf(i, sizeof i, "%lld", id);
    snprintf(h, sizeof h, "%d", http_status);
    snprintf(rm, sizeof rm, "%ld", retry_ms);
    snprintf(g, sizeof g, "%ld", give_up_s);
    PGresult *r = od_db__query(db,
                               "SELECT od_webhook_result($1::bigint, $2, $3::integer, $4,"
                               " make_interval(secs => $5::double precision / 1000),"
                               " make_interval(secs => $6::integer))",
                               6, p, &rc);
    if (r) PQclear(r);
    return r ? OD_OK : rc;
}
