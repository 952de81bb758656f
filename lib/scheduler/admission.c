/* Admission loop: calls od_admit() (schemas/sql/002_admission.sql) whenever
 * calls are queued or resources are freed (NOTIFY outdial_queue), and at
 * least every 250 ms for calls that wait on time (not_before, CPS tokens);
 * once a second it ends the calls of dialers gone silent. Every rule is
 * kept in the database by guarded updates, so any number of schedulers may
 * run this loop at once. */
#include "core/clock.h"
#include "core/log.h"
#include "db/db.h"
#include "db/repo.h"
#include "scheduler/scheduler_int.h"

#include <stdio.h>

void *od_admission_main(void *arg) {
    const od_worker_arg_t *a = arg;
    const od_scheduler_conf_t *conf = a->conf;
    char err[512];
    od_db_t *db = od_db_connect(conf->common.pg_dsn, "outdial-admission", err, sizeof err);
    if (!db || od_db_listen(db, "outdial_queue")) {
        od_logkv(OD_LOG_ERROR, "admission cannot start", "err", db ? od_db_error(db) : err,
                 (const char *)NULL);
        od_db_close(db);
        *a->stop = 1;
        return NULL;
    }
    int64_t last_reap = 0;
    while (!*a->stop) {
        int n = 0;
        if (!od_db_alive(db)) {
            if (od_db_reconnect(db)) {
                od_clock_sleep_ms(500);
                continue;
            }
        }
        if (od_repo_admit(db, (int)conf->admit_batch, &n)) {
            /* a deadlock with another scheduler, or the database is away */
            od_logkv(OD_LOG_DEBUG, "admission round failed", "err", od_db_error(db),
                     (const char *)NULL);
            od_clock_sleep_ms(100);
            continue;
        }
        if (od_clock_mono_ms() - last_reap >= 1000) {
            int lost = 0;
            if (od_repo_reap(db, conf->common.topic_reports, (int)conf->dialer_lost_s, 1000, &lost) == OD_OK && lost) {
                char s[16];
                snprintf(s, sizeof s, "%d", lost);
                od_logkv(OD_LOG_WARN, "calls of silent dialers ended (DIALER_LOST)", "count", s,
                         (const char *)NULL);
            }
            last_reap = od_clock_mono_ms();
        }
        if (n < conf->admit_batch) od_db_wait_notify(db, 250);
    }
    od_db_close(db);
    return NULL;
}
