/* Admission loop: calls od_admit() (schemas/sql/004_admit_sets.sql) while
 * it finds work, then whenever calls are queued or resources are freed
 * (NOTIFY outdial_queue), and at least every 250 ms for calls that wait on
 * time (not_before, CPS tokens). Every rule is kept in the database
 * under row locks, so any number of schedulers may run this loop at once.
 *
 * Rounds are sized to take about ROUND_MS: a call that arrives for an org
 * with nothing in flight waits at most about one round, however long the
 * other orgs' backlogs, while a busy system admits up to --admit-batch
 * calls per transaction. */
#include "core/clock.h"
#include "core/log.h"
#include "db/db.h"
#include "db/repo.h"
#include "scheduler/scheduler_int.h"

#include <stdio.h>

#define ROUND_MS 20
#define ROUND_MIN 20

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
    int64_t last_warn = 0;
    int size = ROUND_MIN;
    od_ops_loop_t *loop = od_ops_loop_register("admission");
    od_ops_check_t *db_ok = od_sched_db_check("admission");
    while (!*a->stop) {
        int n = 0;
        od_ops_loop_beat(loop);
        if (!od_db_alive(db)) {
            if (od_db_reconnect(db)) {
                od_ops_check_set(db_ok, 0, "unreachable");
                od_clock_sleep_ms(500);
                continue;
            }
        }
        int64_t t0 = od_clock_mono_ms();
        double t0_s = od_clock_mono_s();
        if (od_repo_admit(db, size, &n)) {
            od_metric_add(od_sm.round_failures, NULL, 1);
            if (!od_db_alive(db)) od_ops_check_set(db_ok, 0, "unreachable");
            /* a deadlock with another scheduler, or the database is away:
             * worth a warning at most every 10 s */
            int quiet = od_clock_mono_ms() - last_warn < 10000;
            od_logkv(quiet ? OD_LOG_DEBUG : OD_LOG_WARN, "admission round failed", "err",
                     od_db_error(db), (const char *)NULL);
            if (!quiet) last_warn = od_clock_mono_ms();
            od_clock_sleep_ms(100);
            continue;
        }
        od_ops_check_set(db_ok, 1, NULL);
        od_metric_add(od_sm.rounds, NULL, 1);
        od_metric_observe(od_sm.round_seconds, NULL, od_clock_mono_s() - t0_s);
        od_metric_add(od_sm.admitted, NULL, n);
        int64_t took = od_clock_mono_ms() - t0;
        if (took > ROUND_MS)
            size = size * ROUND_MS / (int)took;
        else if (n >= size / 2 && took < ROUND_MS / 2)
            size *= 2;
        if (size < ROUND_MIN) size = ROUND_MIN;
        if (size > conf->admit_batch) size = (int)conf->admit_batch;
        if (n == 0) od_db_wait_notify(db, 250);
    }
    od_ops_loop_done(loop);
    od_ops_check_done(db_ok);
    od_db_close(db);
    return NULL;
}
