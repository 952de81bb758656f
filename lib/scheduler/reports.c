/* Reports loop: consumes the dialers' reports and heartbeats in a consumer
 * group of its own and applies each batch in one transaction (od_reports
 * in schemas/sql), storing offsets after the commit. Reports only move a
 * call forward, so redelivery changes nothing. A message that is not JSON
 * is logged and skipped; one the database cannot apply is skipped by the
 * database with its reason, logged here. */
#include "core/buf.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"
#include "db/db.h"
#include "db/repo.h"
#include "kafka/kafka.h"
#include "scheduler/scheduler_int.h"

#include <jansson.h>
#include <stdio.h>

#define REPORTS_BATCH 25
/* After a rebalance a new owner may not have fetched the backlog yet, so a
 * short poll proves nothing: it claims to be caught up only after this. */
#define REPORTS_SETTLE_MS 5000

static void log_skipped(const char *why, void *ctx) {
    od_logkv(OD_LOG_WARN, "dialer reports skipped", "why", why, (const char *)NULL);
}

void *od_reports_main(void *arg) {
    const od_worker_arg_t *a = arg;
    const od_scheduler_conf_t *conf = a->conf;
    char err[512], group[300];
    od_kafka_msg_t msgs[REPORTS_BATCH];
    od_buf_t lit = {0};
    snprintf(group, sizeof group, "%s.reports", conf->group);
    od_kafka_consumer_conf_t cc = {.brokers = conf->common.brokers,
                                   .group = group,
                                   .topic = conf->common.topic_reports,
                                   .from_beginning = 1,
                                   .client_id = "outdial-scheduler-reports",
                                   .extra = conf->common.kafka_extra};
    od_db_t *db = od_db_connect(conf->common.pg_dsn, "outdial-reports", err, sizeof err);
    od_kafka_consumer_t *k = db ? od_kafka_consumer_new(&cc, err, sizeof err) : NULL;
    if (!k) {
        od_logkv(OD_LOG_ERROR, "reports cannot start", "err", err, (const char *)NULL);
        od_db_close(db);
        *a->stop = 1;
        return NULL;
    }
    char member[80];
    char uuid[OD_UUID_STRLEN];
    od_uuid_v4(uuid);
    snprintf(member, sizeof member, "reports-%s", uuid);
    int total = -1;
    int64_t last_progress = 0;
    while (!*a->stop) {
        int n = od_kafka_consumer_poll_batch(k, msgs, REPORTS_BATCH, 200, 20);
        /* About once a second: how much of the topic this member reads, and
         * whether it is caught up (lost-dialer detection depends on it). */
        if (od_clock_mono_ms() - last_progress >= 1000 || (n == 0 && last_progress == 0)) {
            if (total < 0)
                total = od_kafka_consumer_topic_partitions(k, conf->common.topic_reports);
            if (total > 0 && od_db_alive(db) &&
                od_repo_report_progress(db, member, od_kafka_consumer_owned(k), total,
                                        n < REPORTS_BATCH && od_kafka_consumer_settled_ms(k) >=
                                                                 REPORTS_SETTLE_MS) == OD_OK)
                last_progress = od_clock_mono_ms();
        }
        if (!n) continue;
        od_buf_reset(&lit);
        od_buf_putc(&lit, '{');
        for (int i = 0; i < n; i++) {
            json_t *j = json_loadb(msgs[i].value, msgs[i].len, 0, NULL);
            if (!json_is_object(j)) {
                char where[300];
                snprintf(where, sizeof where, "%s/%d/%lld", msgs[i].topic, (int)msgs[i].partition,
                         (long long)msgs[i].offset);
                od_logkv(OD_LOG_WARN, "dialer report is not a JSON object: skipped", "source",
                         where, (const char *)NULL);
            } else {
                od_buf_pg_array_elem_n(&lit, msgs[i].value, msgs[i].len);
            }
            json_decref(j);
        }
        od_buf_putc(&lit, '}');
        int applied = 0, rc;
        while ((rc = od_repo_reports(db, lit.data, &applied, log_skipped, NULL)) == OD_ERR_DB) {
            if (*a->stop) break;
            od_kafka_consumer_pause(k, 1);
            od_clock_sleep_ms(500);
            if (!od_db_alive(db) && od_db_reconnect(db)) continue;
        }
        od_kafka_consumer_pause(k, 0);
        if (rc != OD_OK && rc != OD_ERR_DB)
            od_logkv(OD_LOG_ERROR, "dialer reports refused: skipped", "err", od_db_error(db),
                     (const char *)NULL);
        if (rc != OD_ERR_DB) od_kafka_consumer_store(k, msgs, n);
        od_kafka_msgs_release(msgs, n);
    }
    od_buf_free(&lit);
    od_kafka_consumer_destroy(k);
    od_db_close(db);
    return NULL;
}
