/* The dialer's reports on their way to the schedulers, kept until the
 * broker has them.
 *
 * librdkafka gives up on a message once its timeout passes (a broker
 * outage longer than OD_KAFKA_MESSAGE_TIMEOUT_MS, or the
 * `message.timeout.ms` of --kafka-extra). A report lost so is a call the
 * schedulers never see end: the dialer, alive, heartbeats on without it,
 * so nothing else would end it. Each report is therefore kept here and
 * produced again until the broker acknowledges it; only this process
 * dying loses it, and then the schedulers' lost-dialer reaping ends its
 * calls. A report that arrives twice changes nothing the second time
 * (docs/dialer.md). Not thread-safe: the dialer's loop owns it. */
#ifndef OD_DIALER_SPOOL_H
#define OD_DIALER_SPOOL_H

#include "kafka/kafka.h"

#include <stddef.h>

typedef struct od_spool od_spool_t;

/* Reports to `topic` (not copied; must outlive the spool) through `p`. */
od_spool_t *od_spool_new(od_kafka_producer_t *p, const char *topic);

/* Produces a copy of key and text, and keeps it until delivered. */
void od_spool_send(od_spool_t *s, const char *key, const char *text);

/* Forgets what the broker has acknowledged and produces again what failed
 * (in the order first sent). Call after serving delivery reports. Returns
 * how many are not acknowledged yet. */
size_t od_spool_sweep(od_spool_t *s);

/* Counts since the start: produced again after a failure; not delivered. */
typedef struct {
    size_t resent, pending;
} od_spool_stats_t;
od_spool_stats_t od_spool_stats(const od_spool_t *s);

/* Frees it; call only after od_kafka_producer_destroy() (librdkafka points
 * into it until then). Returns how many reports were never delivered. NULL
 * is a no-op. */
size_t od_spool_free(od_spool_t *s);

#endif
