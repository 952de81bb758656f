/* Provisioning: the snapshot schedulers validate against, and the upsert of
 * `outdialctl apply` (see repo.h, docs/provisioning.md). */
#include "db/db_int.h"
#include "db/repo.h"
#include "domain/provisioning.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int od_repo_provisioning_load(od_db_t *db, json_t **out, long *version) {
    static const char sql[] =
        "SELECT (SELECT version FROM provisioning_version),"
        " jsonb_build_object('orgs', coalesce(jsonb_object_agg(o.id, jsonb_build_object("
        "  'plan', o.plan, 'max_concurrent', o.max_concurrent,"
        "  'numbers', coalesce((SELECT jsonb_object_agg(n.e164, jsonb_build_object("
        "      'outbound_enabled', n.outbound_enabled, 'trunk', n.trunk_id))"
        "    FROM numbers n WHERE n.org_id = o.id), '{}'),"
        "  'agents', coalesce((SELECT jsonb_object_agg(a.id, jsonb_build_object("
        "      'sip_uri', a.sip_uri, 'default_from', a.default_from,"
        "      'max_duration_seconds', a.max_duration_seconds))"
        "    FROM agents a WHERE a.org_id = o.id), '{}'))), '{}'))::text"
        " FROM orgs o";
    int rc;
    PGresult *r = od_db__query(db, sql, 0, NULL, &rc);
    if (!r) return rc;
    *version = atol(PQgetvalue(r, 0, 0));
    json_error_t jerr;
    *out = json_loads(PQgetvalue(r, 0, 1), 0, &jerr);
    PQclear(r);
    return *out ? OD_OK : OD_ERR_INVALID;
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

/* Formats an optional integer field, or returns NULL (SQL NULL) if absent
 * and def is NULL. */
static const char *num(const json_t *o, const char *k, const char *def, char *buf, size_t n) {
    json_t *v = json_object_get(o, k);
    if (!v) return def;
    snprintf(buf, n, "%lld", (long long)json_integer_value(v));
    return buf;
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
        const char *p[] = {str(t, "id"),
                           str(t, "proxy"),
                           str(t, "username"),
                           str(t, "password"),
                           num(t, "cps", "10", cps, sizeof cps),
                           num(t, "max_concurrent", "100", maxc, sizeof maxc)};
        long n =
            run(db, path,
                "INSERT INTO trunks (id, proxy, username, password, cps, max_concurrent)"
                " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET"
                " proxy = EXCLUDED.proxy, username = EXCLUDED.username,"
                " password = EXCLUDED.password, cps = EXCLUDED.cps,"
                " max_concurrent = EXCLUDED.max_concurrent, updated_at = now()"
                " WHERE (trunks.proxy, trunks.username, trunks.password, trunks.cps,"
                " trunks.max_concurrent) IS DISTINCT FROM (EXCLUDED.proxy,"
                " EXCLUDED.username, EXCLUDED.password, EXCLUDED.cps, EXCLUDED.max_concurrent)",
                6, p, e, en);
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
        const char *p[] = {str(t, "prefix"),
                           num(t, "millicents_per_minute", NULL, rate, sizeof rate),
                           num(t, "increment_seconds", "60", inc, sizeof inc)};
        long n =
            run(db, path,
                "INSERT INTO rates (prefix, millicents_per_minute, increment_seconds)"
                " VALUES ($1, $2, $3) ON CONFLICT (prefix) DO UPDATE SET"
                " millicents_per_minute = EXCLUDED.millicents_per_minute,"
                " increment_seconds = EXCLUDED.increment_seconds"
                " WHERE (rates.millicents_per_minute, rates.increment_seconds)"
                " IS DISTINCT FROM (EXCLUDED.millicents_per_minute, EXCLUDED.increment_seconds)",
                3, p, e, en);
        if (n < 0) return -1;
        *changes += n;
    }
    return 0;
}

/* The org row, and its grant: the difference to the previous grant is
 * added to the balance and written to the ledger. */
