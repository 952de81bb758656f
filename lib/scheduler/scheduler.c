/* Settings and top-level wiring of outdial-scheduler (see scheduler.h). */
#include "scheduler/scheduler_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "kafka/kafka.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct od_worker {
    pthread_t thread;
    void *(*fn)(void *);
    const od_scheduler_conf_t *conf;
    volatile sig_atomic_t *stop;
};

static void *worker_main(void *arg) {
    od_worker_t *w = arg;
    od_worker_arg_t a = {w->conf, w->stop};
    return w->fn(&a);
}

od_worker_t *od_worker_start(void *(*fn)(void *), const od_scheduler_conf_t *conf,
                             volatile sig_atomic_t *stop) {
    od_worker_t *w = calloc(1, sizeof *w);
    w->fn = fn;
    w->conf = conf;
    w->stop = stop;
    if (pthread_create(&w->thread, NULL, worker_main, w)) {
        free(w);
        return NULL;
    }
    return w;
}

void od_worker_join(od_worker_t *w) {
    if (!w) return;
    pthread_join(w->thread, NULL);
    free(w);
}

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
    {"roles", "OUTDIAL_ROLES", OD_OPT_STRING, "intake,admission,reports,relay,webhooks",
     "what this process does, comma-separated (scale each apart if you like)", F(roles)},
    {"admit-batch", "OUTDIAL_ADMIT_BATCH", OD_OPT_INT, "1000",
     "most calls admitted in one database transaction (rounds adapt to take ~20 ms)",
     F(admit_batch)},
    {"dialer-lost-seconds", "OUTDIAL_DIALER_LOST_SECONDS", OD_OPT_INT, "10",
     "a call whose dialer is silent this long ends failed (DIALER_LOST)", F(dialer_lost_s)},
    {"relay-batch", "OUTDIAL_RELAY_BATCH", OD_OPT_INT, "5000",
     "most events the relay publishes per round", F(relay_batch)},
    {"webhook-timeout-ms", "OUTDIAL_WEBHOOK_TIMEOUT_MS", OD_OPT_INT, "10000",
     "a webhook POST without a complete response by then is retried", F(webhook_timeout_ms)},
    {"webhook-retry-seconds", "OUTDIAL_WEBHOOK_RETRY_SECONDS", OD_OPT_INT, "3600",
     "how long a webhook delivery is retried before it fails", F(webhook_retry_s)},
    {"webhook-concurrency", "OUTDIAL_WEBHOOK_CONCURRENCY", OD_OPT_INT, "64",
     "webhook POSTs in flight per scheduler (8 at most per org)", F(webhook_concurrency)},
    {"webhook-allow-private", "OUTDIAL_WEBHOOK_ALLOW_PRIVATE", OD_OPT_BOOL, "false",
     "allow webhook URLs on loopback and private addresses (refused by default: SSRF)",
     F(webhook_allow_private)},
    {"create-topics", "OUTDIAL_CREATE_TOPICS", OD_OPT_BOOL, "true",
     "create missing topics at start", F(create_topics)},
    {"topic-partitions", "OUTDIAL_TOPIC_PARTITIONS", OD_OPT_INT, "10",
     "partitions of topics created at start", F(topic_partitions)},
    {"health-file", "OUTDIAL_HEALTH_FILE", OD_OPT_STRING, NULL,
     "file touched each loop while healthy (for liveness probes)", F(health_file)},
    {"log-level", "OUTDIAL_LOG_LEVEL", OD_OPT_STRING, "info", "debug, info, warn or error",
     F(log_level)},
    OD_OPS_OPTS(od_scheduler_conf_t, ops, "127.0.0.1:9464"),
    OD_OPT_END,
};
#undef F

int od_scheduler_has_role(const od_scheduler_conf_t *conf, const char *role) {
    size_t n = strlen(role);
    for (const char *p = conf->roles; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncmp(p, role, n)) return 1;
        p = end ? end + 1 : p + len;
    }
    return 0;
}

int od_scheduler_run(const od_scheduler_conf_t *conf, volatile sig_atomic_t *stop) {
    char ops_err[512];
    od_sched_metrics_init();
    od_sched_checks_register(conf);
    od_ops_t *ops = od_ops_start(&conf->ops, "outdial-scheduler", ops_err, sizeof ops_err);
    if (!ops) {
        od_logkv(OD_LOG_ERROR, "cannot start", "err", ops_err, (const char *)NULL);
        return 1;
    }
    if (conf->create_topics) {
        const char *topics[] = {conf->common.topic_requests, conf->common.topic_events,
                                conf->common.topic_dial, conf->common.topic_reports};
        for (int i = 0; i < 4; i++) {
            char err[512];
            if (od_kafka_ensure_topic(conf->common.brokers, topics[i], (int)conf->topic_partitions,
                                      err, sizeof err))
                od_logkv(OD_LOG_WARN, "could not create topic (it may be managed elsewhere)",
                         "topic", topics[i], "err", err, (const char *)NULL);
        }
    }
    int rc = 0;
    od_relay_t *relay = NULL;
    od_worker_t *admission = NULL, *housekeeping = NULL, *reports = NULL, *webhooks = NULL;
    if (od_scheduler_has_role(conf, "relay") && !(relay = od_relay_start(conf, stop))) rc = 1;
    if (!rc && od_scheduler_has_role(conf, "admission") &&
        (!(admission = od_worker_start(od_admission_main, conf, stop)) ||
         !(housekeeping = od_worker_start(od_housekeeping_main, conf, stop))))
        rc = 1;
    if (!rc && od_scheduler_has_role(conf, "reports") &&
        !(reports = od_worker_start(od_reports_main, conf, stop)))
        rc = 1;
    if (!rc && od_scheduler_has_role(conf, "webhooks") &&
        !(webhooks = od_worker_start(od_webhooks_main, conf, stop)))
        rc = 1;
    if (!rc && od_scheduler_has_role(conf, "intake"))
        rc = od_intake_run(conf, stop);
    else
        while (!rc && !*stop)
            od_clock_sleep_ms(100);
    od_ops_check_t *stopping = od_ops_check_register("stopping", 0);
    od_ops_check_set(stopping, 0, "shutting down");
    *stop = 1;
    od_worker_join(admission);
    od_worker_join(housekeeping);
    od_worker_join(reports);
    od_worker_join(webhooks);
    od_relay_join(relay);
    od_ops_stop(ops);
    od_logkv(rc ? OD_LOG_ERROR : OD_LOG_INFO, rc ? "stopped after a failure" : "stopped",
             (const char *)NULL);
    return rc;
}
