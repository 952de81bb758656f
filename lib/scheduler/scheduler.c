/* Settings and top-level wiring of outdial-scheduler (see scheduler.h). */
#include "scheduler/scheduler_int.h"
#include "core/log.h"
#include "kafka/kafka.h"

#include <stddef.h>

#define F(x) offsetof(od_scheduler_conf_t, x)
const od_opt_t od_scheduler_opts[] = {
    {"group", "OUTDIAL_SCHEDULER_GROUP", OD_OPT_STRING, "outdial-scheduler",
     "consumer group shared by all schedulers", F(group)},
    {"ce-source", "OUTDIAL_CE_SOURCE", OD_OPT_STRING, "/outdial",
     "CloudEvents ce_source of published events", F(ce_source)},
    {"batch-max", "OUTDIAL_BATCH_MAX", OD_OPT_INT, "1000",
     "most requests stored in one database transaction", F(batch_max)},
    {"batch-ms", "OUTDIAL_BATCH_MS", OD_OPT_INT, "50",
     "longest wait to fill a batch once its first request is in", F(batch_ms)},
    {"relay-batch", "OUTDIAL_RELAY_BATCH", OD_OPT_INT, "5000",
     "most events the relay publishes per round", F(relay_batch)},
    {"create-topics", "OUTDIAL_CREATE_TOPICS", OD_OPT_BOOL, "true",
     "create missing topics at start", F(create_topics)},
    {"topic-partitions", "OUTDIAL_TOPIC_PARTITIONS", OD_OPT_INT, "12",
     "partitions of topics created at start", F(topic_partitions)},
    {"health-file", "OUTDIAL_HEALTH_FILE", OD_OPT_STRING, NULL,
     "file touched each loop while healthy (for liveness probes)", F(health_file)},
    {"log-level", "OUTDIAL_LOG_LEVEL", OD_OPT_STRING, "info", "debug, info, warn or error",
     F(log_level)},
    OD_OPT_END,
};
#undef F

int od_scheduler_run(const od_scheduler_conf_t *conf, volatile sig_atomic_t *stop) {
    if (conf->create_topics) {
        const char *topics[] = {conf->common.topic_requests, conf->common.topic_events};
        for (int i = 0; i < 2; i++) {
            char err[512];
            if (od_kafka_ensure_topic(conf->common.brokers, topics[i], (int)conf->topic_partitions,
                                      err, sizeof err))
                od_logkv(OD_LOG_WARN, "could not create topic (it may be managed elsewhere)",
                         "topic", topics[i], "err", err, (const char *)NULL);
        }
    }
    od_relay_t *relay = od_relay_start(conf, stop);
    if (!relay) return 1;
    int rc = od_intake_run(conf, stop);
    *stop = 1;
    od_relay_join(relay);
    return rc;
}