static int apply_org_row(od_db_t *db, const char *path, const json_t *org, long *changes, char *e,
                         size_t en) {
    char maxc[24], buf[24];
    const char *id = str(org, "id");
    const char *grant = num(org, "balance_millicents", "0", buf, sizeof buf);
    const char *p[] = {
        id,    str(org, "plan"),        num(org, "max_concurrent", NULL, maxc, sizeof maxc),
        grant, str(org, "webhook_url"), str(org, "webhook_secret")};
    const char *pid[] = {id, grant};
    long n = run(db, path,
                 "INSERT INTO ledger (org_id, kind, amount_millicents)"
                 " SELECT id, 'grant', $2::bigint - granted_millicents FROM orgs"
                 " WHERE id = $1 AND granted_millicents <> $2::bigint",
                 2, pid, e, en);
    if (n < 0) return -1;
    n = run(db, path,
            "INSERT INTO orgs (id, plan, max_concurrent, granted_millicents, balance_millicents,"
            " webhook_url, webhook_secret) VALUES ($1, $2, $3, $4, $4, $5, $6)"
            " ON CONFLICT (id) DO UPDATE SET plan = EXCLUDED.plan,"
            " max_concurrent = EXCLUDED.max_concurrent,"
            " balance_millicents = orgs.balance_millicents"
            "   + EXCLUDED.granted_millicents - orgs.granted_millicents,"
            " granted_millicents = EXCLUDED.granted_millicents,"
            " webhook_url = EXCLUDED.webhook_url, webhook_secret = EXCLUDED.webhook_secret,"
            " updated_at = now()"
            " WHERE (orgs.plan, orgs.max_concurrent, orgs.granted_millicents, orgs.webhook_url,"
            " orgs.webhook_secret) IS DISTINCT FROM (EXCLUDED.plan, EXCLUDED.max_concurrent,"
            " EXCLUDED.granted_millicents, EXCLUDED.webhook_url, EXCLUDED.webhook_secret)"
            " RETURNING (xmax = 0)",
            6, p, e, en);
    if (n < 0) {
        if (strstr(e, "balance_millicents_check"))
            snprintf(e, en,
                     "%s.balance_millicents: lowering the grant this much would make the"
                     " available balance negative",
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
        json_t *ob = json_object_get(x, "outbound_enabled");
        const char *p[] = {str(x, "e164"), org_id, str(x, "trunk"),
                           ob && !json_is_true(ob) ? "false" : "true"};
        long n = run(db, sub,
                     "INSERT INTO numbers (e164, org_id, trunk_id, outbound_enabled)"
                     " VALUES ($1, $2, $3, $4) ON CONFLICT (e164) DO UPDATE SET"
                     " trunk_id = EXCLUDED.trunk_id, outbound_enabled = EXCLUDED.outbound_enabled"
                     " WHERE numbers.org_id = EXCLUDED.org_id AND (numbers.trunk_id,"
                     " numbers.outbound_enabled) IS DISTINCT FROM (EXCLUDED.trunk_id,"
                     " EXCLUDED.outbound_enabled)",
                     4, p, e, en);
        if (n < 0) return -1;
        if (n == 0) {
            const char *q[] = {p[0], org_id};
            if (run(db, sub, "SELECT 1 FROM numbers WHERE e164 = $1 AND org_id <> $2", 2, q, e,
                    en) != 0) {
                snprintf(e, en, "%s: %s is owned by another org", sub, p[0]);
                return -1;
            }
        }
        *changes += n;
    }
    json_array_foreach(json_object_get(org, "agents"), i, x) {
        char sub[96], maxd[24];
        snprintf(sub, sizeof sub, "%s.agents[%zu]", path, i);
        const char *p[] = {org_id, str(x, "id"), str(x, "sip_uri"), str(x, "default_from"),
                           num(x, "max_duration_seconds", "3600", maxd, sizeof maxd)};
        long n = run(db, sub,
                     "INSERT INTO agents (org_id, id, sip_uri, default_from, max_duration_seconds)"
                     " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id, id) DO UPDATE SET"
                     " sip_uri = EXCLUDED.sip_uri, default_from = EXCLUDED.default_from,"
                     " max_duration_seconds = EXCLUDED.max_duration_seconds"
                     " WHERE (agents.sip_uri, agents.default_from, agents.max_duration_seconds)"
                     " IS DISTINCT FROM (EXCLUDED.sip_uri, EXCLUDED.default_from,"
                     " EXCLUDED.max_duration_seconds)",
                     5, p, e, en);
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
