/* Schema migrations: the files of schemas/sql, compiled in (generated
 * migrations.c), applied in version order by od_db_migrate(). */
#ifndef OD_DB_MIGRATIONS_H
#define OD_DB_MIGRATIONS_H

#include "db/db.h"

typedef struct {
    int version;
    const char *name;
    const char *sql;
} od_migration_t;

extern const od_migration_t od_migrations[];
extern const int od_migrations_count;

/* Applies every migration not yet applied, each in its own transaction,
 * under an advisory lock so that concurrent callers (several pods starting
 * at once) apply each exactly once. *applied gets how many this call
 * applied. Errors leave the failed migration unapplied, with the message in
 * errstr. */
int od_db_migrate(od_db_t *db, int *applied, char *errstr, size_t errstr_size) OD_MUSTCHECK;

/* The highest applied version (0 for an empty database), or < 0 on error. */
int od_db_schema_version(od_db_t *db);

#endif
