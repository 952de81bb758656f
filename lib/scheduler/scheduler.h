/* outdial-scheduler: consumes calls.requests, validates and stores each
 * request once, and relays committed lifecycle events to calls.events.
 * Built from the Kafka and database adapters; main.c only parses the
 * configuration and calls od_scheduler_run(). */
#ifndef OD_SCHEDULER_H
#define OD_SCHEDULER_H

#include "core/config.h"
#include "ops/ops.h"

#include <signal.h>

typedef struct {
    od_common_conf_t common; /* first: see od_common_opts */
    const char *group, *ce_source, *log_level, *health_file, *roles;
    long batch_max, batch_ms, relay_batch, topic_partitions, admit_batch, dialer_lost_s;
    long webhook_timeout_ms, webhook_retry_s, webhook_concurrency;
    int create_topics, webhook_allow_private;
    od_ops_conf_t ops; /* the ops listener (lib/ops) */
} od_scheduler_conf_t;

/* The settings of outdial-scheduler beyond od_common_opts. */
extern const od_opt_t od_scheduler_opts[];

/* 1 if `role` (intake, admission, reports, relay, webhooks) is in conf->roles. */
int od_scheduler_has_role(const od_scheduler_conf_t *conf, const char *role);

/* Runs until *stop becomes non-zero (set it from a signal handler), then
 * finishes the batch in hand, commits offsets, leaves the group, publishes
 * what it can of the outbox and returns 0; 1 if it could not start (the
 * reason is logged). */
int od_scheduler_run(const od_scheduler_conf_t *conf, volatile sig_atomic_t *stop);

#endif
