/* Connection handling and small helpers (see db.h). */
#include "db/db_int.h"
#include "core/log.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static PGconn *open_conn(const char *dsn, const char *app) {
    const char *keys[] = {"dbname",           "connect_timeout",  "application_name",
                          "keepalives",       "keepalives_idle",  "keepalives_interval",
                          "keepalives_count", "tcp_user_timeout", NULL};
    const char *vals[] = {dsn, "5", app, "1", "10", "5", "3", "15000", NULL};
    return PQconnectdbParams(keys, vals, 1);
}

/* Server notices (e.g. "terminating connection") are not for stderr: the
 * error that follows says what matters, through the log. */
static void quiet(void *arg, const char *message) {}

static void set_err(od_db_t *db, const char *msg) {
    snprintf(db->err, sizeof db->err, "%s", msg ? msg : "");
    size_t n = strlen(db->err);
    while (n && (db->err[n - 1] == '\n' || db->err[n - 1] == ' '))
        db->err[--n] = 0;
}

od_db_t *od_db_connect(const char *dsn, const char *app, char *errstr, size_t n) {
    if (!dsn || !*dsn) {
        snprintf(errstr, n, "no database: set OUTDIAL_PG_DSN or --pg-dsn");
        return NULL;
    }
    /* libpq would take any other text for a database name and report a
     * failed connection to the default socket, far from the mistake */
    char *why = NULL;
    PQconninfoOption *opts = NULL;
    int uri = !strncmp(dsn, "postgresql://", 13) || !strncmp(dsn, "postgres://", 11);
    if ((!uri && !strchr(dsn, '=')) || !(opts = PQconninfoParse(dsn, &why))) {
        snprintf(errstr, n,
                 "database: OUTDIAL_PG_DSN (--pg-dsn) is not a postgresql:// URI or "
                 "key=value conninfo%s%s",
                 why ? ": " : "", why ? why : "");
        size_t l = strlen(errstr);
        if (l && errstr[l - 1] == '\n') errstr[l - 1] = 0;
        PQfreemem(why);
        return NULL;
    }
    PQconninfoFree(opts);
    od_db_t *db = calloc(1, sizeof *db);
    db->dsn = strdup(dsn);
    db->app = strdup(app ? app : "outdial");
    db->conn = open_conn(dsn, db->app);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        snprintf(errstr, n, "database: %s", PQerrorMessage(db->conn));
        size_t l = strlen(errstr);
        if (l && errstr[l - 1] == '\n') errstr[l - 1] = 0;
        od_db_close(db);
        return NULL;
    }
    PQsetNoticeProcessor(db->conn, quiet, NULL);
    return db;
}

int od_db_alive(od_db_t *db) { return db->conn && PQstatus(db->conn) == CONNECTION_OK; }

const char *od_db_error(od_db_t *db) { return db->err; }

int od_db_reconnect(od_db_t *db) {
    if (db->conn) PQfinish(db->conn);
    db->conn = open_conn(db->dsn, db->app);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        set_err(db, PQerrorMessage(db->conn));
        return OD_ERR_DB;
    }
    PQsetNoticeProcessor(db->conn, quiet, NULL);
    for (int i = 0; i < db->nlistens; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "LISTEN %s", db->listens[i]);
        if (od_db__check(db, PQexec(db->conn, sql), 0)) return OD_ERR_DB;
    }
    /* A notification may have been missed while away: report one. */
    db->pending_notify = (1 << db->nlistens) - 1;
    return OD_OK;
}

int od_db__check(od_db_t *db, PGresult *res, int keep) {
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (!keep) PQclear(res);
        return OD_OK;
    }
    set_err(db, res ? PQresultErrorMessage(res) : PQerrorMessage(db->conn));
    /* Class 40 (deadlock, serialization), 57P (shutdown), 08 (connection):
     * worth trying again. Decided before PQclear frees the SQLSTATE. */
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    int retry =
        !state || !strncmp(state, "40", 2) || !strncmp(state, "57P", 3) || !strncmp(state, "08", 2);
    PQclear(res);
    if (PQstatus(db->conn) != CONNECTION_OK || retry) return OD_ERR_DB;
    return OD_ERR_INVALID;
}

PGresult *od_db__query(od_db_t *db, const char *sql, int nparams, const char *const *params,
                       int *rc) {
    PGresult *res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    *rc = od_db__check(db, res, 1);
    return *rc ? NULL : res;
}

int od_db_exec(od_db_t *db, const char *sql) { return od_db__check(db, PQexec(db->conn, sql), 0); }

int od_db_listen(od_db_t *db, const char *channel) {
    int i = 0;
    while (i < db->nlistens && strcmp(db->listens[i], channel))
        i++;
    /* Already remembered (e.g. listened again after a reconnect): LISTEN is
     * idempotent, the list must be too, or each outage would take a slot. */
    if (i == db->nlistens) {
        if (db->nlistens >= OD_DB_MAX_LISTENS || strlen(channel) >= sizeof db->listens[0]) {
            set_err(db, "too many LISTEN channels on one connection, or a name too long");
            return OD_ERR_INVALID;
        }
        snprintf(db->listens[db->nlistens++], sizeof db->listens[0], "%s", channel);
    }
    char sql[96];
    snprintf(sql, sizeof sql, "LISTEN %s", channel);
    return od_db_exec(db, sql);
}

static void drain(od_db_t *db) {
    PGnotify *n;
    while ((n = PQnotifies(db->conn))) {
        for (int i = 0; i < db->nlistens; i++)
            if (!strcmp(n->relname, db->listens[i])) db->pending_notify |= 1 << i;
        PQfreemem(n);
    }
}

int od_db_wait_notify(od_db_t *db, int timeout_ms) {
    if (!db->pending_notify) {
        if (!PQconsumeInput(db->conn)) goto gone;
        drain(db);
    }
    if (!db->pending_notify) {
        struct pollfd pfd = {.fd = PQsocket(db->conn), .events = POLLIN};
        if (pfd.fd < 0) goto gone;
        if (poll(&pfd, 1, timeout_ms) > 0) {
            if (!PQconsumeInput(db->conn)) goto gone;
            drain(db);
        }
    }
    int got = db->pending_notify != 0;
    db->pending_notify = 0;
    return got;
gone:
    set_err(db, PQerrorMessage(db->conn));
    return OD_ERR_DB;
}

int od_db_take_notify(od_db_t *db, const char *channel) {
    if (PQconsumeInput(db->conn)) drain(db);
    for (int i = 0; i < db->nlistens; i++) {
        if (!strcmp(db->listens[i], channel) && (db->pending_notify & (1 << i))) {
            db->pending_notify &= ~(1 << i);
            return 1;
        }
    }
    return 0;
}

int od_db_try_lock(od_db_t *db, long key) {
    char k[32];
    const char *p[] = {k};
    int rc;
    snprintf(k, sizeof k, "%ld", key);
    PGresult *res = od_db__query(db, "SELECT pg_try_advisory_lock($1::bigint)", 1, p, &rc);
    if (!res) return rc;
    int held = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return held;
}

void od_db_close(od_db_t *db) {
    if (!db) return;
    if (db->conn) PQfinish(db->conn);
    free(db->dsn);
    free(db->app);
    free(db);
}
