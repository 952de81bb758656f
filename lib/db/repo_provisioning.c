/* Provisioning: the snapshot schedulers validate against, and the upsert of
 * `outdialctl apply` (see repo.h, docs/provisioning.md). */
#include "db/db_int.h"
#include "db/repo.h"
#include "domain/provisioning.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The snapshot of od_request_resolve: every org, or the orgs WHERE says. */
#define PROVISIONING_SQL(where)                                                                    \
    "SELECT (SELECT version FROM provisioning_version),"                                           \
    " jsonb_build_object('orgs', coalesce(jsonb_object_agg(o.id, jsonb_build_object("              \
    "  'plan', o.plan, 'max_concurrent', o.max_concurrent,"                                        \
    "  'numbers', coalesce((SELECT jsonb_object_agg(n.e164, jsonb_build_object("                   \
    "      'outbound_enabled', n.outbound_enabled, 'trunk', n.trunk_id))"                          \
    "    FROM numbers n WHERE n.org_id = o.id), '{}'),"                                            \
    "  'agents', coalesce((SELECT jsonb_object_agg(a.id, jsonb_build_object("                      \
    "      'sip_uri', a.sip_uri, 'default_from', a.default_from,"                                  \
    "      'max_duration_seconds', a.max_duration_seconds))"                                       \
    "    FROM agents a WHERE a.org_id = o.id), '{}'))), '{}'))::text"                              \
    " FROM orgs o" where

static int load(od_db_t *db, const char *sql, const char *org_id, json_t **out, long *version) {
    int rc;
    const char *p[] = {org_id};
    PGresult *r = od_db__query(db, sql, org_id ? 1 : 0, org_id ? p : NULL, &rc);
    if (!r) return rc;
    if (version) *version = atol(PQgetvalue(r, 0, 0));
    json_error_t jerr;
    *out = json_loads(PQgetvalue(r, 0, 1), 0, &jerr);
    PQclear(r);
    return *out ? OD_OK : OD_ERR_INVALID;
}

int od_repo_provisioning_load(od_db_t *db, json_t **out, long *version) {
    return load(db, PROVISIONING_SQL(""), NULL, out, version);
}

int od_repo_provisioning_load_org(od_db_t *db, const char *org_id, json_t **out) {
    return load(db, PROVISIONING_SQL(" WHERE o.id = $1"), org_id, out, NULL);
}

/* Runs a statement and returns the rows it affected, or -1 (errstr set,
 * prefixed by `path`). */
static long run(od_db_t *db, const char *path, const char *sql, int n, const char *const *p,
                char *errstr, size_t en) {
    int rc;
    PGresult *r = od_db__query(db, sql, n, p, &rc);
    if (!r) {
        snprintf(errstr, en, "%s: %s", path, od_db_error(db));
        return -1;
    }
    long rows = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : atol(PQcmdTuples(r));
    PQclear(r);
    return rows;
}

static const char *str(const json_t *o, const char *k) {
    return json_string_value(json_object_get(o, k));
}

/* A column of an upsert. `val` is what a new row gets (NULL: SQL NULL);
 * `given` says the file has the field (a value or null), so an existing
 * row gets it too: a field the file leaves out is left as it is. `set`
 * overrides "EXCLUDED.col" on update; `nocmp` leaves the column out of the
 * did-it-change test (it follows from another). */
typedef struct {
    const char *col, *val;
    int given;
    const char *set;
    int nocmp;
} col_t;

/* The field `k` of `o` as text into buf: a string, an integer, true/false;
 * `def` if absent or null. Returns what col_t.given needs. */
static int field(const json_t *o, const char *k, const char *def, char *buf, size_t n,
                 const char **val) {
    json_t *v = json_object_get(o, k);
    *val = def;
    if (json_is_string(v))
        *val = json_string_value(v);
    else if (json_is_integer(v))
        snprintf(buf, n, "%lld", (long long)json_integer_value(v)), *val = buf;
    else if (json_is_boolean(v))
        *val = json_is_true(v) ? "true" : "false";
    return v != NULL;
}

/* INSERT the row, or on a conflict on `key` update the given columns if
 * any differs (`where` may narrow it further). Returns rows changed or -1. */
