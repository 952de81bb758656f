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

/* Intake: the consume-validate-store loop, run on the calling thread. */
int od_intake_run(const od_scheduler_conf_t *conf, volatile sig_atomic_t *stop);

#endif
