/* The ops listener of every long-running binary: an HTTP server (lib/httpd)
 * on its own address, apart from any API, that answers
 *   GET /metrics  the process's registry (od_metrics_default()) in the
 *                 Prometheus text format, with process_* metrics;
 *   GET /healthz  200 while every registered loop has beaten within the
 *                 stale threshold, else 503: restart me;
 *   GET /readyz   200 while every registered check holds (Kafka reachable,
 *                 the database where one is used, not draining), else
 *                 503: send me no work, but do not restart me.
 * Both probes answer a line per loop or check, e.g. "fail database:intake:
 * unreachable".
 *
 * Loops and checks are process-wide and registered by name; their handles
 * are used from the loop's own thread, without locks (atomics). A NULL
 * handle is accepted everywhere and does nothing. */
#ifndef OD_OPS_H
#define OD_OPS_H

#include "core/config.h"

#include <stddef.h>

/* The settings, embedded in a component's config struct as `field`; its
 * table lists OD_OPS_OPTS(type, field, "127.0.0.1:9464"). */
typedef struct {
    const char *listen; /* host:port; "" turns the listener off */
    long stale_s;       /* a loop silent this long fails /healthz */
} od_ops_conf_t;

#define OD_OPS_OPTS(type, field, def_listen)                                                       \
    {"ops-listen",                                                                                 \
     "OUTDIAL_OPS_LISTEN",                                                                         \
     OD_OPT_STRING,                                                                                \
     def_listen,                                                                                   \
     "host:port of the ops listener (/metrics, /healthz, /readyz); \"\" for none",                 \
     offsetof(type, field.listen)},                                                                \
    {                                                                                              \
        "ops-stale-seconds", "OUTDIAL_OPS_STALE_SECONDS", OD_OPT_INT, "60",                        \
            "/healthz fails once a main loop has not turned for this long",                        \
            offsetof(type, field.stale_s)                                                          \
    }

typedef struct od_ops od_ops_t;

/* Starts the listener (none if conf->listen is empty) and registers the
 * process metrics. `binary` names the process in the log. Returns NULL
 * with a message in errstr if it cannot listen. */
od_ops_t *od_ops_start(const od_ops_conf_t *conf, const char *binary, char *errstr,
                       size_t errstr_size);
/* The port listened on (0 if none). */
int od_ops_port(const od_ops_t *o);
/* Stops answering and frees. NULL is a no-op. */
void od_ops_stop(od_ops_t *o);

/* ---- liveness: loops ---- */

typedef struct od_ops_loop od_ops_loop_t;
/* A loop that must keep turning; it counts as beaten now. At most 32 per
 * process (NULL past that). The name is copied. */
od_ops_loop_t *od_ops_loop_register(const char *name);
/* Call on every turn of the loop, and inside its waits. */
void od_ops_loop_beat(od_ops_loop_t *l);
/* The loop has ended on purpose (shutting down): no longer watched. */
void od_ops_loop_done(od_ops_loop_t *l);

/* ---- readiness: checks ---- */

typedef struct od_ops_check od_ops_check_t;
/* A condition of readiness, failing ("not yet known") until first set.
 * Registering a name that is registered (and not done) returns that check
 * as it is: a process registers its checks before starting the loops that
 * feed them, so that it is not ready before each has had its say.
 * With max_age_ms > 0, a check not set for that long fails too (it is fed
 * by something that has stopped). At most 32 per process. */
od_ops_check_t *od_ops_check_register(const char *name, int max_age_ms);
/* Sets it: ok, or failing because of `why` (copied; NULL: "failing"). */
void od_ops_check_set(od_ops_check_t *c, int ok, const char *why);
/* As last set (1 for NULL; "not yet set" counts as failing). */
int od_ops_check_ok(od_ops_check_t *c);
/* No longer a condition of readiness. */
void od_ops_check_done(od_ops_check_t *c);

/* 1 if /healthz, /readyz would answer 200 now; for tests. */
int od_ops_healthy(void);
int od_ops_ready(void);

#endif