static long upsert(od_db_t *db, const char *path, const char *table, const char *key,
                   const col_t *c, int n, const char *extra_set, const char *where, char *e,
                   size_t en) {
    char sql[2048], cols[512] = "", vals[256] = "", set[1024] = "", a[512] = "", b[512] = "";
    const char *p[16];
    int nset = 0;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(cols);
        snprintf(cols + l, sizeof cols - l, "%s%s", i ? ", " : "", c[i].col);
        l = strlen(vals);
        snprintf(vals + l, sizeof vals - l, "%s$%d", i ? ", " : "", i + 1);
        p[i] = c[i].val;
        if (!c[i].given) continue;
        l = strlen(set);
        if (c[i].set)
            snprintf(set + l, sizeof set - l, "%s%s = %s", nset ? ", " : "", c[i].col, c[i].set);
        else
            snprintf(set + l, sizeof set - l, "%s%s = EXCLUDED.%s", nset ? ", " : "", c[i].col,
                     c[i].col);
        if (!c[i].nocmp) {
            l = strlen(a);
            snprintf(a + l, sizeof a - l, "%s%s.%s", *a ? ", " : "", table, c[i].col);
            l = strlen(b);
            snprintf(b + l, sizeof b - l, "%sEXCLUDED.%s", *b ? ", " : "", c[i].col);
        }
        nset++;
    }
    if (!nset)
        snprintf(sql, sizeof sql, "INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) DO NOTHING",
                 table, cols, vals, key);
    else
        snprintf(sql, sizeof sql,
                 "INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) DO UPDATE SET %s%s%s"
                 " WHERE %s%sROW(%s) IS DISTINCT FROM ROW(%s)",
                 table, cols, vals, key, set, extra_set ? ", " : "", extra_set ? extra_set : "",
                 where ? where : "", where ? " AND " : "", a, b);
    return run(db, path, sql, n, p, e, en);
}

static int trunk_exists(const char *id, void *ctx) {
    char err[8];
    const char *p[] = {id};
    return run(ctx, "", "SELECT 1 FROM trunks WHERE id = $1", 1, p, err, sizeof err) == 1;
}

static int apply_trunks(od_db_t *db, const json_t *trunks, long *changes, char *e, size_t en) {
    size_t i;
    json_t *t;
    json_array_foreach((json_t *)trunks, i, t) {
        char path[64], cps[24], maxc[24];
        snprintf(path, sizeof path, "trunks[%zu]", i);
        col_t c[10] = {{"id", str(t, "id"), 0, NULL, 0}, {"proxy", str(t, "proxy"), 1, NULL, 0}};
        c[2].col = "username";
        c[2].given = field(t, "username", NULL, NULL, 0, &c[2].val);
        c[3].col = "password";
        c[3].given = field(t, "password", NULL, NULL, 0, &c[3].val);
        c[4].col = "cps";
        c[4].given = field(t, "cps", "10", cps, sizeof cps, &c[4].val);
        c[5].col = "max_concurrent";
        c[5].given = field(t, "max_concurrent", "100", maxc, sizeof maxc, &c[5].val);
        c[6].col = "transport";
        c[6].given = field(t, "transport", "udp", NULL, 0, &c[6].val);
        c[7].col = "outbound_proxy";
        c[7].given = field(t, "outbound_proxy", NULL, NULL, 0, &c[7].val);
        c[8].col = "caller_id";
        c[8].given = field(t, "caller_id", "from", NULL, 0, &c[8].val);
        c[9].col = "follow_redirects";
        c[9].given = field(t, "follow_redirects", "false", NULL, 0, &c[9].val);
        long n = upsert(db, path, "trunks", "id", c, 10, "updated_at = now()", NULL, e, en);
        if (n < 0) return -1;
        *changes += n;
    }
    return 0;
}

static int apply_rates(od_db_t *db, const json_t *rates, long *changes, char *e, size_t en) {
    size_t i;
    json_t *t;
    json_array_foreach((json_t *)rates, i, t) {
        char path[64], rate[24], inc[24];
        snprintf(path, sizeof path, "rates[%zu]", i);
        col_t c[3] = {{"prefix", str(t, "prefix"), 0, NULL, 0},
                      {"millicents_per_minute", NULL, 1, NULL, 0},
                      {"increment_seconds", NULL, 0, NULL, 0}};
        field(t, "millicents_per_minute", NULL, rate, sizeof rate, &c[1].val);
        c[2].given = field(t, "increment_seconds", "60", inc, sizeof inc, &c[2].val);
        long n = upsert(db, path, "rates", "prefix", c, 3, NULL, NULL, e, en);
        if (n < 0) return -1;
        *changes += n;
    }
    return 0;
}

