/* Kafka's statistics (lib/kafka) as metrics and a readiness check: give
 * od_ops_kafka_stats as a consumer's on_stats, with a check registered by
 * od_ops_check_register() as its stats_arg. The check holds while a broker
 * is reachable; it fails when none is, or when statistics stop coming
 * (the consumer is not polled, or is gone). */
#ifndef OD_OPS_KAFKA_PROBE_H
#define OD_OPS_KAFKA_PROBE_H

#include "kafka/kafka.h"

/* How long a Kafka check holds without fresh statistics. */
#define OD_OPS_KAFKA_MAX_AGE_MS (OD_KAFKA_STATS_MS * 5)

/* arg: an od_ops_check_t (may be NULL). Sets outdial_kafka_consumer_lag
 * and outdial_kafka_brokers_up for the consumer's topic. */
void od_ops_kafka_stats(void *arg, const od_kafka_stats_t *s);

#endif
