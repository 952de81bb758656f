/* The embedded broker of outdial-devbroker: librdkafka's mock cluster, a
 * real Kafka wire protocol on loopback, in memory. */
#ifndef OD_KAFKA_MOCK_H
#define OD_KAFKA_MOCK_H

#include <stddef.h>

typedef struct od_kafka_mock od_kafka_mock_t;

/* Starts a cluster of `brokers` brokers listening on free loopback ports.
 * Returns NULL with errstr set. */
od_kafka_mock_t *od_kafka_mock_new(int brokers, char *errstr, size_t errstr_size);

/* "127.0.0.1:PORT,..." for clients. */
const char *od_kafka_mock_bootstraps(od_kafka_mock_t *m);

/* Creates a topic (the mock has no CreateTopics handler). 0 or -1. */
int od_kafka_mock_topic(od_kafka_mock_t *m, const char *topic, int partitions);

void od_kafka_mock_destroy(od_kafka_mock_t *m);

#endif
