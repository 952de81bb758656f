/* Migration runner (see migrations.h). */
#include "db/db_int.h"
#include "db/migrations.h"

#include <stdio.h>
#include <stdlib.h>

#define MIGRATE_LOCK "7419001" /* advisory lock key of migrations */

int od_db_schema_version(od_db_t *db) {
    int rc;
    PGresult *r = od_db__query(
        db, "SELECT coalesce(max(version), 0) FROM outdial_schema_migrations", 0, NULL, &rc);
    if (!r) return rc;
    int v = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

int od_db_migrate(od_db_t *db, int *applied, char *errstr, size_t n) {
    int rc;
    *applied = 0;
    if ((rc = od_db_exec(db, "SET client_min_messages = warning;"
                             "SELECT pg_advisory_lock(" MIGRATE_LOCK ");"
                             "CREATE TABLE IF NOT EXISTS outdial_schema_migrations ("
                             " version integer PRIMARY KEY, name text NOT NULL,"
                             " applied_at timestamptz NOT NULL DEFAULT now())"))) {
        snprintf(errstr, n, "migrate: %s", od_db_error(db));
        return rc;
    }
    int current = od_db_schema_version(db);
    if (current < 0) {
        rc = current;
        snprintf(errstr, n, "migrate: %s", od_db_error(db));
        goto out;
    }
    for (int i = 0; i < od_migrations_count; i++) {
        const od_migration_t *m = &od_migrations[i];
        if (m->version <= current) continue;
        char ver[16];
        snprintf(ver, sizeof ver, "%d", m->version);
        const char *params[] = {ver, m->name};
        if ((rc = od_db_exec(db, "BEGIN")) || (rc = od_db_exec(db, m->sql))) {
            snprintf(errstr, n, "migration %s: %s", m->name, od_db_error(db));
            if (od_db_exec(db, "ROLLBACK")) { /* the error above says why */
            }
            goto out;
        }
        PGresult *r = od_db__query(
            db, "INSERT INTO outdial_schema_migrations (version, name) VALUES ($1, $2)", 2, params,
            &rc);
        if (!r || (rc = od_db_exec(db, "COMMIT"))) {
            snprintf(errstr, n, "migration %s: %s", m->name, od_db_error(db));
            if (r && od_db_exec(db, "ROLLBACK")) {
            }
            PQclear(r);
            goto out;
        }
        PQclear(r);
        (*applied)++;
    }
    rc = OD_OK;
out:
    if (od_db_alive(db) && od_db_exec(db, "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")")) {
        /* the session ends soon; the lock goes with it */
    }
    return rc;
}
