/* Mock cluster wrapper (see mock.h). */
#include "kafka/mock.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>

struct od_kafka_mock {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
};

od_kafka_mock_t *od_kafka_mock_new(int brokers, char *errstr, size_t n) {
    od_kafka_mock_t *m = calloc(1, sizeof *m);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char num[16];
    snprintf(num, sizeof num, "%d", brokers);
    /* test.mock.num.brokers makes this handle own the cluster. */
    if (rd_kafka_conf_set(conf, "test.mock.num.brokers", num, errstr, n) ||
        rd_kafka_conf_set(conf, "log_level", "3", errstr, n))
        goto fail;
    m->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, n);
    if (!m->rk) goto fail;
    conf = NULL;
    m->mc = rd_kafka_handle_mock_cluster(m->rk);
    if (!m->mc) {
        snprintf(errstr, n, "librdkafka did not create a mock cluster");
        goto fail;
    }
    return m;
fail:
    if (conf) rd_kafka_conf_destroy(conf);
    od_kafka_mock_destroy(m);
    return NULL;
}

const char *od_kafka_mock_bootstraps(od_kafka_mock_t *m) {
    return rd_kafka_mock_cluster_bootstraps(m->mc);
}

int od_kafka_mock_topic(od_kafka_mock_t *m, const char *topic, int partitions) {
    return rd_kafka_mock_topic_create(m->mc, topic, partitions, 1) ? -1 : 0;
}

void od_kafka_mock_destroy(od_kafka_mock_t *m) {
    if (!m) return;
    if (m->rk) rd_kafka_destroy(m->rk);
    free(m);
}