/* A change of an existing org's grant: its settled credit folded in
 * first, then refused in plain words if what is spent or held would not
 * fit under the new grant. Returns 0 (also when nothing to do) or -1. */
static int check_grant(od_db_t *db, const char *path, const char *id, const char *grant, char *e,
                       size_t en) {
    const char *p[] = {id};
    int rc;
    PGresult *r = od_db__query(db, "SELECT 1 FROM orgs WHERE id = $1 FOR NO KEY UPDATE", 1, p, &rc);
    if (!r) goto db_error;
    int exists = PQntuples(r) == 1;
    PQclear(r);
    if (!exists) return 0;
    /* settled calls may have credit not yet folded into the balance */
    if (!(r = od_db__query(db, "SELECT od_fold_orgs(ARRAY[$1::text])", 1, p, &rc))) goto db_error;
    PQclear(r);
    if (!(r = od_db__query(db,
                           "SELECT granted_millicents, balance_millicents FROM orgs"
                           " WHERE id = $1",
                           1, p, &rc)))
        goto db_error;
    long long granted = atoll(PQgetvalue(r, 0, 0)), balance = atoll(PQgetvalue(r, 0, 1));
    long long want = atoll(grant), used = granted - balance;
    PQclear(r);
    if (balance + want - granted >= 0) return 0;
    snprintf(e, en,
             "%s.balance_millicents: cannot lower the grant of org \"%s\" from %lld to %lld:"
             " %lld of it is spent or held by calls, so the grant can go no lower than %lld"
             " (available now: %lld); nothing was applied",
             path, id, granted, want, used, used, balance);
    return -1;
db_error:
    snprintf(e, en, "%s: %s", path, od_db_error(db));
    return -1;
}

/* The org row, and its grant: the difference to the previous grant is
 * added to the balance and written to the ledger. Fields the file leaves
 * out are left as they are; an explicit null clears one. */
static int apply_org_row(od_db_t *db, const char *path, const json_t *org, long *changes, char *e,
                         size_t en) {
    char maxc[24], buf[24];
    const char *id = str(org, "id"), *grant;
    int grant_given = field(org, "balance_millicents", "0", buf, sizeof buf, &grant);
    if (grant_given && check_grant(db, path, id, grant, e, en)) return -1;
    col_t c[8] = {
        {"id", id, 0, NULL, 0},
        {"plan", str(org, "plan"), 1, NULL, 0},
        {"max_concurrent", NULL, 0, NULL, 0},
        {"granted_millicents", grant, grant_given, NULL, 0},
        {"balance_millicents", grant, grant_given,
         "orgs.balance_millicents + EXCLUDED.granted_millicents - orgs.granted_millicents", 1},
        {"webhook_url", NULL, 0, NULL, 0},
        {"webhook_secret", NULL, 0, NULL, 0},
        {"webhook_secret_previous", NULL, 0, NULL, 0}};
    c[2].given = field(org, "max_concurrent", NULL, maxc, sizeof maxc, &c[2].val);
    c[5].given = field(org, "webhook_url", NULL, NULL, 0, &c[5].val);
    c[6].given = field(org, "webhook_secret", NULL, NULL, 0, &c[6].val);
    c[7].given = field(org, "webhook_secret_previous", NULL, NULL, 0, &c[7].val);
    const char *pid[] = {id, grant};
    long n = 0;
    if (grant_given && (n = run(db, path,
                                "INSERT INTO ledger (org_id, kind, amount_millicents)"
                                " SELECT id, 'grant', $2::bigint - granted_millicents FROM orgs"
                                " WHERE id = $1 AND granted_millicents <> $2::bigint",
                                2, pid, e, en)) < 0)
        return -1;
    n = upsert(db, path, "orgs", "id", c, 8, "updated_at = now()", NULL, e, en);
    if (n < 0) {
        if (strstr(e, "balance_millicents_check"))
            snprintf(e, en,
                     "%s.balance_millicents: lowering the grant this much would make the"
                     " available balance negative; nothing was applied",
                     path);
        return -1;
    }
    *changes += n;
    /* A new org's first grant goes to the ledger too. */
    const char *pg[] = {id, grant};
    if (run(db, path,
            "INSERT INTO ledger (org_id, kind, amount_millicents) SELECT $1, 'grant', $2::bigint"
            " WHERE $2::bigint <> 0 AND NOT EXISTS (SELECT 1 FROM ledger WHERE org_id = $1)",
            2, pg, e, en) < 0)
        return -1;
    return 0;
}

