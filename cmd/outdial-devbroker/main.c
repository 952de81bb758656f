/* outdial-devbroker: an embedded Kafka broker (librdkafka's mock cluster)
 * for the zero-install demo and fast tests. Prints its bootstrap address
 * on stdout, serves until SIGTERM/SIGINT. Memory only: a restart empties it. */
#include "core/config.h"
#include "core/signals.h"
#include "kafka/mock.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *topics;
    long partitions;
} conf_t;

static const od_opt_t opts[] = {
    {"topics", "OUTDIAL_DEVBROKER_TOPICS", OD_OPT_STRING, "calls.requests,calls.events",
     "topics to create, comma-separated", offsetof(conf_t, topics)},
    {"partitions", "OUTDIAL_TOPIC_PARTITIONS", OD_OPT_INT, "10", "partitions per topic",
     offsetof(conf_t, partitions)},
    OD_OPT_END,
};

static volatile sig_atomic_t stop;

int main(int argc, char **argv) {
    conf_t conf = {0};
    const od_opt_t *tables[] = {opts, NULL};
    char err[512], *pos[1];
    int npos, rc = od_config_parse(tables, &conf, argc, argv, pos, 0, &npos, err, sizeof err);
    if (rc == 1) return 0;
    if (rc < 0) {
        fprintf(stderr, "outdial-devbroker: %s\n", err);
        return 2;
    }
    od_kafka_mock_t *m = od_kafka_mock_new(1, err, sizeof err);
    if (!m) {
        fprintf(stderr, "outdial-devbroker: %s\n", err);
        return 1;
    }
    char topics[1024];
    snprintf(topics, sizeof topics, "%s", conf.topics);
    for (char *save, *t = strtok_r(topics, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (od_kafka_mock_topic(m, t, (int)conf.partitions)) {
            fprintf(stderr, "outdial-devbroker: cannot create topic %s\n", t);
            od_kafka_mock_destroy(m);
            return 1;
        }
    }
    printf("%s\n", od_kafka_mock_bootstraps(m));
    fflush(stdout);
    od_signals_install(&stop);
    while (!stop)
        pause();
    od_kafka_mock_destroy(m);
    return 0;
}
