/* outdial-dialer: takes dial work from Kafka, places each call through its
 * trunk with sofia-sip, bridges callee and agent by third-party call
 * control (RFC 3725 flow I) and reports every transition back. It never
 * touches the database or RTP. */
#ifndef OD_DIALER_H
#define OD_DIALER_H

#include "core/config.h"
#include "ops/ops.h"

#include <signal.h>

typedef struct {
    od_common_conf_t common; /* first: od_common_opts' offsets are into it */
    const char *group;       /* consumer group of the dial topic */
    const char *dialer_id;   /* names this process in reports; default: host-pid */
    const char *sip_bind;    /* where the user agent listens */
    const char *log_level;
    long heartbeat_ms;    /* live calls are listed this often */
    long stale_seconds;   /* dial work older than this is refused */
    long agent_answer_ms; /* the agent must answer within this */
    long drain_seconds;   /* on SIGTERM: live calls may finish within this */
    long max_calls;       /* calls held at once (queued and live) before pausing intake */
    long header_line_max; /* longest X-Outdial-* header line to an agent */
    od_ops_conf_t ops;    /* the ops listener (lib/ops) */
} od_dialer_conf_t;

extern const od_opt_t od_dialer_opts[];

/* Runs until *stop is set, then drains (see docs/dialer.md); a second
 * signal ends live calls at once. Returns the process exit code. */
int od_dialer_run(const od_dialer_conf_t *conf, volatile sig_atomic_t *stop);

#endif
