/* outdial-api: the HTTP API in front of Kafka (docs/api.md). Stateless:
 * it validates a request with intake's own validator against the database
 * as it is now, produces it to calls.requests as `outdialctl submit` does,
 * and answers once the broker has acknowledged it, with the call_id the
 * call will have. Scale it out like the schedulers. main.c only parses the
 * configuration and calls od_api_run(). */
#ifndef OD_API_H
#define OD_API_H

#include "core/config.h"
#include "ops/ops.h"

#include <signal.h>

typedef struct {
    od_common_conf_t common; /* first: see od_common_opts */
    const char *listen, *log_level;
    long body_max, timeout_s, max_connections, kafka_wait_ms, db_pool, drain_s, rate_per_key;
    long threads, cache_s;
    od_ops_conf_t ops; /* /metrics, /healthz, /readyz */
} od_api_conf_t;

/* The settings of outdial-api beyond od_common_opts. */
extern const od_opt_t od_api_opts[];

/* Serves until *stop becomes non-zero (set it from a signal handler), then
 * stops accepting, answers the requests in progress (up to drain_s) and
 * returns 0; 1 if it could not start (the reason is logged). */
int od_api_run(const od_api_conf_t *conf, volatile sig_atomic_t *stop);

#endif
