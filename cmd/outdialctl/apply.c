/* outdialctl apply FILE: validate a provisioning file and upsert it in one
 * transaction; a bad file changes nothing and names the JSON path. */
#include "ctl.h"
#include "db/db.h"
#include "db/repo.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

int od_ctl_apply(const od_ctl_conf_t *c, int argc, char **argv) {
    char err[1024];
    if (argc != 1) return od_ctl_fail(2, "usage: outdialctl apply FILE.json");
    json_error_t jerr;
    FILE *f = fopen(argv[0], "r");
    if (!f) return od_ctl_fail(1, "%s: cannot open: %s", argv[0], strerror(errno));
    json_t *doc = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    fclose(f);
    if (!doc)
        return od_ctl_fail(1, "%s:%d:%d: not valid JSON: %s", argv[0], jerr.line, jerr.column,
                           jerr.text);
    od_db_t *db = od_db_connect(c->common.pg_dsn, "outdialctl", err, sizeof err);
    if (!db) {
        json_decref(doc);
        return od_ctl_fail(1, "%s", err);
    }
    int changes = 0, rc;
    /* SERIALIZABLE: a concurrent apply may force a retry. */
    for (int attempt = 0; attempt < 5; attempt++) {
        rc = od_repo_provisioning_apply(db, doc, &changes, err, sizeof err);
        if (rc != OD_ERR_DB || !od_db_alive(db)) break;
    }
    od_db_close(db);
    json_decref(doc);
    if (rc) return od_ctl_fail(1, "%s: %s", argv[0], err);
    if (changes)
        printf("applied %s: %d change%s\n", argv[0], changes, changes == 1 ? "" : "s");
    else
        printf("applied %s: unchanged\n", argv[0]);
    return 0;
}
