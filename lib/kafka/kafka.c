/* librdkafka behind the od_kafka_* interface (see kafka.h). */
#include "kafka/kafka.h"
#include "core/clock.h"
#include "core/log.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OD_STR_(x) #x
#define OD_STR(x) OD_STR_(x)

struct od_kafka_consumer {
    rd_kafka_t *rk;
    int paused;
    /* By partition: the timestamp of the last message polled (ever); the
     * offset after it and whether the partition's end has been fetched
     * (this assignment and since the last pause only; -1 and 0 if not). */
    int64_t *last_ts, *next_off;
    unsigned char *fetched;
    int nlast;
    /* Trouble (an error from librdkafka, a rebalance): when the current
     * spell began, and its last sign, or the first message or partition
     * end after it (the recovery); see od_kafka_consumer_progress. */
    int64_t trouble_since, trouble_ms;
    int recovering;
    int all_down;                 /* the last word from librdkafka: every broker down */
    unsigned uncommitted_revokes; /* od_kafka_consumer_uncommitted_revokes */
    int wake[2]; /* pipe written by librdkafka when messages arrive; -1 until asked for */
    rd_kafka_queue_t *commit_q; /* results of od_kafka_consumer_commit_start */
    void (*on_stats)(void *arg, const od_kafka_stats_t *s);
    void *stats_arg;
    char *topic;
};

struct od_kafka_producer {
    rd_kafka_t *rk;
};

static int set(rd_kafka_conf_t *conf, const char *k, const char *v, char *errstr, size_t n) {
    if (rd_kafka_conf_set(conf, k, v, errstr, n) != RD_KAFKA_CONF_OK) return -1;
    return 0;
}

/* Applies "k=v,k=v" overrides; "\," is a comma within a value, "\\" a
 * backslash. */
static int set_extra(rd_kafka_conf_t *conf, const char *extra, char *errstr, size_t n) {
    if (!extra || !*extra) return 0;
    char *kv = malloc(strlen(extra) + 1);
    if (!kv) abort();
    int rc = 0;
    for (const char *p = extra; *p && !rc;) {
        size_t o = 0;
        for (; *p && *p != ','; p++) {
            if (*p == '\\' && (p[1] == ',' || p[1] == '\\')) p++;
            kv[o++] = *p;
        }
        kv[o] = 0;
        if (*p == ',') p++;
        if (!o) continue;
        char *eq = strchr(kv, '=');
        if (!eq) {
            snprintf(errstr, n, "kafka setting \"%.200s\" is not key=value", kv);
            rc = -1;
            break;
        }
        *eq = 0;
        rc = set(conf, kv, eq + 1, errstr, n);
    }
    free(kv);
    return rc;
}

/* librdkafka's own lines: warnings at most. What it calls an error (a
 * broker that refused a connection, a request timed out) it retries by
 * itself; what the caller must act on comes back as a failed delivery, a
 * failed commit or a fatal error. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    od_logkv(level <= 4 ? OD_LOG_WARN : OD_LOG_DEBUG, buf, "kafka", fac, (const char *)NULL);
}

/* A sign of trouble: starts a spell unless one is under way (its last
 * sign within OD_KAFKA_RECOVERY_GRACE_MS). */
static void trouble(od_kafka_consumer_t *c) {
    int64_t now = od_clock_now_ms();
    if (!c->trouble_ms || now - c->trouble_ms >= OD_KAFKA_RECOVERY_GRACE_MS) c->trouble_since = now;
    c->trouble_ms = now;
    c->recovering = 1;
}

/* Messages flow again: the grace counts from now. */
static void recovered(od_kafka_consumer_t *c) {
    c->all_down = 0;
    if (!c->recovering) return;
    c->recovering = 0;
    c->trouble_ms = od_clock_now_ms();
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    if (opaque) { /* a consumer's (producers have no opaque) */
        trouble(opaque);
        if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
            ((od_kafka_consumer_t *)opaque)->all_down = 1;
    }
    od_logkv(err == RD_KAFKA_RESP_ERR__FATAL ? OD_LOG_ERROR : OD_LOG_WARN, reason, "kafka_error",
             rd_kafka_err2name((rd_kafka_resp_err_t)err), (const char *)NULL);
}

