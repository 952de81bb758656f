/* The dialer's loop: one thread steps the SIP stack, reads dial work when
 * Kafka signals some, paces INVITEs per trunk, heartbeats the calls it
 * holds, and drains on SIGTERM. */
#include "core/buf.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"
#include "dialer/dialer_int.h"
#include "dialer/spool.h"
#include "kafka/kafka.h"
#include "ops/kafka_probe.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define F(field) offsetof(od_dialer_conf_t, field)
const od_opt_t od_dialer_opts[] = {
    {"group", "OUTDIAL_DIALER_GROUP", OD_OPT_STRING, "outdial-dialer",
     "consumer group shared by all dialers", F(group)},
    {"dialer-id", "OUTDIAL_DIALER_ID", OD_OPT_STRING, NULL,
     "this dialer's name; reports carry it as NAME/xxxxxxxx, new at each start (default: "
     "hostname-pid)",
     F(dialer_id)},
    {"sip-bind", "OUTDIAL_SIP_BIND", OD_OPT_STRING, "sip:127.0.0.1:5080",
     "SIP URI the user agent listens on (UDP and TCP)", F(sip_bind)},
    {"heartbeat-ms", "OUTDIAL_HEARTBEAT_MS", OD_OPT_INT, "2000",
     "how often live calls are listed to the schedulers", F(heartbeat_ms)},
    {"stale-seconds", "OUTDIAL_DIAL_STALE_SECONDS", OD_OPT_INT, "6",
     "dial work older than this is not dialed (keep below the schedulers' "
     "dialer-lost-seconds)",
     F(stale_seconds)},
    {"agent-answer-ms", "OUTDIAL_AGENT_ANSWER_MS", OD_OPT_INT, "5000",
     "the agent must answer within this, or the call fails (AGENT_NO_ANSWER)", F(agent_answer_ms)},
    {"drain-seconds", "OUTDIAL_DRAIN_SECONDS", OD_OPT_INT, "30",
     "on SIGTERM, live calls may go on this long before they are hung up", F(drain_seconds)},
    {"max-calls", "OUTDIAL_MAX_CALLS", OD_OPT_INT, "20000",
     "calls held at once (queued and live); above it, intake pauses", F(max_calls)},
    {"sip-header-max", "OUTDIAL_SIP_HEADER_MAX", OD_OPT_INT, "1024",
     "longest X-Outdial-* header line sent to an agent; longer values are split into numbered "
     "headers",
     F(header_line_max)},
    {"log-level", "OUTDIAL_LOG_LEVEL", OD_OPT_STRING, "info", "debug, info, warn or error",
     F(log_level)},
    OD_OPS_OPTS(od_dialer_conf_t, ops, "127.0.0.1:9465"),
    OD_OPT_END,
};
#undef F

#define RECENT_CANCELS 4096
#define RECENT_SEEN 16384   /* dial work already taken: a second copy is not dialed */
#define HEARTBEAT_CHUNK 500 /* calls listed per heartbeat message */

struct od_trunk {
    char *id;
    int64_t next_us; /* earliest time (monotonic µs) of its next INVITE */
    od_call_t *head, *tail;
};

struct od_dialer {
    const od_dialer_conf_t *conf;
    od_sip_t *sip;
    od_kafka_consumer_t *work;
    od_kafka_producer_t *out;
    od_spool_t *reports; /* call reports, kept until the broker has them */
    od_call_t **table;   /* by call_id */
    size_t table_size, ncalls;
    od_trunk_t *trunks;
    int ntrunks;
    struct {
        char call_id[40];
        int attempt;
    } cancels[RECENT_CANCELS]; /* cancels that came before their work */
    int cancel_next;
    uint64_t seen[RECENT_SEEN]; /* hashes of (call_id, attempt) taken lately */
    int seen_next;
    int kafka_ready, paused;
    od_call_t *released;  /* calls done this turn, freed after it (free_released) */
    od_seal_key_t key;    /* opens the passwords in dial work */
    od_kafka_msg_t *msgs; /* READ_MAX, for read_work */
};

