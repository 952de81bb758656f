/* Figures for `outdialctl stats` (see repo.h), computed by PostgreSQL in one
 * statement over the calls received in a window. */
#include "db/db_int.h"
#include "db/repo.h"

/* c: the calls in the window, read once. A call "finished" when it reached
 * a terminal status: at ended_at if it was dialed, else at its last update.
 * Each scope (one org, or all of them: GROUPING SETS) counts requests by
 * status, how many were dialed (admitted at least once) and answered, the
 * average talk time of answered calls, billable seconds and cost, error
 * codes and webhook deliveries. The timeline buckets three moments per
 * call by minute: received, answered, finished (with its cost). */
static const char sql[] =
    "WITH c AS MATERIALIZED ("
    "  SELECT call_id, org_id, status, attempt > 0 AS dialed, answered_at, duration_seconds,"
    "         billable_seconds, cost_millicents, error_code, created_at,"
    "         CASE WHEN status IN ('completed','no_answer','busy','failed','canceled','rejected',"
    "                              'expired') THEN coalesce(ended_at, updated_at) END AS "
    "finished_at"
    "    FROM calls"
    "   WHERE ($1::text IS NULL OR org_id = $1)"
    "     AND created_at >= coalesce($2::text::timestamptz, '-infinity')"
    "     AND created_at < coalesce($3::text::timestamptz, 'infinity')),"
    " scope AS ("
    "  SELECT GROUPING(org_id) = 1 AS overall, org_id, jsonb_build_object("
    "    'requests', count(*),"
    "    'by_status', jsonb_build_object("
    "      'queued', count(*) FILTER (WHERE status = 'queued'),"
    "      'initiated', count(*) FILTER (WHERE status = 'initiated'),"
    "      'ringing', count(*) FILTER (WHERE status = 'ringing'),"
    "      'answered', count(*) FILTER (WHERE status = 'answered'),"
    "      'in_progress', count(*) FILTER (WHERE status = 'in_progress'),"
    "      'completed', count(*) FILTER (WHERE status = 'completed'),"
    "      'no_answer', count(*) FILTER (WHERE status = 'no_answer'),"
    "      'busy', count(*) FILTER (WHERE status = 'busy'),"
    "      'failed', count(*) FILTER (WHERE status = 'failed'),"
    "      'canceled', count(*) FILTER (WHERE status = 'canceled'),"
    "      'rejected', count(*) FILTER (WHERE status = 'rejected'),"
    "      'expired', count(*) FILTER (WHERE status = 'expired')),"
    "    'in_flight', count(*) FILTER (WHERE finished_at IS NULL AND status <> 'queued'),"
    "    'dialed', count(*) FILTER (WHERE dialed),"
    "    'answered', count(answered_at),"
    "    'answer_rate', round(count(answered_at)::numeric"
    "                         / nullif(count(*) FILTER (WHERE dialed), 0), 4),"
    "    'avg_duration_seconds', round(avg(duration_seconds) FILTER ("
    "                                  WHERE answered_at IS NOT NULL), 1),"
    "    'billable_seconds', coalesce(sum(billable_seconds), 0),"
    "    'cost_millicents', coalesce(sum(cost_millicents), 0)) AS figures"
    "    FROM c GROUP BY GROUPING SETS ((org_id), ())),"
    " errs AS ("
    "  SELECT overall, org_id, jsonb_object_agg(error_code, n) AS errors"
    "    FROM (SELECT GROUPING(org_id) = 1 AS overall, org_id, error_code, count(*) AS n"
    "            FROM c WHERE error_code IS NOT NULL"
    "           GROUP BY GROUPING SETS ((org_id, error_code), (error_code))) e"
    "   GROUP BY overall, org_id),"
    " hooks AS ("
    "  SELECT GROUPING(c.org_id) = 1 AS overall, c.org_id, jsonb_build_object("
    "    'pending', count(*) FILTER (WHERE d.status = 'pending'),"
    "    'delivered', count(*) FILTER (WHERE d.status = 'delivered'),"
    "    'failed', count(*) FILTER (WHERE d.status = 'failed')) AS webhooks"
    "    FROM c JOIN webhook_deliveries d ON d.call_id = c.call_id"
    "   GROUP BY GROUPING SETS ((c.org_id), ())),"
    " full_scope AS ("
    "  SELECT s.overall, s.org_id, s.figures || jsonb_build_object("
    "    'errors', coalesce(e.errors, '{}'),"
    "    'webhooks', coalesce(h.webhooks,"
    "                         '{\"pending\": 0, \"delivered\": 0, \"failed\": 0}')) AS figures"
    "    FROM scope s"
    "    LEFT JOIN errs e ON e.overall = s.overall AND e.org_id IS NOT DISTINCT FROM s.org_id"
    "    LEFT JOIN hooks h ON h.overall = s.overall AND h.org_id IS NOT DISTINCT FROM s.org_id),"
    " moments AS ("
    "  SELECT created_at AS t, 1 AS received, 0 AS answered, 0 AS finished, 0 AS cost FROM c"
    "  UNION ALL SELECT answered_at, 0, 1, 0, 0 FROM c WHERE answered_at IS NOT NULL"
    "  UNION ALL SELECT finished_at, 0, 0, 1, coalesce(cost_millicents, 0) FROM c"
    "             WHERE finished_at IS NOT NULL),"
    " timeline AS ("
    "  SELECT date_trunc('minute', t) AS minute, sum(received) AS received,"
    "         sum(answered) AS answered, sum(finished) AS finished, sum(cost) AS cost"
    "    FROM moments GROUP BY 1)"
    " SELECT jsonb_build_object("
    "  'generated_at', to_char(clock_timestamp() AT TIME ZONE 'UTC',"
    "                          'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    "  'window', jsonb_build_object('org_id', $1::text, 'since', $2::text, 'until', $3::text),"
    "  'overall', (SELECT figures FROM full_scope WHERE overall),"
    "  'orgs', coalesce((SELECT jsonb_agg(jsonb_build_object('org_id', org_id) || figures"
    "                                     ORDER BY org_id) FROM full_scope WHERE NOT overall),"
    "                   '[]'),"
    "  'timeline', coalesce((SELECT jsonb_agg(jsonb_build_object("
    "      'minute', to_char(minute AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI\"Z\"'),"
    "      'received', received, 'answered', answered, 'finished', finished,"
    "      'cost_millicents', cost) ORDER BY minute) FROM timeline), '[]'))::text";

int od_repo_stats(od_db_t *db, const char *org_id, const char *since, const char *until,
                  json_t **out) {
    const char *p[] = {org_id, since, until};
    int rc;
    *out = NULL;
    PGresult *r = od_db__query(db, sql, 3, p, &rc);
    if (!r) return rc;
    json_error_t jerr;
    *out = json_loads(PQgetvalue(r, 0, 0), 0, &jerr);
    PQclear(r);
    if (!*out) return OD_ERR_DB;
    return OD_OK;
}