static void pause_all(rd_kafka_t *rk, int paused) {
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(rk, &parts) || !parts) return;
    if (parts->cnt) {
        if (paused)
            rd_kafka_pause_partitions(rk, parts);
        else
            rd_kafka_resume_partitions(rk, parts);
    }
    rd_kafka_topic_partition_list_destroy(parts);
}

/* A position or a fetch from an earlier assignment, or from before a
 * pause, says nothing about now. */
static void forget_positions(od_kafka_consumer_t *c) {
    for (int i = 0; i < c->nlast; i++) {
        c->next_off[i] = -1;
        c->fetched[i] = 0;
    }
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
    od_kafka_consumer_t *c = opaque;
    char n[16];
    snprintf(n, sizeof n, "%d", parts->cnt);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, parts);
        c->all_down = 0; /* the group coordinator answered */
        /* As the consumer is now, whatever a partition was when it left:
         * one paused while a batch waited for the database (reports), then
         * revoked and given back, stayed paused for good (seen: a soak's
         * reports partition never read again after a rebalance). */
        if (c->paused)
            rd_kafka_pause_partitions(rk, parts);
        else
            rd_kafka_resume_partitions(rk, parts);
        od_logkv(OD_LOG_INFO, "partitions assigned", "#count", n, (const char *)NULL);
    } else {
        /* Commit what was stored before letting go: while the group is
         * still preparing the rebalance the commit is accepted; once the
         * partitions are gone it is refused, and their next owner would
         * read again what this member already handled. */
        rd_kafka_resp_err_t cerr = rd_kafka_commit(rk, NULL, 0);
        if (cerr && cerr != RD_KAFKA_RESP_ERR__NO_OFFSET) {
            c->uncommitted_revokes++;
            od_logkv(OD_LOG_WARN, "commit before revoke failed", "kafka_error",
                     rd_kafka_err2name(cerr), (const char *)NULL);
        }
        rd_kafka_assign(rk, NULL);
        od_logkv(OD_LOG_INFO, "partitions revoked", "#count", n, (const char *)NULL);
    }
    forget_positions(c);
    trouble(c);
}

/* librdkafka's statistics (JSON): brokers whose state is UP, and the
 * consumer lag of the partitions this member fetches (-1 where unknown). */
static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque) {
    od_kafka_consumer_t *c = opaque;
    json_t *j = json_loadb(json, len, 0, NULL);
    if (!j || !c->on_stats) {
        json_decref(j);
        return 0;
    }
    od_kafka_stats_t st = {.topic = c->topic, .lag = -1};
    const char *name;
    json_t *v;
    json_object_foreach(json_object_get(j, "brokers"), name, v) {
        const char *state = json_string_value(json_object_get(v, "state"));
        st.brokers_up += state && !strcmp(state, "UP");
    }
    json_object_foreach(
        json_object_get(json_object_get(json_object_get(j, "topics"), c->topic), "partitions"),
        name, v) {
        json_t *lag = json_object_get(v, "consumer_lag");
        if (!strcmp(name, "-1") || !json_is_integer(lag) || json_integer_value(lag) < 0) continue;
        st.lag = (st.lag < 0 ? 0 : st.lag) + json_integer_value(lag);
    }
    json_decref(j);
    c->on_stats(c->stats_arg, &st);
    return 0; /* librdkafka frees json */
}