od_sip_t *od_dialer_sip(od_dialer_t *d) { return d->sip; }
const od_dialer_conf_t *od_dialer_conf(od_dialer_t *d) { return d->conf; }

static void produce(od_dialer_t *d, const char *topic, const char *key, const char *text,
                    od_kafka_batch_t *batch) {
    if (od_kafka_produce(d->out, topic, key, strlen(key), text, strlen(text), NULL, 0, batch))
        OD_ERROR("report not queued: %s", key);
}

void od_dialer_report(od_dialer_t *d, const od_call_t *c, json_t *rep) {
    char *text = json_dumps(rep, JSON_COMPACT);
    json_decref(rep);
    if (!text) return;
    od_spool_send(d->reports, c->w.call_id, text);
    free(text);
}

/* ---- calls by id ---- */

/* FNV-1a of s, from `seed` (mixed into the offset basis). */
static uint64_t fnv1a(const char *s, uint64_t seed) {
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static size_t slot(const od_dialer_t *d, const char *id) {
    return fnv1a(id, 0) & (d->table_size - 1);
}

static od_call_t *find(od_dialer_t *d, const char *id) {
    for (od_call_t *c = d->table[slot(d, id)]; c; c = c->hnext)
        if (!strcmp(c->w.call_id, id)) return c;
    return NULL;
}

static void insert(od_dialer_t *d, od_call_t *c) {
    if (d->ncalls * 2 >= d->table_size) {
        size_t old = d->table_size;
        od_call_t **prev = d->table;
        d->table_size *= 2;
        d->table = calloc(d->table_size, sizeof *d->table);
        for (size_t i = 0; i < old; i++)
            for (od_call_t *x = prev[i], *next; x; x = next) {
                next = x->hnext;
                size_t k = slot(d, x->w.call_id);
                x->hnext = d->table[k];
                d->table[k] = x;
            }
        free(prev);
    }
    size_t k = slot(d, c->w.call_id);
    c->hnext = d->table[k];
    d->table[k] = c;
    d->ncalls++;
}

static void unqueue(od_dialer_t *d, od_call_t *c) {
    for (int i = 0; i < d->ntrunks && c->in_queue; i++) {
        od_trunk_t *t = &d->trunks[i];
        for (od_call_t **p = &t->head, *prev = NULL; *p; prev = *p, p = &(*p)->qnext)
            if (*p == c) {
                *p = c->qnext;
                if (t->tail == c) t->tail = prev;
                c->in_queue = 0;
                break;
            }
    }
}

/* Takes the call out of the table and its trunk's queue. */
static void unlink_call(od_dialer_t *d, od_call_t *c) {
    for (od_call_t **p = &d->table[slot(d, c->w.call_id)]; *p; p = &(*p)->hnext)
        if (*p == c) {
            *p = c->hnext;
            d->ncalls--;
            break;
        }
    unqueue(d, c);
}

static void free_call(od_call_t *c) {
    od_sip_timer_free(c->timer);
    od_work_clear(&c->w);
    free(c->text);
    free(c->sdp_to_callee);
    free(c->sdp_to_agent);
    free(c);
}

/* Drops a call call.c never had (a copy, or work handed back). */
static void forget(od_dialer_t *d, od_call_t *c) {
    unlink_call(d, c);
    free_call(c);
}

void od_dialer_call_done(od_dialer_t *d, od_call_t *c) {
    unlink_call(d, c);
    c->qnext = d->released;
    d->released = c;
}

/* Frees the calls released during this turn, now that no callback up the
 * stack can hold one. */
static void free_released(od_dialer_t *d) {
    while (d->released) {
        od_call_t *c = d->released;
        d->released = c->qnext;
        free_call(c);
    }
}

/* Serves SIP for up to ms while the loop waits on something else (a
 * commit, a hand-back), freeing what that released. */
static void serve_sip(od_dialer_t *d, long ms) {
    od_sip_step(d->sip, ms);
    free_released(d);
}

/* ---- pacing: each trunk's INVITEs spaced 1/cps apart ---- */

static od_trunk_t *trunk(od_dialer_t *d, const char *id) {
    for (int i = 0; i < d->ntrunks; i++)
        if (!strcmp(d->trunks[i].id, id)) return &d->trunks[i];
    d->trunks = realloc(d->trunks, (size_t)(d->ntrunks + 1) * sizeof *d->trunks);
    od_trunk_t *t = &d->trunks[d->ntrunks++];
    memset(t, 0, sizeof *t);
    t->id = strdup(id);
    return t;
}

static void enqueue(od_dialer_t *d, od_call_t *c) {
    od_trunk_t *t = trunk(d, c->w.trunk_id);
    c->qnext = NULL;
    c->in_queue = 1;
    if (t->tail)
        t->tail->qnext = c;
    else
        t->head = c;
    t->tail = c;
}

/* Starts what is due; returns ms until the next INVITE is due (or 100). */
static long pace(od_dialer_t *d) {
    int64_t now = od_clock_mono_ms() * 1000, wait = 100000;
    for (int i = 0; i < d->ntrunks; i++) {
        od_trunk_t *t = &d->trunks[i];
        while (t->head && t->next_us <= now) {
            od_call_t *c = t->head;
            t->head = c->qnext;
            if (!t->head) t->tail = NULL;
            c->in_queue = 0;
            int64_t interval = 1000000 / c->w.cps;
            /* on time: exactly one interval later; late: never closer
             * than half an interval, so a stall is not made up in a burst */
            t->next_us = t->next_us + interval > now + interval / 2 ? t->next_us + interval
                                                                    : now + interval / 2;
            od_metric_add(od_dm.paced, t->id, 1);
            od_call_start(c);
        }
        if (t->head && t->next_us - now < wait) wait = t->next_us - now;
    }
    return (long)((wait + 999) / 1000);
}

/* ---- dial work ---- */

static int canceled_before(od_dialer_t *d, const char *id, int attempt) {
    for (int i = 0; i < RECENT_CANCELS; i++)
        if (d->cancels[i].attempt == attempt && !strcmp(d->cancels[i].call_id, id)) return 1;
    return 0;
}

static void on_cancel(od_dialer_t *d, json_t *m) {
    const char *id = json_string_value(json_object_get(m, "call_id"));
    int attempt = (int)json_integer_value(json_object_get(m, "attempt"));
    if (!id) return;
    od_call_t *c = find(d, id);
    if (c && c->w.attempt == attempt) {
        od_call_cancel(c);
        return;
    }
    /* its work may follow (handed back by a draining dialer): remember */
    snprintf(d->cancels[d->cancel_next].call_id, sizeof d->cancels[0].call_id, "%s", id);
    d->cancels[d->cancel_next].attempt = attempt;
    d->cancel_next = (d->cancel_next + 1) % RECENT_CANCELS;
}

/* Whether this attempt's work was taken lately (then 1), noting it if not:
 * work can arrive twice (handed back by a draining dialer, re-read after
 * a rebalance), and an attempt is dialed once. */
static int seen_before(od_dialer_t *d, const char *id, int attempt) {
    uint64_t h = fnv1a(id, (uint64_t)attempt) | 1; /* 0 marks an empty slot */
    for (int i = 0; i < RECENT_SEEN; i++)
        if (d->seen[i] == h) return 1;
    d->seen[d->seen_next] = h;
    d->seen_next = (d->seen_next + 1) % RECENT_SEEN;
    return 0;
}

static void on_dial(od_dialer_t *d, json_t *m, const char *text, size_t len) {
    char err[160];
    od_call_t *c = calloc(1, sizeof *c);
    c->d = d;
    od_work_opts_t wo = {&d->key, (size_t)d->conf->header_line_max};
    int bad = od_work_parse(m, &wo, &c->w, err, sizeof err);
    if (!c->w.call_id[0] || find(d, c->w.call_id) ||
        seen_before(d, c->w.call_id, c->w.attempt)) { /* unusable, or a copy */
        if (!c->w.call_id[0]) OD_WARN("dial work ignored: %s", err);
        od_work_clear(&c->w);
        free(c);
        return;
    }
    c->text = strndup(text, len);
    insert(d, c);
    int64_t age_ms = od_clock_now_ms() - c->w.admitted_ms;
    if (bad) {
        od_call_end_unplaced(c, "failed", "DIAL_WORK_INVALID", err);
    } else if (canceled_before(d, c->w.call_id, c->w.attempt)) {
        od_call_cancel(c); /* not queued yet: ends it at once */
    } else if (age_ms > d->conf->stale_seconds * 1000) {
        snprintf(err, sizeof err, "dial work reached the dialer %lld ms after admission",
                 (long long)age_ms);
        od_call_end_unplaced(c, "failed", "DIAL_WORK_STALE", err);
    } else {
        enqueue(d, c);
    }
}

#define READ_MAX 2048        /* dial messages read per turn, so SIP is served too */
#define CONFIRM_WAIT_MS 5000 /* how long a commit may take before the work is let go */

/* Commits what was just taken and waits for the broker's word, serving SIP
 * meanwhile. Work is dialed only once this says it is ours: a dialer that
 * dies after this has committed it, so the partition's next owner does not
 * read it again (the work ends DIALER_LOST, never dialed twice); one that
 * dies before has dialed nothing of it. Returns 1 if committed. */
static int confirm_taken(od_dialer_t *d) {
    int r = od_kafka_consumer_commit_start(d->work);
    int64_t until = od_clock_mono_ms() + CONFIRM_WAIT_MS;
    while (r == 0 && od_clock_mono_ms() < until) {
        serve_sip(d, 2);
        r = od_kafka_consumer_commit_poll(d->work);
    }
    return r == 1;
}

static void read_work(od_dialer_t *d) {
    int n = 0, got;
    if (!d->work) return;
    od_kafka_consumer_wake_clear(d->work);
    do { /* what is ready, a bounded amount per turn */
        got = od_kafka_consumer_poll_batch(d->work, d->msgs + n,
                                           READ_MAX - n < 256 ? READ_MAX - n : 256, 0, 2);
        n += got;
    } while (got > 0 && n < READ_MAX);
    if (n > 0) {
        /* Ours to dial: stored while its partition was ours, and committed
         * (by confirm_taken, or by the commit before a revoke, which must
         * not have failed meanwhile); otherwise the partition's next owner
         * reads it again and dials it. */
        unsigned revokes = od_kafka_consumer_uncommitted_revokes(d->work);
        od_kafka_consumer_store(d->work, d->msgs, n);
        int ours = confirm_taken(d) && revokes == od_kafka_consumer_uncommitted_revokes(d->work);
        int left = 0;
        for (int i = 0; i < n; i++)
            left += !d->msgs[i].stored;
        if (!ours)
            OD_WARN("dial work not confirmed as taken (the commit failed): %d messages left to "
                    "the partition's next owner, or to the schedulers' lost-call reaping",
                    n);
        else if (left)
            OD_INFO("%d messages read from partitions given up meanwhile: left to their new owner",
                    left);
        for (int i = 0; i < n; i++) {
            const od_kafka_msg_t *k = &d->msgs[i];
            json_t *m = json_loadb(k->value, k->len, 0, NULL);
            const char *type = json_string_value(json_object_get(m, "type"));
            if (type && !strcmp(type, "dial")) {
                if (ours && k->stored) on_dial(d, m, k->value, k->len);
            } else if (type && !strcmp(type, "cancel")) {
                on_cancel(d, m);
            } else {
                OD_WARN("dial topic: message at %s/%d/%lld is not dial work", k->topic,
                        (int)k->partition, (long long)k->offset);
            }
            json_decref(m);
        }
        od_kafka_msgs_release(d->msgs, n);
    }
    if (got > 0) d->kafka_ready = 1; /* more may be waiting: come back soon */
    int full = (long)d->ncalls >= d->conf->max_calls;
    if (full != d->paused) {
        od_kafka_consumer_pause(d->work, full);
        d->paused = full;
        OD_INFO("%s dial work: %zu calls held", full ? "pausing" : "resuming", d->ncalls);
    }
}

static void on_work_ready(void *arg) { ((od_dialer_t *)arg)->kafka_ready = 1; }

/* ---- heartbeats ---- */

static void heartbeat_open(od_dialer_t *d, od_buf_t *b, const char *at) {
    od_buf_reset(b);
    od_buf_puts(b, "{\"type\":\"heartbeat\",\"dialer_id\":");
    od_buf_json_str(b, d->conf->dialer_id);
    od_buf_printf(b, ",\"at\":\"%s\",\"calls\":[", at);
}

static void heartbeat_send(od_dialer_t *d, od_buf_t *b) {
    od_buf_puts(b, "]}");
    produce(d, d->conf->common.topic_reports, d->conf->dialer_id, b->data, NULL);
}

/* Lists the calls held (queued or live), HEARTBEAT_CHUNK per message; one
 * message even with none, as it proves the dialer alive. */
static void heartbeat(od_dialer_t *d) {
    od_buf_t b = {0};
    char at[40];
    int n = 0, sent = 0;
    od_clock_format_rfc3339(od_clock_now_ms(), at, sizeof at);
    for (size_t i = 0; i < d->table_size; i++)
        for (od_call_t *c = d->table[i]; c; c = c->hnext) {
            if (c->state == CALL_ENDED) continue;
            if (n == 0) heartbeat_open(d, &b, at);
            od_buf_printf(&b, "%s{\"call_id\":\"%s\",\"attempt\":%d}", n ? "," : "", c->w.call_id,
                          c->w.attempt);
            if (++n == HEARTBEAT_CHUNK) {
                heartbeat_send(d, &b);
                n = 0;
                sent++;
            }
        }
    if (n > 0 || sent == 0) {
        if (n == 0) heartbeat_open(d, &b, at);
        heartbeat_send(d, &b);
    }
    od_buf_free(&b);
}

/* ---- drain ---- */

/* Puts work not yet started back on the dial topic, marked with when we
 * let go of it, so another dialer dials it. Each call's copy is tracked on
 * its own: a call whose copy was delivered is forgotten here, one whose
 * copy failed ends DIALER_SHUTDOWN, never both. Returns how many were
 * handed back. */
static int hand_back(od_dialer_t *d) {
    char at[40];
    int n = 0, back = 0;
    od_clock_format_rfc3339(od_clock_now_ms(), at, sizeof at);
    for (int i = 0; i < d->ntrunks; i++)
        for (od_call_t *c = d->trunks[i].head; c; c = c->qnext)
            n++;
    od_call_t **calls = calloc((size_t)n + 1, sizeof *calls);
    od_kafka_batch_t *batches = calloc((size_t)n + 1, sizeof *batches);
    if (!calls || !batches) abort(); /* as od_buf does: no way on without memory */
    n = 0;
    for (int i = 0; i < d->ntrunks; i++)
        while (d->trunks[i].head) {
            od_call_t *c = d->trunks[i].head;
            unqueue(d, c);
            json_t *m = json_loads(c->text, 0, NULL);
            json_object_set_new(m, "handed_back_at", json_string(at));
            char *text = json_dumps(m, JSON_COMPACT);
            produce(d, d->conf->common.topic_dial, c->w.call_id, text ? text : c->text,
                    &batches[n]);
            free(text);
            json_decref(m);
            calls[n++] = c;
        }
    /* kafka.h: each batch must outlive its delivery report, which comes
     * within the message timeout; SIP is served meanwhile. */
    for (int i = 0; i < n; i++)
        while (od_kafka_producer_wait(d->out, &batches[i], 20) > 0) {
            serve_sip(d, 0);
        }
    for (int i = 0; i < n; i++) {
        if (batches[i].delivered) {
            forget(d, calls[i]);
            back++;
        } else {
            od_call_end_unplaced(calls[i], "failed", "DIALER_SHUTDOWN",
                                 "the dialer shut down before dialing it");
        }
    }
    free_released(d);
    free(calls);
    free(batches);
    return back;
}

/* Serves delivery reports, producing again what failed, until every
 * report is delivered or timeout_ms has passed. */
static void flush_reports(od_dialer_t *d, int64_t timeout_ms) {
    int64_t until = od_clock_mono_ms() + timeout_ms;
    while (od_spool_sweep(d->reports) > 0 && od_clock_mono_ms() < until)
        od_kafka_producer_wait(d->out, NULL, 50);
}

static void abort_all(od_dialer_t *d) {
    for (size_t i = 0; i < d->table_size; i++)
        for (od_call_t *c = d->table[i], *next; c; c = next) {
            next = c->hnext;
            od_call_abort(c, "DIALER_SHUTDOWN", "the dialer shut down");
        }
}

int od_dialer_run(const od_dialer_conf_t *given, volatile sig_atomic_t *stop) {
    char err[512];
    /* Reports name this process, not only the dialer: NAME/incarnation. A
     * process restarted under the same name (Kubernetes restarting a
     * container in its pod) knows nothing of its predecessor's calls; under
     * the same id its heartbeats would keep them alive for good, since a
     * call is lost only once its dialer falls silent. */
    char id[256], nonce[OD_UUID_STRLEN];
    od_uuid_v4(nonce);
    snprintf(id, sizeof id, "%.200s/%.8s", given->dialer_id ? given->dialer_id : "dialer", nonce);
    od_dialer_conf_t own = *given;
    own.dialer_id = id;
    const od_dialer_conf_t *conf = &own;
    od_dialer_t d = {.conf = conf, .table_size = 1024};
    od_dialer_metrics_init();
    od_ops_t *ops = od_ops_start(&conf->ops, "outdial-dialer", err, sizeof err);
    if (!ops) {
        OD_ERROR("%s", err);
        return 1;
    }
    od_ops_check_t *kafka_ok = od_ops_check_register("kafka:dial", OD_OPS_KAFKA_MAX_AGE_MS);
    od_ops_check_t *not_draining = od_ops_check_register("not_draining", 0);
    od_ops_check_set(not_draining, 1, NULL);
    d.table = calloc(d.table_size, sizeof *d.table);
    od_kafka_consumer_conf_t cc = {.brokers = conf->common.brokers,
                                   .group = conf->group,
                                   .topic = conf->common.topic_dial,
                                   .from_beginning = 1,
                                   .client_id = "outdial-dialer",
                                   .extra = conf->common.kafka_extra,
                                   .on_stats = od_ops_kafka_stats,
                                   .stats_arg = kafka_ok};
    if (conf->header_line_max < 128) {
        OD_ERROR("--sip-header-max must be at least 128 (got %ld)", conf->header_line_max);
        free(d.table);
        od_ops_stop(ops);
        return 1;
    }
    if (od_seal_key_load(&d.key, conf->common.credentials_key_file, err, sizeof err)) {
        OD_ERROR("%s", err);
        free(d.table);
        od_ops_stop(ops);
        return 1;
    }
    d.sip = od_sip_new(conf->sip_bind, err, sizeof err);
    if (!d.sip) {
        OD_ERROR("%s", err);
        od_ops_stop(ops);
        return 1;
    }
    d.out = od_kafka_producer_new(conf->common.brokers, "outdial-dialer", conf->common.kafka_extra,
                                  err, sizeof err);
    if (d.out) d.work = od_kafka_consumer_new(&cc, err, sizeof err);
    if (d.out) d.reports = od_spool_new(d.out, conf->common.topic_reports);
    int fd = d.work ? od_kafka_consumer_wake_fd(d.work) : -1;
    int watch = fd < 0 ? -1 : od_sip_watch_fd(d.sip, fd, on_work_ready, &d);
    if (!d.out || !d.work || watch < 0) {
        OD_ERROR("kafka: %s", d.out && d.work ? "cannot watch the consumer" : err);
        od_kafka_consumer_destroy(d.work);
        od_kafka_producer_destroy(d.out, 1000);
        od_spool_free(d.reports);
        od_sip_destroy(d.sip, 1000);
        od_ops_stop(ops);
        return 1;
    }
    d.msgs = calloc(READ_MAX, sizeof *d.msgs);
    if (!d.msgs) abort(); /* as od_buf does: no way on without memory */
    od_logkv(OD_LOG_INFO, "dialer started", "dialer_id", conf->dialer_id, "sip", conf->sip_bind,
             "topic", conf->common.topic_dial, (const char *)NULL);

    int64_t next_hb = 0, next_poll = 0, next_sweep = 0, drain_until = 0, give_up = 0;
    int draining = 0, aborted = 0;
    od_ops_loop_t *loop = od_ops_loop_register("dialer");
    for (;;) {
        od_ops_loop_beat(loop);
        long wait = pace(&d);
        od_sip_step(d.sip, wait < 100 ? wait : 100);
        int64_t now = od_clock_mono_ms();
        if (d.work && (d.kafka_ready || now >= next_poll)) { /* and a poll now and then */
            d.kafka_ready = 0;
            next_poll = now + 100;
            read_work(&d);
        }
        if (now >= next_hb) {
            heartbeat(&d);
            next_hb = now + conf->heartbeat_ms;
        }
        od_kafka_producer_wait(d.out, NULL, 0);
        if (now >= next_sweep) {
            od_spool_sweep(d.reports);
            next_sweep = now + 100;
            od_spool_stats_t ss = od_spool_stats(d.reports);
            od_metric_set(od_dm.reports_resent, NULL, (double)ss.resent);
            od_metric_set(od_dm.reports_pending, NULL, (double)ss.pending);
            od_metric_set(od_dm.calls_held, NULL, (double)d.ncalls);
        }
        free_released(&d);

        if (*stop && !draining) {
            draining = 1;
            *stop = 0; /* a second signal cuts the drain short */
            od_metric_set(od_dm.draining, NULL, 1);
            od_ops_check_set(not_draining, 0, "draining: no new calls taken");
            od_ops_check_done(kafka_ok); /* its consumer goes now */
            int n = hand_back(&d);
            od_sip_unwatch(d.sip, watch);
            od_kafka_consumer_destroy(d.work);
            d.work = NULL;
            drain_until = now + conf->drain_seconds * 1000;
            OD_INFO("draining: %d calls handed back, %zu live may run %ld s", n, d.ncalls,
                    conf->drain_seconds);
        }
        if (draining && !aborted && (*stop || now >= drain_until)) {
            aborted = 1;
            give_up = now + 5000;
            OD_INFO("drain over: hanging up %zu calls", d.ncalls);
            abort_all(&d);
            free_released(&d);
        }
        if (draining && (d.ncalls == 0 || (aborted && now >= give_up))) break;
    }
    heartbeat(&d);
    od_sip_destroy(d.sip, 2000);
    free_released(&d);
    flush_reports(&d, 10000);
    od_kafka_producer_destroy(d.out, 1000);
    size_t lost = od_spool_free(d.reports);
    if (lost) /* their calls end DIALER_LOST at the schedulers */
        OD_ERROR("%zu reports could not be delivered before exit", lost);
    for (int i = 0; i < d.ntrunks; i++)
        free(d.trunks[i].id);
    free(d.trunks);
    free(d.table);
    free(d.msgs);
    od_ops_loop_done(loop);
    od_ops_stop(ops);
    OD_INFO("dialer stopped");
    return 0;
}
