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

int od_repo_api_call_get(od_db_t *db, const char *call_id, const char *org_id, json_t **out) {
    static const char sql[] =
        "SELECT jsonb_build_object('call_id', c.call_id, 'request_id', c.request_id,"
        " 'agent_id', c.agent_id, 'from_number', c.from_number, 'to_number', c.to_number,"
        " 'status', c.status, 'attempt', c.attempt, 'error_code', c.error_code,"
        " 'error_message', c.error_message, 'sip_status', c.sip_status,"
        " 'sip_reason', c.sip_reason, 'hangup_by', c.hangup_by,"
        " 'created_at', od_ts(c.created_at), 'updated_at', od_ts(c.updated_at),"
        " 'ringing_at', od_ts(c.ringing_at), 'answered_at', od_ts(c.answered_at),"
        " 'ended_at', od_ts(c.ended_at), 'duration_seconds', c.duration_seconds,"
        " 'billable_seconds', c.billable_seconds, 'cost_millicents', c.cost_millicents,"
        " 'credit_status', c.credit_status, 'not_before', od_ts(c.not_before),"
        " 'expires_at', od_ts(c.expires_at),"
        " 'metadata', CASE WHEN json_typeof(c.request->'metadata') = 'object'"
        "             THEN c.request->'metadata' END,"
        " 'webhook_status', (SELECT w.status FROM call_webhooks w WHERE w.call_id = c.call_id)"
        ")::text FROM calls c WHERE c.call_id = $1::uuid AND c.org_id = $2";
    *out = NULL;
    if (!is_uuid(call_id) || !*org_id) return OD_OK; /* no call of an org has that id */
    const char *p[] = {call_id, org_id};
    return query_json(db, sql, 2, p, out);
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
