/* Intake statement (see repo.h). */
#include "db/db_int.h"
#include "db/repo.h"

#include <stdlib.h>

int od_repo_intake(od_db_t *db, const char *rows_json, int *inserted) {
    int rc;
    const char *p[] = {rows_json};
    PGresult *r = od_db__query(db, "SELECT od_intake($1::jsonb)", 1, p, &rc);
    if (!r) return rc;
    *inserted = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return OD_OK;
}