/* Makes room for partition p in the per-partition arrays. */
static void grow(od_kafka_consumer_t *c, int32_t p) {
    if (p < c->nlast) return;
    int n = p + 16;
    c->last_ts = realloc(c->last_ts, (size_t)n * sizeof *c->last_ts);
    c->next_off = realloc(c->next_off, (size_t)n * sizeof *c->next_off);
    c->fetched = realloc(c->fetched, (size_t)n);
    for (int i = c->nlast; i < n; i++) {
        c->last_ts[i] = c->next_off[i] = -1;
        c->fetched[i] = 0;
    }
    c->nlast = n;
}

static void note_polled(od_kafka_consumer_t *c, const rd_kafka_message_t *m) {
    if (m->partition < 0) return;
    grow(c, m->partition);
    recovered(c);
    c->next_off[m->partition] = m->offset + 1;
    int64_t ts = rd_kafka_message_timestamp(m, NULL);
    if (ts > c->last_ts[m->partition]) c->last_ts[m->partition] = ts;
}

/* A partition end: everything up to m->offset has been polled, and this
 * assignment's fetcher keeps the partition's high watermark current. */
static void note_end(od_kafka_consumer_t *c, const rd_kafka_message_t *m) {
    if (m->partition < 0) return;
    grow(c, m->partition);
    recovered(c);
    c->next_off[m->partition] = m->offset;
    c->fetched[m->partition] = 1;
}

od_kafka_consumer_t *od_kafka_consumer_new(const od_kafka_consumer_conf_t *cc, char *errstr,
                                           size_t n) {
    od_kafka_consumer_t *c = calloc(1, sizeof *c);
    c->wake[0] = c->wake[1] = -1;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    char group[128];
    if (!cc->group) { /* a reader of its own: a throw-away group that commits nothing */
        snprintf(group, sizeof group, "outdial-reader-%lld", (long long)od_clock_now_ms());
    }
    if (set(conf, "bootstrap.servers", cc->brokers, errstr, n) ||
        set(conf, "group.id", cc->group ? cc->group : group, errstr, n) ||
        set(conf, "client.id", cc->client_id ? cc->client_id : "outdial", errstr, n) ||
        set(conf, "partition.assignment.strategy", "range,roundrobin", errstr, n) ||
        set(conf, "enable.auto.commit", cc->group ? "true" : "false", errstr, n) ||
        set(conf, "enable.auto.offset.store", "false", errstr, n) ||
        set(conf, "auto.commit.interval.ms", "1000", errstr, n) ||
        set(conf, "auto.offset.reset", cc->from_beginning ? "earliest" : "latest", errstr, n) ||
        set(conf, "topic.metadata.refresh.interval.ms", "5000", errstr, n) ||
        set(conf, "session.timeout.ms", "6000", errstr, n) ||
        set(conf, "reconnect.backoff.max.ms", OD_STR(OD_KAFKA_RECONNECT_MAX_MS), errstr, n) ||
        set(conf, "heartbeat.interval.ms", "1000", errstr, n) ||
        set(conf, "max.poll.interval.ms", "300000", errstr, n) ||
        set(conf, "allow.auto.create.topics", "true", errstr, n) ||
        /* a broker that cannot wake a waiting fetch (the embedded one)
         * answers after this long: keep it short, dial work is urgent */
        set(conf, "fetch.wait.max.ms", "100", errstr, n) ||
        set(conf, "enable.partition.eof", cc->track_progress ? "true" : "false", errstr, n) ||
        (cc->on_stats &&
         set(conf, "statistics.interval.ms", OD_STR(OD_KAFKA_STATS_MS), errstr, n)) ||
        set_extra(conf, cc->extra, errstr, n))
        goto fail;
    if (cc->on_stats) {
        c->on_stats = cc->on_stats;
        c->stats_arg = cc->stats_arg;
        c->topic = strdup(cc->topic);
        rd_kafka_conf_set_stats_cb(conf, stats_cb);
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
    rd_kafka_conf_set_opaque(conf, c);
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, n);
    if (!c->rk) goto fail;
    conf = NULL;
    rd_kafka_poll_set_consumer(c->rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, cc->topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(c->rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (err) {
        snprintf(errstr, n, "subscribe to %s: %s", cc->topic, rd_kafka_err2str(err));
        goto fail;
    }
    return c;
fail:
    if (conf) rd_kafka_conf_destroy(conf);
    if (c->rk) rd_kafka_destroy(c->rk);
    free(c->topic);
    free(c);
    return NULL;
}

int od_kafka_consumer_poll_batch(od_kafka_consumer_t *c, od_kafka_msg_t *out, int max,
                                 int timeout_ms, int batch_ms) {
    int got = 0;
    int64_t first_by = od_clock_mono_ms() + timeout_ms, deadline = 0;
    while (got < max) {
        int wait = (int)((got == 0 ? first_by : deadline) - od_clock_mono_ms());
        if (got > 0 && wait <= 0) break;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, wait < 0 ? 0 : wait);
        if (!m) break;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) { /* only with track_progress */
            note_end(c, m);
            rd_kafka_message_destroy(m);
            if (got == 0 && wait <= 0) break;
            continue;
        }
        if (m->err) {
            od_logkv(OD_LOG_WARN, rd_kafka_message_errstr(m), "kafka_error",
                     rd_kafka_err2name(m->err), (const char *)NULL);
            rd_kafka_message_destroy(m);
            if (got == 0) break;
            continue;
        }
        if (got == 0) deadline = od_clock_mono_ms() + batch_ms;
        note_polled(c, m);
        od_kafka_msg_t *o = &out[got++];
        o->topic = rd_kafka_topic_name(m->rkt);
        o->partition = m->partition;
        o->offset = m->offset;
        o->timestamp_ms = rd_kafka_message_timestamp(m, NULL);
        o->value = m->payload;
        o->len = m->len;
        o->key = m->key;
        o->key_len = m->key_len;
        o->raw = m;
    }
    return got;
}

