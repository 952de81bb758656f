/* outdialctl migrate: bring the schema to the version this build knows. */
#include "ctl.h"
#include "db/migrations.h"

#include <stdio.h>

int od_ctl_migrate(const od_ctl_conf_t *c, int argc, char **argv) {
    char err[512];
    int applied = 0;
    if (argc) return od_ctl_fail(2, "migrate takes no arguments");
    od_db_t *db = od_db_connect(c->common.pg_dsn, "outdialctl", err, sizeof err);
    if (!db) return od_ctl_fail(1, "%s", err);
    int rc = od_db_migrate(db, &applied, err, sizeof err);
    int version = rc ? 0 : od_db_schema_version(db);
    od_db_close(db);
    if (rc) return od_ctl_fail(1, "%s", err);
    if (c->json)
        printf("{\"version\":%d,\"applied\":%d}\n", version, applied);
    else
        printf("schema at version %d (%d migration%s applied now)\n", version, applied,
               applied == 1 ? "" : "s");
    return 0;
}
