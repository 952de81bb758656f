/* Admission, dialer reports, lost dialers and cancels: thin calls of the
 * PL/pgSQL functions of schemas/sql/002_admission.sql (see repo.h), where
 * the rules live next to the rows they guard. */
#include "core/buf.h"
#include "db/db_int.h"
#include "db/repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs a one-row, one-integer-column query. */
static int one_int(od_db_t *db, const char *sql, int np, const char *const *p, int *out) {
    int rc;
    PGresult *r = od_db__query(db, sql, np, p, &rc);
    if (!r) return rc;
    *out = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return OD_OK;
}

int od_repo_admit(od_db_t *db, int max, int *n) {
    char m[16];
    const char *p[] = {m};
    int expired = 0;
    snprintf(m, sizeof m, "%d", max);
    int rc = one_int(db, "SELECT od_expire($1::integer)", 1, p, &expired);
    return rc ? rc : one_int(db, "SELECT od_admit($1::integer)", 1, p, n);
}

int od_repo_reap(od_db_t *db, const char *topic, int silence_s, int max, int *n) {
    char s[16], m[16];
    const char *p[] = {topic, s, m};
    snprintf(s, sizeof s, "%d", silence_s);
    snprintf(m, sizeof m, "%d", max);
    return one_int(db, "SELECT od_reap($1, make_interval(secs => $2::integer), $3::integer)", 3, p,
                   n);
}

int od_repo_fold_orgs(od_db_t *db, int *n) {
    return one_int(db, "SELECT od_fold_all()", 0, NULL, n);
}

int od_repo_reports(od_db_t *db, const char *reports, int *applied,
                    void (*skipped)(const char *, void *), void *ctx) {
    const char *p[] = {reports};
    int rc;
    PGresult *r = od_db__query(
        db, "SELECT applied, array_to_json(skipped) FROM od_reports($1::json[])", 1, p, &rc);
    if (!r) return rc;
    *applied = atoi(PQgetvalue(r, 0, 0));
    const char *why = PQgetvalue(r, 0, 1);
    if (skipped && strcmp(why, "[]")) skipped(why, ctx);
    PQclear(r);
    return OD_OK;
}

int od_repo_cancel(od_db_t *db, const char *org_id, const char *request_id, char *outcome,
                   size_t n) {
    const char *p[] = {org_id, request_id};
    int rc;
    PGresult *r = od_db__query(db, "SELECT od_cancel($1, $2)", 2, p, &rc);
    if (!r) return rc;
    snprintf(outcome, n, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return OD_OK;
}

int od_repo_report_progress(od_db_t *db, const char *topic, int partitions, int n,
                            const int32_t *parts, const int64_t *through_ms) {
    if (n <= 0) return OD_OK;
    od_buf_t a = {0}, t = {0};
    char total[16];
    snprintf(total, sizeof total, "%d", partitions);
    od_buf_putc(&a, '{');
    od_buf_putc(&t, '{');
    for (int i = 0; i < n; i++) {
        od_buf_printf(&a, "%s%d", i ? "," : "", (int)parts[i]);
        od_buf_printf(&t, "%s%lld", i ? "," : "", (long long)through_ms[i]);
    }
    od_buf_putc(&a, '}');
    od_buf_putc(&t, '}');
    const char *p[] = {topic, total, a.data, t.data};
    int rc;
    PGresult *r = od_db__query(db,
                               "SELECT od_report_progress($1, $2::integer, $3::integer[],"
                               " (SELECT array_agg(to_timestamp(x / 1000.0) ORDER BY i)"
                               "  FROM unnest($4::bigint[]) WITH ORDINALITY u (x, i)))",
                               4, p, &rc);
    PQclear(r);
    od_buf_free(&a);
    od_buf_free(&t);
    return rc;
}
