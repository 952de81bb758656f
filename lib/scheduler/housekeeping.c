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
#include <string.h>

static const char *const plans[] = {"free", "pro", "business", "enterprise"};
#define NPLANS 4

typedef struct {
    long queued[NPLANS], live[NPLANS];
} plan_counts_t;

static void on_plan(const char *plan, long queued, long live, void *ctx) {
    plan_counts_t *pc = ctx;
    for (int i = 0; i < NPLANS; i++)
        if (!strcmp(plan, plans[i])) {
            pc->queued[i] = queued;
            pc->live[i] = live;
        }
}

/* The gauges read from the database (scheduler_int.h): set all at once,
 * zeros included, so a scrape never sees half an update. */
static void refresh_gauges(od_db_t *db) {
    plan_counts_t pc = {{0}, {0}};
    long rows = 0;
    double age = 0;
    if (od_repo_gauges(db, on_plan, &rows, &age, &pc) != OD_OK) {
        od_logkv(OD_LOG_DEBUG, "reading the gauges failed", "err", od_db_error(db),
                 (const char *)NULL);
        return;
    }
    for (int i = 0; i < NPLANS; i++) {
        od_metric_set(od_sm.calls_queued, plans[i], (double)pc.queued[i]);
        od_metric_set(od_sm.calls_live, plans[i], (double)pc.live[i]);
    }
    od_metric_set(od_sm.outbox_rows, NULL, (double)rows);
    od_metric_set(od_sm.outbox_age, NULL, age);
}

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
    int64_t last_merge = od_clock_mono_ms(), last_gauges = 0;
    od_ops_loop_t *loop = od_ops_loop_register("housekeeping");
    od_ops_check_t *db_ok = od_sched_db_check("housekeeping");
    while (!*a->stop) {
        int64_t t0 = od_clock_mono_ms();
        od_ops_loop_beat(loop);
        if (!od_db_alive(db) && od_db_reconnect(db) != OD_OK)
            od_ops_check_set(db_ok, 0, "unreachable");
        if (od_db_alive(db)) {
            int lost = 0, folded = 0;
            if (od_repo_reap(db, conf->common.topic_reports, (int)conf->dialer_lost_s, 1000,
                             &lost) == OD_OK &&
                lost) {
                od_metric_add(od_sm.dialer_lost, NULL, lost);
                char s[16];
                snprintf(s, sizeof s, "%d", lost);
                od_logkv(OD_LOG_WARN, "calls of silent dialers ended (DIALER_LOST)", "#count", s,
                         (const char *)NULL);
            }
            /* orgs with nothing queued see their balance within a second */
            if (od_repo_fold_orgs(db, &folded) != OD_OK)
                od_logkv(OD_LOG_DEBUG, "folding settled credit failed", "err", od_db_error(db),
                         (const char *)NULL);
            if (t0 - last_gauges >= OD_SCHED_GAUGES_MS) {
                last_gauges = t0;
                refresh_gauges(db);
            }
            /* every statement may have met the outage */
            od_ops_check_set(db_ok, od_db_alive(db), "unreachable");
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
    od_ops_loop_done(loop);
    od_ops_check_done(db_ok);
    od_db_close(db);
    return NULL;
}
