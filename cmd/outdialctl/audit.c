/* outdialctl audit: proves from the database that the rules held over a
 * run: no overdraft, ledger equals balances, holds and slot counters match
 * the calls in flight, no cost above its hold, caps and destination locks
 * never exceeded at any instant, event sequences whole, no offset of the
 * requests topic left without its row. With --final, also
 * that every request has ended. Exits 1 if any check fails. */
#include "ctl.h"
#include "core/utf8.h"
#include "db/db.h"
#include "db/repo.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int od_ctl_audit(const od_ctl_conf_t *c, int argc, char **argv) {
    char err[512], sample[4096];
    if (argc) return od_ctl_fail(2, "audit takes no arguments (see --final)");
    od_db_t *db = od_db_connect(c->common.pg_dsn, "outdialctl", err, sizeof err);
    if (!db) return od_ctl_fail(1, "%s", err);
    int n, failed = 0;
    const od_audit_check_t *checks = od_audit_checks(&n);
    json_t *out = json_array();
    for (int i = 0; i < n; i++) {
        long bad = 0;
        if (i == n - 1 && !c->final) break;
        if (od_repo_audit_run(db, &checks[i], &bad, sample, sizeof sample)) {
            int rc = od_ctl_fail(1, "%s: %s", checks[i].name, od_db_error(db));
            od_db_close(db);
            json_decref(out);
            return rc;
        }
        char shown[304] = "";
        if (bad) {
            failed++;
            od_utf8_clip(shown, sizeof shown, sample, strlen(sample), 0);
        }
        if (c->json)
            json_array_append_new(out, json_pack("{s:s, s:b, s:I, s:s?}", "check", checks[i].name,
                                                 "ok", !bad, "violations", (json_int_t)bad,
                                                 "sample", bad ? shown : NULL));
        else if (bad)
            printf("FAIL  %s: %ld (%s)\n", checks[i].name, bad, shown);
        else
            printf("ok    %s\n", checks[i].name);
    }
    od_db_close(db);
    if (c->json) {
        json_t *doc = json_pack("{s:b, s:o}", "ok", !failed, "checks", out);
        char *text = json_dumps(doc, JSON_COMPACT);
        puts(text);
        free(text);
        json_decref(doc);
    } else {
        json_decref(out);
    }
    if (failed) return od_ctl_fail(1, "%d check%s failed", failed, failed == 1 ? "" : "s");
    return 0;
}