void od_kafka_consumer_store(od_kafka_consumer_t *c, od_kafka_msg_t *msgs, int n) {
    if (n <= 0) return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    for (int i = 0; i < n; i++) {
        rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_find(l, msgs[i].topic, msgs[i].partition);
        if (!tp) tp = rd_kafka_topic_partition_list_add(l, msgs[i].topic, msgs[i].partition);
        if (msgs[i].offset + 1 > tp->offset) tp->offset = msgs[i].offset + 1;
    }
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(c->rk, l);
    if (err && err != RD_KAFKA_RESP_ERR__STATE)
        od_logkv(OD_LOG_WARN, "storing offsets failed", "kafka_error", rd_kafka_err2name(err),
                 (const char *)NULL);
    for (int i = 0; i < n; i++) { /* per partition: _STATE where it is no longer ours */
        const rd_kafka_topic_partition_t *tp =
            rd_kafka_topic_partition_list_find(l, msgs[i].topic, msgs[i].partition);
        msgs[i].stored = !err && tp && !tp->err;
    }
    rd_kafka_topic_partition_list_destroy(l);
}

int od_kafka_consumer_brokers_down(const od_kafka_consumer_t *c) { return c->all_down; }

unsigned od_kafka_consumer_uncommitted_revokes(const od_kafka_consumer_t *c) {
    return c->uncommitted_revokes;
}

int od_kafka_consumer_commit_start(od_kafka_consumer_t *c) {
    if (!c->commit_q && !(c->commit_q = rd_kafka_queue_new(c->rk))) return -1;
    rd_kafka_event_t *old;
    while ((old = rd_kafka_queue_poll(c->commit_q, 0))) /* a result nobody waited for */
        rd_kafka_event_destroy(old);
    rd_kafka_resp_err_t err = rd_kafka_commit_queue(c->rk, NULL, c->commit_q, NULL, NULL);
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return 1; /* nothing stored: nothing to confirm */
    if (err) {
        od_logkv(OD_LOG_WARN, "commit not sent", "kafka_error", rd_kafka_err2name(err),
                 (const char *)NULL);
        return -1;
    }
    return 0;
}

