/* What the HTTP API (lib/api) reads and what `outdialctl keys` writes (see
 * repo.h): API keys by hash, and a call as the API shows it, scoped to the
 * caller's org. */
#include "db/db_int.h"
#include "db/repo.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_uuid(const char *s) {
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    for (int i = 0; shape[i]; i++, s++) {
        if (shape[i] == '-' ? *s != '-' : !isxdigit((unsigned char)*s)) return 0;
    }
    return *s == 0;
}

/* Runs `sql` returning one text column, parsed as JSON into *out (NULL if
 * no row). */
static int query_json(od_db_t *db, const char *sql, int n, const char *const *p, json_t **out) {
    int rc;
    *out = NULL;
    PGresult *r = od_db__query(db, sql, n, p, &rc);
    if (!r) return rc;
    if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) *out = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    return OD_OK;
}

/* A call as the API shows it (docs/api.md), from a row `c` of calls. */
#define CALL_JSON                                                                                  \
    "jsonb_build_object('call_id', c.call_id, 'request_id', c.request_id,"                         \
    " 'agent_id', c.agent_id, 'from_number', c.from_number, 'to_number', c.to_number,"             \
    " 'status', c.status, 'attempt', c.attempt, 'error_code', c.error_code,"                       \
    " 'error_message', c.error_message, 'sip_status', c.sip_status,"                               \
    " 'sip_reason', c.sip_reason, 'hangup_by', c.hangup_by,"                                       \
    " 'created_at', od_ts(c.created_at), 'updated_at', od_ts(c.updated_at),"                       \
    " 'ringing_at', od_ts(c.ringing_at), 'answered_at', od_ts(c.answered_at),"                     \
    " 'ended_at', od_ts(c.ended_at), 'duration_seconds', c.duration_seconds,"                      \
    " 'billable_seconds', c.billable_seconds, 'cost_millicents', c.cost_millicents,"               \
    " 'credit_status', c.credit_status, 'not_before', od_ts(c.not_before),"                        \
    " 'expires_at', od_ts(c.expires_at),"                                                          \
    " 'metadata', CASE WHEN json_typeof(c.request->'metadata') = 'object'"                         \
    "             THEN c.request->'metadata' END,"                                                 \
    " 'webhook_status', (SELECT w.status FROM call_webhooks w WHERE w.call_id = c.call_id))"

int od_repo_api_call_get(od_db_t *db, const char *call_id, const char *org_id, json_t **out) {
    static const char sql[] =
        "SELECT " CALL_JSON "::text FROM calls c WHERE c.call_id = $1::uuid AND c.org_id = $2";
    *out = NULL;
    if (!is_uuid(call_id) || !*org_id) return OD_OK; /* no call of an org has that id */
    const char *p[] = {call_id, org_id};
    return query_json(db, sql, 2, p, out);
}

int od_repo_api_calls_list(od_db_t *db, const od_repo_call_filter_t *f, json_t **calls, int *more,
                           char *last_created_us, size_t last_created_us_size,
                           char last_call_id[37]) {
    /* Unnamed statement: planned for these values, so the filters not
     * given drop out and the (org_id, created_at, call_id) index serves
     * the order and the cursor (migration 012). */
    static const char sql[] =
        "SELECT " CALL_JSON "::text, (extract(epoch FROM c.created_at) * 1000000)::bigint,"
        " c.call_id FROM calls c WHERE c.org_id = $1"
        " AND ($2::text IS NULL OR c.status = ANY (string_to_array($2, ',')))"
        " AND ($3::text IS NULL OR c.to_number = $3)"
        " AND ($4::text IS NULL OR c.agent_id = $4)"
        " AND ($5::timestamptz IS NULL OR c.created_at >= $5::timestamptz)"
        " AND ($6::timestamptz IS NULL OR c.created_at < $6::timestamptz)"
        " AND ($7::text IS NULL OR (json_typeof(c.request->'metadata') = 'object'"
        "      AND c.request->'metadata'->>$7 = $8))"
        " AND ($9::bigint IS NULL OR (c.created_at, c.call_id) <"
        "      (timestamptz 'epoch' + $9::bigint * interval '1 microsecond', $10::uuid))"
        " ORDER BY c.created_at DESC, c.call_id DESC LIMIT $11::integer";
    char limit[16];
    snprintf(limit, sizeof limit, "%d", f->limit + 1); /* one more: is there a next page? */
    *calls = NULL;
    *more = 0;
    last_created_us[0] = last_call_id[0] = 0;
    if (f->after_call_id && !is_uuid(f->after_call_id)) return OD_ERR_INVALID;
    const char *p[] = {f->org_id,           f->status,         f->to_number, f->agent_id,
                       f->created_after,    f->created_before, f->meta_key,  f->meta_value,
                       f->after_created_us, f->after_call_id,  limit};
    int rc;
    PGresult *r = od_db__query(db, sql, 11, p, &rc);
    if (!r) return rc;
    json_t *arr = json_array();
    int n = PQntuples(r);
    if (n > f->limit) {
        *more = 1;
        n = f->limit;
    }
    for (int i = 0; i < n; i++) {
        json_t *call = json_loads(PQgetvalue(r, i, 0), 0, NULL);
        if (call) json_array_append_new(arr, call);
    }
    if (n > 0) {
        snprintf(last_created_us, last_created_us_size, "%s", PQgetvalue(r, n - 1, 1));
        snprintf(last_call_id, 37, "%s", PQgetvalue(r, n - 1, 2));
    }
    PQclear(r);
    *calls = arr;
    return OD_OK;
}

