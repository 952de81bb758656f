/* Kafka statistics into metrics and readiness (see kafka_probe.h). */
#include "ops/kafka_probe.h"
#include "ops/metrics.h"
#include "ops/ops.h"

#include <pthread.h>

static od_metric_t *lag, *up;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init(void) {
    od_metrics_t *r = od_metrics_default();
    lag = od_metrics_gauge(r, "outdial_kafka_consumer_lag_messages",
                           "Messages between this process's consumer position and the end of "
                           "the partitions it owns, by topic (-1: not known yet).",
                           "topic");
    up = od_metrics_gauge(r, "outdial_kafka_brokers_up",
                          "Kafka brokers this process's consumer of the topic is connected to.",
                          "topic");
}

void od_ops_kafka_stats(void *arg, const od_kafka_stats_t *s) {
    pthread_once(&once, init);
    od_metric_set(lag, s->topic, (double)s->lag);
    od_metric_set(up, s->topic, s->brokers_up);
    od_ops_check_set(arg, s->brokers_up > 0, "no Kafka broker reachable");
}
