/* The invariants `outdialctl audit` proves over a run, one query each: it
 * returns the number of violations and a sample of them. They read only
 * committed state (calls, call_events, ledger, counters), so they may run
 * while the system works; the sweep checks reconstruct every instant from
 * the events' times. */
#include "db/db_int.h"
#include "db/repo.h"

#include <stdio.h>
#include <stdlib.h>

#define LIVE "('initiated','ringing','answered','in_progress')"
/* the end of an attempt: a terminal event, or queued again for a retry */
#define ENDS                                                                                       \
    "('call.completed','call.no_answer','call.busy','call.failed','call.canceled','call.queued')"

/* +1 when a call is initiated, -1 when an initiated call ends, in time
 * order (ends first at equal times), partitioned by `part`. */
#define SWEEP(part)                                                                                \
    "WITH ev AS (SELECT c.org_id, c.to_number, e.call_id, e.occurred_at,"                          \
    "  CASE WHEN e.type = 'call.initiated' THEN 1 ELSE -1 END AS d"                                \
    "  FROM call_events e JOIN calls c USING (call_id)"                                            \
    "  WHERE e.type = 'call.initiated' OR (e.type IN " ENDS " AND EXISTS (SELECT 1 FROM"           \
    "  call_events i WHERE i.call_id = e.call_id AND i.type = 'call.initiated' AND i.seq < "       \
    "e.seq))),"                                                                                    \
    " run AS (SELECT " part " AS k, org_id, occurred_at, sum(d) OVER (PARTITION BY " part          \
    "  ORDER BY occurred_at, d, call_id) AS live FROM ev)"

static const od_audit_check_t checks[] = {
    {"no org is overdrawn",
     "SELECT count(*), string_agg(id || ' balance ' || balance_millicents, '; ')"
     " FROM orgs WHERE balance_millicents < 0 OR held_millicents < 0"},
    /* org_credit: each org's row with the releases not yet folded in */
    {"the ledger sums to each org's available balance",
     "SELECT count(*), string_agg(o.id || ': ledger ' || coalesce(l.s, 0) || ' balance '"
     " || o.balance_millicents, '; ') FROM org_credit o LEFT JOIN (SELECT org_id,"
     " sum(amount_millicents) s FROM ledger GROUP BY org_id) l ON l.org_id = o.id"
     " WHERE coalesce(l.s, 0) <> o.balance_millicents"},
    {"held credit equals the holds of calls in flight",
     "SELECT count(*), string_agg(o.id || ': held ' || o.held_millicents || ' live holds '"
     " || coalesce(c.s, 0), '; ') FROM org_credit o LEFT JOIN (SELECT org_id,"
     " sum(hold_millicents) s FROM calls WHERE status IN " LIVE " GROUP BY org_id) c"
     " ON c.org_id = o.id WHERE o.held_millicents <> coalesce(c.s, 0)"},
    {"slot counters equal calls in flight (orgs and trunks)",
     "SELECT count(*), string_agg(k, '; ') FROM ("
     " SELECT 'org ' || o.id AS k FROM org_credit o WHERE o.in_flight <> (SELECT count(*)"
     "  FROM calls c WHERE c.org_id = o.id AND c.status IN " LIVE ")"
     " UNION ALL SELECT 'trunk ' || t.id FROM trunks t WHERE t.in_flight - (SELECT count(*)"
     "  FROM trunk_releases r WHERE r.trunk_id = t.id) <> (SELECT count(*)"
     "  FROM calls c WHERE c.trunk_id = t.id AND c.status IN " LIVE ")) x"},
    {"no call cost more than its hold",
     "SELECT count(*), string_agg(call_id::text, '; ') FROM calls"
     " WHERE cost_millicents > hold_millicents"},
    {"no org ever had more calls in flight than its cap",
     SWEEP("org_id") " SELECT count(*), string_agg(k || ' reached ' || m, '; ') FROM (SELECT k,"
                     " max(live) m FROM run GROUP BY k) x JOIN orgs o ON o.id = x.k"
                     " WHERE m > od_org_cap(o.plan, o.max_concurrent)"},
    {"never two calls in flight to one destination",
     SWEEP("to_number") " SELECT count(*), string_agg(k || ' had ' || m, '; ') FROM (SELECT k,"
                        " max(live) m FROM run GROUP BY k) x WHERE m > 1"},
    {"each call's events run 1..seq without a gap or a double",
     "SELECT count(*), string_agg(call_id::text, '; ') FROM (SELECT c.call_id FROM calls c"
     " JOIN call_events e USING (call_id) GROUP BY c.call_id, c.seq"
     " HAVING count(*) <> c.seq OR max(e.seq) <> c.seq) x"},
    {"every event has its own event_id",
     "SELECT count(*), string_agg(event_id::text, '; ') FROM (SELECT event_id FROM call_events"
     " GROUP BY event_id HAVING count(*) > 1 LIMIT 20) x"},
    /* A hole between the offset ranges intake recorded (schemas/sql/007):
     * messages no intake stored, each hole named topic/partition first-last. */
    {"every message on the requests topic has its row",
     "SELECT count(*), string_agg(topic || '/' || partition || ' offsets ' || (before + 1) || '-'"
     " || (first_offset - 1), '; ' ORDER BY topic, partition, first_offset) FROM (SELECT *,"
     " max(last_offset) OVER (PARTITION BY topic, partition ORDER BY first_offset, last_offset"
     " ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before FROM intake_ranges) x"
     " WHERE first_offset > before + 1"},
    {"every request has ended (with --final)",
     "SELECT count(*), string_agg(org_id || '/' || request_id || ' ' || status, '; ')"
     " FROM (SELECT * FROM calls WHERE status IN ('queued', 'initiated', 'ringing', 'answered',"
     " 'in_progress') LIMIT 20) x"},
};

const od_audit_check_t *od_audit_checks(int *n) {
    *n = (int)(sizeof checks / sizeof *checks);
    return checks;
}

int od_repo_audit_run(od_db_t *db, const od_audit_check_t *check, long *violations, char *sample,
                      size_t sample_size) {
    int rc;
    PGresult *r = od_db__query(db, check->sql, 0, NULL, &rc);
    if (!r) return rc;
    *violations = atol(PQgetvalue(r, 0, 0));
    snprintf(sample, sample_size, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    return OD_OK;
}