int od_repo_api_call_events(od_db_t *db, const char *call_id, const char *org_id, json_t **out) {
    static const char sql[] =
        "SELECT (SELECT coalesce(json_agg(e.body ORDER BY e.seq), '[]') FROM call_events e"
        " WHERE e.call_id = c.call_id)::text FROM calls c"
        " WHERE c.call_id = $1::uuid AND c.org_id = $2";
    *out = NULL;
    if (!is_uuid(call_id) || !*org_id) return OD_OK;
    const char *p[] = {call_id, org_id};
    return query_json(db, sql, 2, p, out);
}

int od_repo_api_credit(od_db_t *db, const char *org_id, const char *to_number, int max_duration_s,
                       long long *hold, long long *credit) {
    /* The hold and the comparison are od_admit's (schemas/sql/010, "Each
     * org's next calls"): the longest rate prefix of the destination,
     * ceil(ceil(max_duration / increment) x increment x rate / 60), refused
     * when above balance + held once settled releases are folded in, which
     * is what the org_credit view shows without folding them. */
    static const char sql[] =
        "SELECT h.hold, oc.balance_millicents + oc.held_millicents FROM org_credit oc"
        " LEFT JOIN LATERAL od_rate_for($2, ARRAY(SELECT DISTINCT length(prefix) FROM rates)) r"
        " ON true"
        " CROSS JOIN LATERAL (SELECT ceil(ceil($3::numeric / r.increment_seconds)"
        "     * r.increment_seconds * r.millicents_per_minute / 60)::bigint AS hold) h"
        " WHERE oc.id = $1";
    char dur[16];
    snprintf(dur, sizeof dur, "%d", max_duration_s);
    const char *p[] = {org_id, to_number, dur};
    int rc;
    *hold = *credit = -1;
    PGresult *r = od_db__query(db, sql, 3, p, &rc);
    if (!r) return rc;
    if (PQntuples(r) == 1) {
        if (!PQgetisnull(r, 0, 0)) *hold = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        if (!PQgetisnull(r, 0, 1)) *credit = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    }
    PQclear(r);
    return OD_OK;
}

int od_repo_api_key_create(od_db_t *db, const char *org_id, const char *name, const char *hash,
                           char id[37]) {
    static const char sql[] = "INSERT INTO api_keys (org_id, name, hash)"
                              " SELECT id, $2, $3 FROM orgs WHERE id = $1 RETURNING id";
    const char *p[] = {org_id, name ? name : "", hash};
    int rc;
    PGresult *r = od_db__query(db, sql, 3, p, &rc);
    if (!r) return rc;
    rc = PQntuples(r) == 1 ? OD_OK : OD_ERR_NOT_FOUND;
    if (rc == OD_OK) snprintf(id, 37, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

int od_repo_api_keys_list(od_db_t *db, const char *org_id, json_t **out) {
    static const char sql[] =
        "SELECT coalesce(json_agg(json_build_object('id', id, 'org_id', org_id, 'name', name,"
        " 'created_at', od_ts(created_at), 'revoked_at', od_ts(revoked_at))"
        " ORDER BY created_at, id), '[]')::text"
        " FROM api_keys WHERE $1::text IS NULL OR org_id = $1";
    const char *p[] = {org_id};
    int rc = query_json(db, sql, 1, p, out);
    if (rc == OD_OK && !*out) rc = OD_ERR_INVALID;
    return rc;
}

int od_repo_api_key_revoke(od_db_t *db, const char *id) {
    static const char sql[] =
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1::uuid";
    if (!is_uuid(id)) return OD_ERR_NOT_FOUND;
    const char *p[] = {id};
    int rc;
    PGresult *r = od_db__query(db, sql, 1, p, &rc);
    if (!r) return rc;
    rc = atoi(PQcmdTuples(r)) == 1 ? OD_OK : OD_ERR_NOT_FOUND;
    PQclear(r);
    /* outdial-api keeps keys in memory for a few seconds: tell it now. */
    if (rc == OD_OK && (rc = od_db_exec(db, "NOTIFY outdial_api_keys"))) return rc;
    return rc;
}

int od_repo_api_key_find(od_db_t *db, const char *hash, char *org_id, size_t org_id_size,
                         char stored[65]) {
    static const char sql[] =
        "SELECT org_id, hash FROM api_keys WHERE hash = $1 AND revoked_at IS NULL";
    const char *p[] = {hash};
    int rc;
    PGresult *r = od_db__query(db, sql, 1, p, &rc);
    if (!r) return rc;
    rc = PQntuples(r) == 1 ? OD_OK : OD_ERR_NOT_FOUND;
    if (rc == OD_OK) {
        snprintf(org_id, org_id_size, "%s", PQgetvalue(r, 0, 0));
        snprintf(stored, 65, "%s", PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return rc;
}