int od_kafka_consumer_commit_poll(od_kafka_consumer_t *c) {
    rd_kafka_event_t *ev = c->commit_q ? rd_kafka_queue_poll(c->commit_q, 0) : NULL;
    if (!ev) return 0;
    rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
    const rd_kafka_topic_partition_list_t *l = rd_kafka_event_topic_partition_list(ev);
    for (int i = 0; !err && l && i < l->cnt; i++)
        err = l->elems[i].err;
    rd_kafka_event_destroy(ev);
    if (!err || err == RD_KAFKA_RESP_ERR__NO_OFFSET) return 1;
    od_logkv(OD_LOG_WARN, "commit failed", "kafka_error", rd_kafka_err2name(err),
             (const char *)NULL);
    return -1;
}

void od_kafka_msgs_release(od_kafka_msg_t *msgs, int n) {
    for (int i = 0; i < n; i++) {
        rd_kafka_message_destroy(msgs[i].raw);
        msgs[i].raw = NULL;
    }
}

void od_kafka_consumer_pause(od_kafka_consumer_t *c, int paused) {
    if (c->paused == paused) return;
    c->paused = paused;
    pause_all(c->rk, paused);
    forget_positions(c);
}

int od_kafka_consumer_topic_partitions(od_kafka_consumer_t *c, const char *topic) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *t = rd_kafka_topic_new(c->rk, topic, NULL);
    int n = -1;
    if (t && rd_kafka_metadata(c->rk, 0, t, &md, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        md->topic_cnt == 1 && !md->topics[0].err)
        n = md->topics[0].partition_cnt;
    if (md) rd_kafka_metadata_destroy(md);
    if (t) rd_kafka_topic_destroy(t);
    return n;
}

int od_kafka_consumer_progress(od_kafka_consumer_t *c, int32_t *out_parts, int64_t *out_through,
                               int max) {
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(c->rk, &parts) || !parts) return 0;
    int64_t now = od_clock_now_ms();
    int n = 0;
    for (int i = 0; i < parts->cnt && n < max; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        int32_t p = tp->partition;
        int64_t lo = -1, hi = -1, through = -1;
        rd_kafka_get_watermark_offsets(c->rk, tp->topic, p, &lo, &hi);
        if (p < c->nlast && c->fetched[p] && !c->paused && hi >= 0 && c->next_off[p] >= hi)
            through = now; /* read to the end as of the last fetch */
        else if (p < c->nlast && c->last_ts[p] >= 0)
            through = c->last_ts[p];
        if (through < 0) continue;
        /* Within the grace after trouble, producers may still hold what
         * they produced since it began (reconnecting, or sending what the
         * outage queued): nothing after its start is vouched for. */
        if (c->trouble_ms && now - c->trouble_ms < OD_KAFKA_RECOVERY_GRACE_MS &&
            through > c->trouble_since)
            through = c->trouble_since;
        out_parts[n] = p;
        out_through[n] = through - OD_KAFKA_PROGRESS_MARGIN_MS;
        n++;
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return n;
}

int od_kafka_consumer_wake_fd(od_kafka_consumer_t *c) {
    if (c->wake[0] >= 0) return c->wake[0];
    if (pipe(c->wake) != 0) return c->wake[0] = c->wake[1] = -1;
    for (int i = 0; i < 2; i++)
        fcntl(c->wake[i], F_SETFL, fcntl(c->wake[i], F_GETFL) | O_NONBLOCK);
    rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(c->rk);
    rd_kafka_queue_io_event_enable(q, c->wake[1], "1", 1);
    rd_kafka_queue_destroy(q);
    return c->wake[0];
}

void od_kafka_consumer_wake_clear(od_kafka_consumer_t *c) {
    char buf[64];
    while (c->wake[0] >= 0 && read(c->wake[0], buf, sizeof buf) > 0) {
    }
}

