/* Private to lib/scheduler: the parts the service is built from. */
#ifndef OD_SCHEDULER_INT_H
#define OD_SCHEDULER_INT_H

#include "ops/metrics.h"
#include "ops/ops.h"
#include "scheduler/scheduler.h"

#include <pthread.h>

/* The scheduler's metrics (metrics.c; docs/operations.md, "Metrics"), in
 * the process registry. All NULL until od_sched_metrics_init(), and
 * updating a NULL metric does nothing. */
typedef struct {
    od_metric_t *consumed, *stored, *duplicates, *rejected, *batch_seconds;
    od_metric_t *rounds, *round_failures, *round_seconds, *admitted;
    od_metric_t *calls_queued, *calls_live, *outbox_rows, *outbox_age;
    od_metric_t *published, *webhooks, *webhook_seconds;
    od_metric_t *reports, *dialer_lost;
} od_sched_metrics_t;
extern od_sched_metrics_t od_sm;
void od_sched_metrics_init(void);

/* The gauges read from the database (calls by status and plan, the
 * outbox), refreshed by housekeeping every OD_SCHED_GAUGES_MS. */
#define OD_SCHED_GAUGES_MS 5000

/* A readiness check of a loop's database connection: "database:LOOP". */
od_ops_check_t *od_sched_db_check(const char *loop);
/* Registers, failing until their loops set them, the readiness checks of
 * the loops conf->roles starts (see ops.h). */
void od_sched_checks_register(const od_scheduler_conf_t *conf);

/* The event relay: one thread, its own connection and producer. Only the
 * holder of an advisory lock publishes, so events leave in commit order.
 * `stop` is read each round; after it is set the relay drains once more. */
typedef struct od_relay od_relay_t;

od_relay_t *od_relay_start(const od_scheduler_conf_t *conf, volatile sig_atomic_t *stop);
void od_relay_join(od_relay_t *r);

/* A background loop of the scheduler: fn runs in its own thread with an
 * od_worker_arg_t and returns once *stop is set. */
typedef struct od_worker od_worker_t;
typedef struct {
    const od_scheduler_conf_t *conf;
    volatile sig_atomic_t *stop;
} od_worker_arg_t;

od_worker_t *od_worker_start(void *(*fn)(void *), const od_scheduler_conf_t *conf,
                             volatile sig_atomic_t *stop);
void od_worker_join(od_worker_t *w);

/* Admission (admission.c): admits queued calls, expires old ones. Several
 * schedulers run it at once. */
void *od_admission_main(void *arg);

/* Housekeeping (housekeeping.c), with the admission role: ends calls of
 * lost dialers and folds settled credit into idle orgs, once a second. */
void *od_housekeeping_main(void *arg);
/* Webhook deliveries (webhooks.c). */
void *od_webhooks_main(void *arg);

/* Reports (reports.c): applies dialer reports and heartbeats. */
void *od_reports_main(void *arg);

/* Intake: the consume-validate-store loop, run on the calling thread. */
int od_intake_run(const od_scheduler_conf_t *conf, volatile sig_atomic_t *stop);

#endif