static int apply_org(od_db_t *db, size_t idx, const json_t *org, long *changes, char *e,
                     size_t en) {
    char path[64];
    snprintf(path, sizeof path, "orgs[%zu]", idx);
    if (apply_org_row(db, path, org, changes, e, en)) return -1;
    const char *org_id = str(org, "id");
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(org, "numbers"), i, x) {
        char sub[96];
        snprintf(sub, sizeof sub, "%s.numbers[%zu]", path, i);
        col_t c[4] = {{"e164", str(x, "e164"), 0, NULL, 0},
                      {"org_id", org_id, 0, NULL, 0},
                      {"trunk_id", str(x, "trunk"), 1, NULL, 0},
                      {"outbound_enabled", NULL, 0, NULL, 0}};
        c[3].given = field(x, "outbound_enabled", "true", NULL, 0, &c[3].val);
        /* a number of another org is not taken over (see below) */
        long n = upsert(db, sub, "numbers", "e164", c, 4, NULL, "numbers.org_id = EXCLUDED.org_id",
                        e, en);
        if (n < 0) return -1;
        if (n == 0) {
            const char *q[] = {c[0].val, org_id};
            if (run(db, sub, "SELECT 1 FROM numbers WHERE e164 = $1 AND org_id <> $2", 2, q, e,
                    en) != 0) {
                snprintf(e, en, "%s: %s is owned by another org", sub, c[0].val);
                return -1;
            }
        }
        *changes += n;
    }
    json_array_foreach(json_object_get(org, "agents"), i, x) {
        char sub[96], maxd[24];
        snprintf(sub, sizeof sub, "%s.agents[%zu]", path, i);
        col_t c[8] = {{"org_id", org_id, 0, NULL, 0},
                      {"id", str(x, "id"), 0, NULL, 0},
                      {"sip_uri", str(x, "sip_uri"), 1, NULL, 0},
                      {"default_from", NULL, 0, NULL, 0},
                      {"max_duration_seconds", NULL, 0, NULL, 0},
                      {"transport", NULL, 0, NULL, 0},
                      {"username", NULL, 0, NULL, 0},
                      {"password", NULL, 0, NULL, 0}};
        c[3].given = field(x, "default_from", NULL, NULL, 0, &c[3].val);
        c[4].given = field(x, "max_duration_seconds", "3600", maxd, sizeof maxd, &c[4].val);
        c[5].given = field(x, "transport", "udp", NULL, 0, &c[5].val);
        c[6].given = field(x, "username", NULL, NULL, 0, &c[6].val);
        c[7].given = field(x, "password", NULL, NULL, 0, &c[7].val);
        long n = upsert(db, sub, "agents", "org_id, id", c, 8, NULL, NULL, e, en);
        if (n < 0) return -1;
        *changes += n;
    }
    return 0;
}

int od_repo_provisioning_apply(od_db_t *db, const json_t *doc, int *changes, char *e, size_t en) {
    long total = 0;
    int rc = od_db_exec(db, "BEGIN ISOLATION LEVEL SERIALIZABLE");
    if (rc) {
        snprintf(e, en, "database: %s", od_db_error(db));
        return rc;
    }
    if (od_provisioning_check(doc, trunk_exists, db, e, en) ||
        apply_trunks(db, json_object_get(doc, "trunks"), &total, e, en) ||
        apply_rates(db, json_object_get(doc, "rates"), &total, e, en))
        goto fail;
    size_t i;
    json_t *org;
    json_array_foreach(json_object_get(doc, "orgs"), i, org) {
        if (apply_org(db, i, org, &total, e, en)) goto fail;
    }
    if (total > 0 && run(db, "$",
                         "UPDATE provisioning_version SET version = version + 1;"
                         "",
                         0, NULL, e, en) < 0)
        goto fail;
    if (total > 0 && (rc = od_db_exec(db, "NOTIFY outdial_provisioning"))) goto fail;
    if ((rc = od_db_exec(db, "COMMIT"))) {
        snprintf(e, en, "commit: %s", od_db_error(db));
        return rc;
    }
    *changes = (int)total;
    return OD_OK;
fail:
    if (od_db_alive(db) && od_db_exec(db, "ROLLBACK")) {
    }
    return rc ? rc : OD_ERR_INVALID;
}
