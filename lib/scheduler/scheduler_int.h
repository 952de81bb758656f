/* Private to lib/scheduler: the parts the service is built from. */
#ifndef OD_SCHEDULER_INT_H
#define OD_SCHEDULER_INT_H

#include "scheduler/scheduler.h"

#include <pthread.h>

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