void od_kafka_consumer_destroy(od_kafka_consumer_t *c) {
    if (!c) return;
    if (c->wake[0] >= 0) {
        rd_kafka_queue_t *q = rd_kafka_queue_get_consumer(c->rk);
        rd_kafka_queue_io_event_enable(q, -1, NULL, 0);
        rd_kafka_queue_destroy(q);
    }
    rd_kafka_consumer_close(c->rk);
    rd_kafka_destroy(c->rk);
    if (c->wake[0] >= 0) {
        close(c->wake[0]);
        close(c->wake[1]);
    }
    if (c->commit_q) rd_kafka_queue_destroy(c->commit_q);
    free(c->last_ts);
    free(c->next_off);
    free(c->fetched);
    free(c->topic);
    free(c);
}

/* ---- producer ---- */

static void dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    od_kafka_batch_t *b = m->_private;
    if (!b) return;
    b->pending--;
    if (m->err) {
        b->failed++;
        snprintf(b->last_error, sizeof b->last_error, "%s", rd_kafka_err2str(m->err));
    } else {
        b->delivered++;
    }
    if (b->on_report) b->on_report(b->on_report_arg);
}

od_kafka_producer_t *od_kafka_producer_new(const char *brokers, const char *client_id,
                                           const char *extra, char *errstr, size_t n) {
    od_kafka_producer_t *p = calloc(1, sizeof *p);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (set(conf, "bootstrap.servers", brokers, errstr, n) ||
        set(conf, "client.id", client_id ? client_id : "outdial", errstr, n) ||
        set(conf, "enable.idempotence", "true", errstr, n) ||
        set(conf, "linger.ms", "5", errstr, n) || set(conf, "compression.type", "lz4", errstr, n) ||
        set(conf, "message.timeout.ms", OD_STR(OD_KAFKA_MESSAGE_TIMEOUT_MS), errstr, n) ||
        set(conf, "queue.buffering.max.messages", "500000", errstr, n) ||
        set(conf, "reconnect.backoff.max.ms", OD_STR(OD_KAFKA_RECONNECT_MAX_MS), errstr, n) ||
        set_extra(conf, extra, errstr, n))
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, n);
    if (!p->rk) goto fail;
    return p;
fail:
    if (!p->rk) rd_kafka_conf_destroy(conf);
    free(p);
    return NULL;
}

int od_kafka_produce(od_kafka_producer_t *p, const char *topic, const char *key, size_t key_len,
                     const char *value, size_t len, const od_kafka_header_t *headers, int nheaders,
                     od_kafka_batch_t *batch) {
    /* Counted before the message is queued: its report may be served by
     * another thread before rd_kafka_producev even returns. */
    if (batch) batch->pending++;
    for (;;) {
        rd_kafka_headers_t *hdrs = NULL;
        if (nheaders > 0) {
            hdrs = rd_kafka_headers_new((size_t)nheaders);
            for (int i = 0; i < nheaders; i++)
                rd_kafka_header_add(hdrs, headers[i].name, -1, headers[i].value, -1);
        }
        rd_kafka_resp_err_t err = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key_len),
            RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE(batch), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        if (!err) return OD_OK;
        if (hdrs) rd_kafka_headers_destroy(hdrs);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(p->rk, 50);
            continue;
        }
        if (batch) {
            batch->pending--;
            snprintf(batch->last_error, sizeof batch->last_error, "%s", rd_kafka_err2str(err));
        }
        od_logkv(OD_LOG_ERROR, "produce failed", "topic", topic, "kafka_error",
                 rd_kafka_err2name(err), (const char *)NULL);
        return OD_ERR_KAFKA;
    }
}

