/* Housekeeping loop, once a second on its own connection (so that admission
 * rounds never wait behind it): ends the calls of dialers gone silent
 * (od_reap: DIALER_LOST) and folds the credit and slots settlement freed
 * into orgs that no admission round is serving (od_fold_all); once a minute,
 * merges the offset ranges intake recorded (od_intake_ranges_merge). Runs with the
 * admission role; several schedulers may run it at once (rows are taken
 * with SKIP LOCKED). */
#include "core/clock.h"
#include "core/log.h"
#include "db/db.h"
#include "db/repo.h"
#include "scheduler/scheduler_int.h"

#include <stdio.h>

void *od_housekeeping_main(void *arg) {
    const od_worker_arg_t *a = arg;
    const od_scheduler_conf_t *conf = a->conf;
    char err[512];
    od_db_t *db = od_db_connect(conf->common.pg_dsn, "outdial-housekeeping", err, sizeof err);
    if (!db) {
        od_logkv(OD_LOG_ERROR, "housekeeping cannot start", "err", err, (const char *)NULL);
        *a->stop = 1;
        return NULL;
    }
    int64_t last_merge = od_clock_mono_ms();
    while (!*a->stop) {
        int64_t t0 = od_clock_mono_ms();
        if (od_db_alive(db) || od_db_reconnect(db) == OD_OK) {
            int lost = 0, folded = 0;
            if (od_repo_reap(db, conf->common.topic_reports, (int)conf->dialer_lost_s, 1000,
                             &lost) == OD_OK &&
                lost) {
                char s[16];
                snprintf(s, sizeof s, "%d", lost);
                od_logkv(OD_LOG_WARN, "calls of silent dialers ended (DIALER_LOST)", "count", s,
                         (const char *)NULL);
            }
            /* orgs with nothing queued see their balance within a second */
            if (od_repo_fold_orgs(db, &folded) != OD_OK)
                od_logkv(OD_LOG_DEBUG, "folding settled credit failed", "err", od_db_error(db),
                         (const char *)NULL);
            int rows;
            if (t0 - last_merge >= 60000) {
                last_merge = t0;
                if (od_repo_intake_ranges_merge(db, &rows) != OD_OK)
                    od_logkv(OD_LOG_DEBUG, "merging intake ranges failed", "err", od_db_error(db),
                             (const char *)NULL);
            }
        }
        int64_t left = 1000 - (od_clock_mono_ms() - t0);
        for (; left > 0 && !*a->stop; left -= 100)
            od_clock_sleep_ms(left < 100 ? (int)left : 100);
    }
    od_db_close(db);
    return NULL;
}
