/* Reports loop: consumes the dialers' reports and heartbeats in a consumer
 * group of its own and applies each batch in one transaction (od_reports
 * in schemas/sql), storing offsets after the commit. Reports only move a
 * call forward, so redelivery changes nothing. A message that is not JSON
 * is logged and skipped; one the database cannot apply is skipped by the
 * database with its reason, logged here. */
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/utf8.h"
#include "db/db.h"
#include "db/repo.h"
#include "kafka/kafka.h"
#include "ops/kafka_probe.h"
#include "scheduler/scheduler_int.h"

#include <jansson.h>
#include <stdio.h>

#define REPORTS_BATCH 200
#define MAX_PARTITIONS 1024

static void log_skipped(const char *why, void *ctx) {
    od_logkv(OD_LOG_WARN, "dialer reports skipped", "why", why, (const char *)NULL);
}

static void report_progress(od_kafka_consumer_t *k, od_db_t *db, const char *topic) {
    int32_t parts[MAX_PARTITIONS];
    int64_t through[MAX_PARTITIONS];
    int total = od_kafka_consumer_topic_partitions(k, topic); /* partitions may be added */
    if (total <= 0 || !od_db_alive(db)) return;
    int n = od_kafka_consumer_progress(k, parts, through, MAX_PARTITIONS);
    if (od_repo_report_progress(db, topic, total, n, parts, through) != OD_OK)
        od_logkv(OD_LOG_WARN, "reports progress not recorded", "err", od_db_error(db),
                 (const char *)NULL);
}

/* The batch msgs[0..n) as the json[] literal od_reports takes; messages
 * that are not JSON objects are left out, and logged if from `fresh` on.
 * So are those with a byte PostgreSQL's json cannot take (not UTF-8, or a
 * NUL, which jansson lets pass after a number): the cast of the literal
 * would fail, and with it the whole batch. */
static void encode(od_buf_t *lit, const od_kafka_msg_t *msgs, int n, int fresh) {
    od_buf_reset(lit);
    od_buf_putc(lit, '{');
    for (int i = 0; i < n; i++) {
        json_t *j = json_loadb(msgs[i].value, msgs[i].len, 0, NULL);
        if (j && !od_utf8_valid(msgs[i].value, msgs[i].len)) {
            json_decref(j);
            j = NULL;
        }
        if (!json_is_object(j) && i >= fresh) {
            char where[300];
            snprintf(where, sizeof where, "%s/%d/%lld", msgs[i].topic, (int)msgs[i].partition,
                     (long long)msgs[i].offset);
            od_logkv(OD_LOG_WARN, "dialer report is not a JSON object in UTF-8: skipped", "source",
                     where, (const char *)NULL);
        } else if (json_is_object(j)) {
            od_buf_pg_array_elem_n(lit, msgs[i].value, msgs[i].len);
        }
        json_decref(j);
    }
    od_buf_putc(lit, '}');
}

void *od_reports_main(void *arg) {
    const od_worker_arg_t *a = arg;
    const od_scheduler_conf_t *conf = a->conf;
    char err[512], group[300];
    /* A batch, and room for what a poll may still hand over while paused
     * during an outage (kept, and applied with the batch: dropping it would
     * lose it, since a later offset gets stored). */
    od_kafka_msg_t msgs[REPORTS_BATCH * 2];
    od_buf_t lit = {0};
    snprintf(group, sizeof group, "%s.reports", conf->group);
    od_kafka_consumer_conf_t cc = {.brokers = conf->common.brokers,
                                   .group = group,
                                   .topic = conf->common.topic_reports,
                                   .from_beginning = 1,
                                   .client_id = "outdial-scheduler-reports",
                                   .extra = conf->common.kafka_extra,
                                   .track_progress = 1,
                                   .on_stats = od_ops_kafka_stats};
    od_ops_check_t *kafka_ok = od_ops_check_register("kafka:reports", OD_OPS_KAFKA_MAX_AGE_MS);
    cc.stats_arg = kafka_ok;
    od_db_t *db = od_db_connect(conf->common.pg_dsn, "outdial-reports", err, sizeof err);
    od_kafka_consumer_t *k = db ? od_kafka_consumer_new(&cc, err, sizeof err) : NULL;
    if (!k) {
        od_logkv(OD_LOG_ERROR, "reports cannot start", "err", err, (const char *)NULL);
        od_db_close(db);
        od_ops_check_done(kafka_ok);
        *a->stop = 1;
        return NULL;
    }
    int64_t last_progress = 0;
    od_ops_loop_t *loop = od_ops_loop_register("reports");
    od_ops_check_t *db_ok = od_sched_db_check("reports");
    while (!*a->stop) {
        od_ops_loop_beat(loop);
        /* About once a second, with everything polled so far applied: up to
         * when each owned partition has been read (lost-dialer detection
         * depends on it, see od_reap). */
        if (od_clock_mono_ms() - last_progress >= 1000) {
            /* idle, it still finds out when the database is back */
            if (!od_db_alive(db) && od_db_reconnect(db) == OD_OK) od_ops_check_set(db_ok, 1, NULL);
            report_progress(k, db, conf->common.topic_reports);
            last_progress = od_clock_mono_ms();
        }
        int n = od_kafka_consumer_poll_batch(k, msgs, REPORTS_BATCH, 200, 20);
        if (!n) continue;
        encode(&lit, msgs, n, 0);
        int applied = 0, rc, backoff = 100;
        while ((rc = od_repo_reports(db, lit.data, &applied, log_skipped, NULL)) == OD_ERR_DB) {
            if (*a->stop) break;
            od_ops_loop_beat(loop);
            if (!od_db_alive(db)) od_ops_check_set(db_ok, 0, "unreachable");
            /* The database is away (or a deadlock): fetching pauses, but the
             * consumer keeps polling, so it stays in its group however long
             * the outage lasts (max.poll.interval.ms). */
            od_kafka_consumer_pause(k, 1);
            int room = (int)(sizeof msgs / sizeof *msgs) - n, more = 0;
            if (room > 0) /* waits `backoff`; paused, it hands over little or nothing */
                more = od_kafka_consumer_poll_batch(k, msgs + n, room, backoff, 0);
            else
                od_clock_sleep_ms(backoff);
            if (more) {
                encode(&lit, msgs, n + more, n);
                n += more;
            }
            if (backoff < 1000) backoff *= 2;
            if (!od_db_alive(db) && od_db_reconnect(db)) continue;
        }
        od_kafka_consumer_pause(k, 0);
        if (rc == OD_OK) {
            od_ops_check_set(db_ok, 1, NULL);
            od_metric_add(od_sm.reports, NULL, applied);
        }
        if (rc != OD_OK && rc != OD_ERR_DB)
            od_logkv(OD_LOG_ERROR, "dialer reports refused: skipped", "err", od_db_error(db),
                     (const char *)NULL);
        if (rc != OD_ERR_DB) od_kafka_consumer_store(k, msgs, n);
        od_kafka_msgs_release(msgs, n);
    }
    od_ops_loop_done(loop);
    od_ops_check_done(db_ok);
    od_ops_check_done(kafka_ok);
    od_buf_free(&lit);
    od_kafka_consumer_destroy(k);
    od_db_close(db);
    return NULL;
}