int od_kafka_producer_wait(od_kafka_producer_t *p, od_kafka_batch_t *batch, int timeout_ms) {
    int forever = timeout_ms == OD_KAFKA_WAIT_ALL;
    int64_t deadline = od_clock_mono_ms() + (forever ? 0 : timeout_ms);
    if (!batch) {
        rd_kafka_poll(p->rk, forever ? 0 : timeout_ms);
        return 0;
    }
    while (batch->pending > 0) {
        int64_t left = forever ? 100 : deadline - od_clock_mono_ms();
        if (left <= 0) break;
        rd_kafka_poll(p->rk, left > 100 ? 100 : (int)left);
    }
    return batch->pending;
}

int od_kafka_producer_reachable(od_kafka_producer_t *p, int timeout_ms) {
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(p->rk, 0, NULL, &md, timeout_ms);
    if (md) rd_kafka_metadata_destroy(md);
    return err == RD_KAFKA_RESP_ERR_NO_ERROR;
}

void od_kafka_producer_destroy(od_kafka_producer_t *p, int timeout_ms) {
    if (!p) return;
    rd_kafka_flush(p->rk, timeout_ms);
    /* Settle what is left while its batches are still alive: purged
     * messages get their (failed) delivery reports here, not later. */
    rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(p->rk, 1000);
    rd_kafka_destroy(p->rk);
    free(p);
}

/* A short-lived client for one admin request (topics). NULL with errstr. */
static rd_kafka_t *admin_new(const char *brokers, char *errstr, size_t n) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (set(conf, "bootstrap.servers", brokers, errstr, n)) {
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, n);
    if (!rk) rd_kafka_conf_destroy(conf);
    return rk;
}

/* Options of an admin request: 5 s to answer (the caller polls for 6). */
static rd_kafka_AdminOptions_t *admin_options(rd_kafka_t *rk, rd_kafka_admin_op_t op) {
    rd_kafka_AdminOptions_t *opt = rd_kafka_AdminOptions_new(rk, op);
    rd_kafka_AdminOptions_set_operation_timeout(opt, 5000, NULL, 0);
    rd_kafka_AdminOptions_set_request_timeout(opt, 5000, NULL, 0);
    return opt;
}

int od_kafka_ensure_topic(const char *brokers, const char *topic, int partitions, char *errstr,
                          size_t n) {
    rd_kafka_t *rk = admin_new(brokers, errstr, n);
    if (!rk) return OD_ERR_KAFKA;
    int rc = OD_ERR_KAFKA;
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, -1, errstr, n);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opt = admin_options(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_CreateTopics(rk, &nt, 1, opt, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 6000);
    if (!ev) {
        snprintf(errstr, n, "creating topic %s: no answer from %s", topic, brokers);
    } else {
        size_t cnt = 0;
        const rd_kafka_topic_result_t **res =
            rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &cnt);
        rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
        if (!err && cnt == 1) err = rd_kafka_topic_result_error(res[0]);
        if (!err || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
            rc = OD_OK;
        else
            snprintf(errstr, n, "creating topic %s: %s", topic, rd_kafka_err2str(err));
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_NewTopic_destroy(nt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}

int od_kafka_delete_topic(const char *brokers, const char *topic, char *errstr, size_t n) {
    rd_kafka_t *rk = admin_new(brokers, errstr, n);
    if (!rk) return OD_ERR_KAFKA;
    int rc = OD_ERR_KAFKA;
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(topic);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opt = admin_options(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
    rd_kafka_DeleteTopics(rk, &dt, 1, opt, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 6000);
    if (!ev) {
        snprintf(errstr, n, "deleting topic %s: no answer from %s", topic, brokers);
    } else {
        size_t cnt = 0;
        const rd_kafka_topic_result_t **res =
            rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &cnt);
        rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
        if (!err && cnt == 1) err = rd_kafka_topic_result_error(res[0]);
        if (!err)
            rc = OD_OK;
        else
            snprintf(errstr, n, "deleting topic %s: %s", topic, rd_kafka_err2str(err));
        rd_kafka_event_destroy(ev);
    }
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_DeleteTopic_destroy(dt);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return rc;
}
