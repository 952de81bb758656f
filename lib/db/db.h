/* PostgreSQL adapter: the only code that includes libpq (with the other
 * files of lib/db). A connection that knows how to come back: every call
 * that finds the server gone returns OD_ERR_DB, and od_db_reconnect()
 * retries with the caller choosing how long to wait between tries.
 * @locality: one thread per od_db_t. */
#ifndef OD_DB_H
#define OD_DB_H

#include "core/err.h"

#include <stddef.h>

typedef struct od_db od_db_t;

/* Connects (libpq conninfo or URI) with keepalives and a 5 s connect
 * timeout. `app` is the application_name. Returns NULL with errstr set. */
od_db_t *od_db_connect(const char *dsn, const char *app, char *errstr, size_t errstr_size);

/* 1 while the connection is usable. */
int od_db_alive(od_db_t *db);

/* One attempt to reconnect (re-LISTENing what was listened). OD_OK or
 * OD_ERR_DB. */
int od_db_reconnect(od_db_t *db) OD_MUSTCHECK;

/* The last error message, for logs. */
const char *od_db_error(od_db_t *db);

/* Runs SQL without results (may hold several statements). OD_OK, OD_ERR_DB
 * if the connection is gone or the transaction must be retried (deadlock,
 * serialization), OD_ERR_INVALID if the statement failed. */
int od_db_exec(od_db_t *db, const char *sql) OD_MUSTCHECK;

/* LISTEN on `channel`, remembered across reconnects (od_db_reconnect
 * listens again by itself). Listening again on a channel already
 * remembered is harmless and takes no room; up to 4 distinct channels. */
int od_db_listen(od_db_t *db, const char *channel) OD_MUSTCHECK;

/* Waits up to timeout_ms for a notification on any listened channel;
 * returns 1 if one (or more) arrived, 0 on time-out, OD_ERR_DB. Consumes
 * every pending notification. */
int od_db_wait_notify(od_db_t *db, int timeout_ms);

/* Non-blocking: 1 if a notification on `channel` is pending (consumed). */
int od_db_take_notify(od_db_t *db, const char *channel);

/* Tries the session-level advisory lock `key`: 1 held, 0 not, OD_ERR_DB. */
int od_db_try_lock(od_db_t *db, long key);

void od_db_close(od_db_t *db);

#endif
