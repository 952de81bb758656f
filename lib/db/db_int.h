/* Private to lib/db: the connection struct and error mapping shared by the
 * repositories. */
#ifndef OD_DB_INT_H
#define OD_DB_INT_H

#include "db/db.h"

#include <libpq-fe.h>

#define OD_DB_MAX_LISTENS 4 /* distinct channels; re-listening one takes no slot */

struct od_db {
    PGconn *conn;
    char *dsn, *app;
    char listens[OD_DB_MAX_LISTENS][64];
    int nlistens;
    int pending_notify; /* bit per listens[] index */
    char err[512];
};

/* Maps a result to OD_OK / OD_ERR_DB / OD_ERR_INVALID, keeping the message;
 * clears `res` unless keep is set and it succeeded. */
int od_db__check(od_db_t *db, PGresult *res, int keep);

/* Runs a parameterised statement; on success returns the result (caller
 * clears it), else NULL with *rc set. */
PGresult *od_db__query(od_db_t *db, const char *sql, int nparams, const char *const *params,
                       int *rc);

#endif
