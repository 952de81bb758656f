/* Intake statement (see repo.h). */
#include "db/db_int.h"
#include "db/repo.h"

#include <stdlib.h>

static const char intake_sql[] = "SELECT od_intake($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
                                 "$12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)";

int od_repo_intake(od_db_t *db, const char *const cols[OD_IN_NCOLS], int *inserted) {
    int rc = od_repo_intake_send(db, cols);
    return rc ? rc : od_repo_intake_recv(db, inserted);
}

int od_repo_intake_send(od_db_t *db, const char *const cols[OD_IN_NCOLS]) {
    if (PQsendQueryParams(db->conn, intake_sql, OD_IN_NCOLS, NULL, cols, NULL, NULL, 0))
        return OD_OK;
    return od_db__check(db, NULL, 0);
}

int od_repo_intake_recv(od_db_t *db, int *inserted) {
    PGresult *r, *first = NULL;
    while ((r = PQgetResult(db->conn))) {
        if (first)
            PQclear(r);
        else
            first = r;
    }
    int rc = od_db__check(db, first, 1);
    if (rc) return rc;
    *inserted = atoi(PQgetvalue(first, 0, 0));
    PQclear(first);
    return OD_OK;
}

int od_repo_intake_ranges_merge(od_db_t *db, int *rows) {
    int rc;
    PGresult *r = od_db__query(db, "SELECT od_intake_ranges_merge()", 0, NULL, &rc);
    if (!r) return rc;
    *rows = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return OD_OK;
}
