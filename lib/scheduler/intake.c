/* Intake: consume calls.requests in a group, validate each message, store
 * each request once with its first event (queued or rejected) in one
 * transaction per batch, then store the batch's offsets. At least once in,
 * exactly once stored: a redelivered message meets its own row and adds
 * nothing. A message the database refuses on its own is stored as a
 * rejection instead, and if that is refused too, as a minimal rejection
 * (see row_mode_t), so one bad message never stalls its partition nor goes
 * without its row and event. Each batch also records the offsets it
 * covered (intake_ranges), so `outdialctl audit` finds any it skipped. While
 * the database is away, fetching pauses (the member stays in its group) and
 * the batch in hand waits to be written.
 *
 * Batches are stored over INTAKE_LANES connections at once, so that the
 * database works on one while another commits and the next is polled and
 * encoded. Batches finish in the order they were taken: offsets of a batch
 * are stored only after its own commit and every earlier batch's. If any
 * batch fails, every batch in flight is collected and stored again, in
 * order, on the slow path (storing twice is harmless: rows are keyed). */
#include "core/buf.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"
#include "core/utf8.h"
#include "db/db.h"
#include "db/repo.h"
#include "domain/event.h"
#include "domain/request.h"
#include "kafka/kafka.h"
#include "ops/kafka_probe.h"
#include "scheduler/scheduler_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <utime.h>

/* A batch's rows as the column arrays of od_intake(). */
typedef struct {
    od_buf_t col[OD_IN_NCOLS];
    const char *cols[OD_IN_NCOLS];
    od_buf_t scratch; /* one event body */
    int *cancels;     /* indices of valid cancels, applied after the commit */
    int ncancels;
    /* call_ids of the batch's rows so far (open addressing): a request met
     * twice in one batch has one call_id, and a second row of it would make
     * od_intake() write its first event twice. */
    char (*ids)[OD_UUID_STRLEN];
    size_t ids_cap, nids;
    int rejects[OD_REJ_INSUFFICIENT_BALANCE + 1]; /* rows by reject code, for metrics */
} enc_t;

/* 1 if call_id is already a row of this batch; else remembers it, 0. */
static int seen_in_batch(enc_t *enc, const char *call_id) {
    if (2 * (enc->nids + 1) > enc->ids_cap) { /* grow, keeping the load under half */
        size_t cap = enc->ids_cap ? 2 * enc->ids_cap : 256;
        char(*old)[OD_UUID_STRLEN] = enc->ids;
        size_t old_cap = enc->ids_cap;
        enc->ids = calloc(cap, sizeof *enc->ids);
        if (!enc->ids) abort();
        enc->ids_cap = cap;
        enc->nids = 0;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i][0]) seen_in_batch(enc, old[i]);
        free(old);
    }
    size_t mask = enc->ids_cap - 1;
    for (size_t i = od_hash64(call_id, strlen(call_id), OD_HASH64_INIT) & mask;;
         i = (i + 1) & mask) {
        if (!enc->ids[i][0]) {
            memcpy(enc->ids[i], call_id, OD_UUID_STRLEN);
            enc->nids++;
            return 0;
        }
        if (!strcmp(enc->ids[i], call_id)) return 1;
    }
}

#define INTAKE_LANES 2

typedef struct {
    od_kafka_msg_t *msgs;
    int n, cap;
    enc_t enc;
    od_db_t *lane; /* the connection it was sent on, while in flight */
    double sent_s; /* when it went to the database (od_clock_mono_s) */
} batch_t;

typedef struct {
    const od_scheduler_conf_t *conf;
    volatile sig_atomic_t *stop;
    od_db_t *db; /* also lane[0]; the one that LISTENs and takes the slow path */
    od_db_t *lane[INTAKE_LANES];
    od_kafka_consumer_t *consumer;
    json_t *prov;
    long prov_version;
    batch_t b[INTAKE_LANES + 1];
    batch_t *fifo[INTAKE_LANES]; /* in flight, oldest first */
    int nfifo;
    enc_t scratch; /* for one message at a time on the slow path */
    long stored, dup;
    od_ops_loop_t *loop;              /* liveness */
    od_ops_check_t *db_ok, *kafka_ok; /* readiness */
} intake_t;

static void put_time(od_buf_t *col, int64_t ms) {
    char buf[40];
    if (ms != OD_TIME_ABSENT) od_clock_format_rfc3339(ms, buf, sizeof buf);
    od_buf_pg_array_elem(col, ms != OD_TIME_ABSENT ? buf : NULL);
}

/* How a message is written. As it is; or as a rejection that says why (the
 * database refused the row as it was, or a cancel found nothing to cancel),
 * without the optional parts of the request; or, if the database refused
 * even that, as a minimal rejection made only of what outdial generates
 * (ASCII text, keyed by the message's identity), which leaves the database
 * nothing to refuse, so that the partition always moves on. */
typedef enum { ROW_AS_IS, ROW_REJECTED, ROW_MINIMAL } row_mode_t;

/* The key of a message that has no usable (org_id, request_id): its
 * position and a hash of its broker timestamp, key and value. A redelivery
 * (the same record) meets its own row; a new message at an offset seen
 * before (a topic deleted and created again, an embedded broker restarted
 * while PostgreSQL kept its data) does not. */
static void message_identity(const od_kafka_msg_t *m, const char *source, char *out, size_t cap) {
    char ts[24];
    snprintf(ts, sizeof ts, "%lld", (long long)m->timestamp_ms);
    uint64_t h = od_hash64(ts, strlen(ts) + 1, OD_HASH64_INIT);
    h = od_hash64(m->key ? m->key : "", m->key ? m->key_len : 0, h);
    h = od_hash64("", 1, h);
    h = od_hash64(m->value ? m->value : "", m->value ? m->len : 0, h);
    snprintf(out, cap, "%s/%016llx", source, (unsigned long long)h);
}

/* Appends the intake row (schemas/sql od_intake) of one message: the call
 * and its first event, written as `mode` says; `why` is the reason of a
 * ROW_REJECTED or ROW_MINIMAL row. Returns 1 instead, appending nothing,
 * for a valid cancel written as it is: cancels act after the batch
 * commits; 2 for a request already in the batch (a duplicate adds
 * nothing, as it would in a later batch). */
static int add_row(enc_t *enc, const od_kafka_msg_t *m, const json_t *prov, row_mode_t mode,
                   const char *why) {
    od_request_t req;
    char source[300], identity[340], call_id[OD_UUID_STRLEN], event_id[OD_UUID_STRLEN];
    od_request_parse(&req, m->value, m->len);
    od_request_resolve(&req, prov);
    if (mode != ROW_AS_IS) {
        if (!req.reject) {
            req.reject = OD_REJ_INVALID_REQUEST;
            od_utf8_clip(req.error, sizeof req.error, why, strlen(why), 0);
        }
        req.metadata = NULL; /* the optional parts of the request are not kept */
    }
    if (mode == ROW_MINIMAL) {
        req.reject = OD_REJ_INVALID_REQUEST;
        od_utf8_clip(req.error, sizeof req.error, why, strlen(why), OD_UTF8_ASCII);
        req.org_id = req.request_id = req.agent_id = req.from_number = req.to_number = NULL;
    }
    if (req.reject) /* a rejection has no schedule */
        req.not_before_ms = req.expires_at_ms = OD_TIME_ABSENT;
    if (!req.reject && req.kind == OD_MSG_CANCEL) {
        od_request_clear(&req);
        return 1; /* applied after the batch commits: see apply_cancels() */
    }
    snprintf(source, sizeof source, "%s/%d/%lld", m->topic, (int)m->partition,
             (long long)m->offset);
    int keyed_by_source =
        req.reject && (!req.org_id || !req.request_id || req.kind == OD_MSG_CANCEL);
    if (keyed_by_source) {
        message_identity(m, source, identity, sizeof identity);
        od_uuid_from_name(identity, strlen(identity), call_id);
    } else {
        od_request_call_id(req.org_id, req.request_id, call_id); /* as the HTTP API answers */
    }
    if (seen_in_batch(enc, call_id)) {
        od_request_clear(&req);
        return 2;
    }
    if (req.reject && req.reject <= OD_REJ_INSUFFICIENT_BALANCE) enc->rejects[req.reject]++;
    od_uuid_v4(event_id);
    int64_t now = od_clock_now_ms();
    const char *status = req.reject ? "rejected" : "queued";

    od_event_t ev;
    od_event_init(&ev);
    ev.event_id = event_id;
    ev.call_id = call_id;
    ev.request_id = req.request_id;
    ev.org_id = req.org_id;
    ev.agent_id = req.agent_id;
    ev.from_number = req.from_number;
    ev.to_number = req.to_number;
    ev.status = status;
    ev.seq = 1;
    ev.occurred_at_ms = now;
    ev.error_code = od_reject_code(req.reject);
    ev.error_message = req.reject ? req.error : NULL;
    ev.metadata = json_is_object(req.metadata) ? req.metadata : NULL;
    json_t *src = NULL;
    if (req.reject) {
        src = json_pack("{s:s,s:i,s:I}", "topic", m->topic, "partition", (int)m->partition,
                        "offset", (json_int_t)m->offset);
        ev.source = src;
    }
    od_buf_reset(&enc->scratch);
    od_event_write(&ev, &enc->scratch);
    /* The request as sent (it parsed, so it is JSON); defaults filled in
     * are columns of their own. */
    int keep_request = req.root && json_is_object(req.root) && mode == ROW_AS_IS;
    char durations[2][16];
    snprintf(durations[0], 16, "%d", req.max_duration_s);
    snprintf(durations[1], 16, "%d", req.ringing_timeout_s);

    od_buf_t *c = enc->col;
    od_buf_pg_array_elem(&c[OD_IN_CALL_ID], call_id);
    od_buf_pg_array_elem(&c[OD_IN_ORG_ID], keyed_by_source ? "" : req.org_id);
    od_buf_pg_array_elem(&c[OD_IN_REQUEST_ID], keyed_by_source ? identity : req.request_id);
    od_buf_pg_array_elem(&c[OD_IN_AGENT_ID], req.agent_id);
    od_buf_pg_array_elem(&c[OD_IN_FROM], req.from_number);
    od_buf_pg_array_elem(&c[OD_IN_TO], req.to_number);
    od_buf_pg_array_elem(&c[OD_IN_STATUS], status);
    od_buf_pg_array_elem(&c[OD_IN_ERROR_CODE], ev.error_code);
    od_buf_pg_array_elem(&c[OD_IN_ERROR_MESSAGE], ev.error_message);
    od_buf_pg_array_elem_n(&c[OD_IN_REQUEST], keep_request ? m->value : NULL, m->len);
    od_buf_pg_array_elem(&c[OD_IN_SOURCE], source);
    put_time(&c[OD_IN_NOT_BEFORE], req.not_before_ms);
    put_time(&c[OD_IN_EXPIRES_AT], req.expires_at_ms);
    od_buf_pg_array_elem(&c[OD_IN_EVENT_ID], event_id);
    put_time(&c[OD_IN_OCCURRED_AT], now);
    od_buf_pg_array_elem(&c[OD_IN_EVENT], enc->scratch.data);
    od_buf_pg_array_elem(&c[OD_IN_MAX_DURATION], req.reject ? NULL : durations[0]);
    od_buf_pg_array_elem(&c[OD_IN_RINGING_TIMEOUT], req.reject ? NULL : durations[1]);
    json_decref(src);
    od_request_clear(&req);
    return 0;
}

static void enc_free(enc_t *enc) {
    for (int i = 0; i < OD_IN_NCOLS; i++)
        od_buf_free(&enc->col[i]);
    od_buf_free(&enc->scratch);
    free(enc->cancels);
    free(enc->ids);
}

/* Appends the offsets msgs[0..n) cover: one range per partition (within
 * one poll, the consumer returns each partition's records in order). */
static void add_ranges(enc_t *enc, const od_kafka_msg_t *msgs, int n) {
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++)
            seen = msgs[j].partition == msgs[i].partition && !strcmp(msgs[j].topic, msgs[i].topic);
        if (seen) continue;
        int64_t lo = msgs[i].offset, hi = msgs[i].offset;
        for (int j = i + 1; j < n; j++) {
            if (msgs[j].partition != msgs[i].partition || strcmp(msgs[j].topic, msgs[i].topic))
                continue;
            if (msgs[j].offset < lo) lo = msgs[j].offset;
            if (msgs[j].offset > hi) hi = msgs[j].offset;
        }
        char num[3][24];
        snprintf(num[0], sizeof num[0], "%d", (int)msgs[i].partition);
        snprintf(num[1], sizeof num[1], "%lld", (long long)lo);
        snprintf(num[2], sizeof num[2], "%lld", (long long)hi);
        od_buf_pg_array_elem(&enc->col[OD_IN_RANGE_TOPIC], msgs[i].topic);
        od_buf_pg_array_elem(&enc->col[OD_IN_RANGE_PARTITION], num[0]);
        od_buf_pg_array_elem(&enc->col[OD_IN_RANGE_FIRST], num[1]);
        od_buf_pg_array_elem(&enc->col[OD_IN_RANGE_LAST], num[2]);
    }
}

/* Encodes messages msgs[0..n) into enc; returns its column array. */
static const char *const *encode(enc_t *enc, const intake_t *in, const od_kafka_msg_t *msgs, int n,
                                 row_mode_t mode, const char *why) {
    for (int i = 0; i < OD_IN_NCOLS; i++) {
        od_buf_reset(&enc->col[i]);
        od_buf_putc(&enc->col[i], '{');
    }
    enc->ncancels = 0;
    memset(enc->rejects, 0, sizeof enc->rejects);
    if (enc->nids) memset(enc->ids, 0, enc->ids_cap * sizeof *enc->ids);
    enc->nids = 0;
    for (int i = 0; i < n; i++) {
        if (add_row(enc, &msgs[i], in->prov, mode, why) == 1) {
            int *c = realloc(enc->cancels, (size_t)(enc->ncancels + 1) * sizeof *c);
            if (!c) abort();
            enc->cancels = c;
            enc->cancels[enc->ncancels++] = i;
        }
    }
    add_ranges(enc, msgs, n);
    for (int i = 0; i < OD_IN_NCOLS; i++) {
        od_buf_putc(&enc->col[i], '}');
        enc->cols[i] = enc->col[i].data;
    }
    return enc->cols;
}

/* Stores one message on `db`, as it is (or, given `why`, as a rejection):
 * a row the database refuses is stored as a rejection carrying the
 * database's reason, and if that is refused too, as a minimal rejection.
 * Returns OD_OK or OD_ERR_DB (retriable), never OD_ERR_INVALID: a message
 * is never the reason its partition stops. */
static int write_one(intake_t *in, od_db_t *db, const od_kafka_msg_t *m, const char *why,
                     int *inserted) {
    row_mode_t mode = why ? ROW_REJECTED : ROW_AS_IS;
    char reason[300];
    int n = 0, rc;
    for (;;) {
        rc = od_repo_intake(db, encode(&in->scratch, in, m, 1, mode, why), &n);
        if (rc != OD_ERR_INVALID) break;
        char part[16], off[24];
        snprintf(part, sizeof part, "%d", (int)m->partition);
        snprintf(off, sizeof off, "%lld", (long long)m->offset);
        if (mode == ROW_MINIMAL) {
            /* Nothing in that row came from the message; it cannot happen
             * short of a broken schema. Go on (the partition must move):
             * `outdialctl audit` lists the offset, which has no row. */
            od_logkv(OD_LOG_ERROR, "message not stored: its minimal rejection was refused", "topic",
                     m->topic, "partition", part, "offset", off, "err", od_db_error(db),
                     (const char *)NULL);
            rc = OD_OK;
            break;
        }
        od_logkv(OD_LOG_WARN,
                 mode == ROW_AS_IS ? "row refused; storing the message as a rejection"
                                   : "rejection refused; storing a minimal one",
                 "topic", m->topic, "partition", part, "offset", off, "err", od_db_error(db),
                 (const char *)NULL);
        if (mode == ROW_AS_IS) {
            char err[200];
            const char *e = od_db_error(db);
            od_utf8_clip(err, sizeof err, e, strlen(e), 0);
            snprintf(reason, sizeof reason, "refused by the database: %s", err);
            why = reason;
        }
        mode = mode == ROW_AS_IS ? ROW_REJECTED : ROW_MINIMAL;
    }
    *inserted += n;
    return rc;
}

/* Applies the batch's cancels, in order, now that the requests before them
 * are stored. A cancel that finds no call, or a call already over, is
 * answered with a rejection keyed by its own position. On `db`, which has
 * no query in flight. */
static int apply_cancels(intake_t *in, const batch_t *b, od_db_t *db) {
    for (int i = 0; i < b->enc.ncancels; i++) {
        const od_kafka_msg_t *m = &b->msgs[b->enc.cancels[i]];
        od_request_t req;
        char outcome[32];
        od_request_parse(&req, m->value, m->len);
        int rc = od_repo_cancel(db, req.org_id, req.request_id, outcome, sizeof outcome);
        od_request_clear(&req);
        if (rc) return rc;
        const char *why = !strcmp(outcome, "unknown")
                              ? "cancel: no call has this org_id and request_id"
                          : !strcmp(outcome, "ended") ? "cancel: the call has already ended"
                                                      : NULL;
        int n = 0;
        if (why && (rc = write_one(in, db, m, why, &n))) return rc;
    }
    return OD_OK;
}

static void reload_provisioning(intake_t *in) {
    json_t *snap = NULL;
    long ver = 0;
    if (od_repo_provisioning_load(in->db, &snap, &ver)) {
        od_logkv(OD_LOG_WARN, "could not load provisioning", "err", od_db_error(in->db),
                 (const char *)NULL);
        return;
    }
    json_decref(in->prov);
    in->prov = snap;
    if (ver != in->prov_version) {
        char v[24];
        snprintf(v, sizeof v, "%ld", ver);
        od_logkv(OD_LOG_INFO, "provisioning loaded", "#version", v, (const char *)NULL);
    }
    in->prov_version = ver;
}

static void touch(const char *path) {
    if (!path) return;
    if (utime(path, NULL)) {
        FILE *f = fopen(path, "w");
        if (f) fclose(f);
    }
}

/* Waits for the database to come back, keeping the group membership alive
 * by polling (paused) and holding on to anything polled, in `b`. */
static int wait_for_db(intake_t *in, batch_t *b) {
    int backoff = 100;
    const char *why = od_db_error(in->db);
    od_logkv(OD_LOG_WARN, "database unreachable: intake paused", "err",
             *why ? why : "connection lost", (const char *)NULL);
    od_ops_check_set(in->db_ok, 0, "unreachable: intake paused");
    od_kafka_consumer_pause(in->consumer, 1);
    while (!*in->stop) {
        od_ops_loop_beat(in->loop); /* waiting out an outage is not being stuck */
        touch(in->conf->health_file);
        if (b->n < b->cap)
            b->n += od_kafka_consumer_poll_batch(in->consumer, b->msgs + b->n, b->cap - b->n,
                                                 backoff, 0);
        else
            od_clock_sleep_ms(backoff);
        if (od_db_reconnect(in->db) == OD_OK) { /* listens again by itself */
            for (int i = 1; i < INTAKE_LANES; i++)
                if (!od_db_alive(in->lane[i]) && od_db_reconnect(in->lane[i])) {
                    /* used again once it reconnects; see free_lane() */
                }
            od_logkv(OD_LOG_INFO, "database back: intake resumed", (const char *)NULL);
            od_ops_check_set(in->db_ok, 1, NULL);
            reload_provisioning(in);
            od_kafka_consumer_pause(in->consumer, 0);
            return OD_OK;
        }
        if (backoff < 2000) backoff *= 2;
    }
    return OD_ERR_STOPPED;
}

static void account(intake_t *in, const batch_t *b, int inserted) {
    in->stored += inserted;
    in->dup += b->n - inserted;
    od_metric_add(od_sm.consumed, NULL, b->n);
    od_metric_add(od_sm.stored, NULL, inserted);
    int dup = b->n - inserted - b->enc.ncancels;
    od_metric_add(od_sm.duplicates, NULL, dup > 0 ? dup : 0);
    for (int i = 1; i <= OD_REJ_INSUFFICIENT_BALANCE; i++)
        if (b->enc.rejects[i])
            od_metric_add(od_sm.rejected, od_reject_code((od_reject_t)i), b->enc.rejects[i]);
}

/* Stores batch `b` until it is durable, synchronously: the slow path,
 * after the fast path failed. A batch the database refuses is stored
 * message by message. While waiting for the database, anything polled goes
 * to `spill`, the newest batch (never to an older one: offsets are stored
 * as the highest per partition). Returns OD_ERR_STOPPED if told to stop
 * while the database is away: then its offsets are not stored, and the
 * next owner of the partitions reads it again. */
static int store_batch(intake_t *in, batch_t *b, batch_t *spill) {
    for (;;) {
        int inserted = 0, rc;
        if (od_db_alive(in->db)) {
            rc = od_repo_intake(in->db, encode(&b->enc, in, b->msgs, b->n, ROW_AS_IS, NULL),
                                &inserted);
            if (rc == OD_ERR_INVALID) {
                od_logkv(OD_LOG_WARN, "batch refused; storing its messages one by one", "err",
                         od_db_error(in->db), (const char *)NULL);
                inserted = 0;
                for (int i = 0; i < b->n && rc != OD_ERR_DB; i++)
                    rc = write_one(in, in->db, &b->msgs[i], NULL, &inserted);
            }
            if (rc == OD_OK) {
                account(in, b, inserted);
                return OD_OK;
            }
        }
        if (wait_for_db(in, spill)) return OD_ERR_STOPPED;
    }
}

/* The batch is durable: let the consumer commit past it. */
static void done(intake_t *in, batch_t *b) {
    if (b->sent_s > 0) od_metric_observe(od_sm.batch_seconds, NULL, od_clock_mono_s() - b->sent_s);
    b->sent_s = 0;
    od_kafka_consumer_store(in->consumer, b->msgs, b->n);
    od_kafka_msgs_release(b->msgs, b->n);
    b->n = 0;
    b->lane = NULL;
}

/* Something failed: collect every batch in flight (their outcomes do not
 * matter), then store each again on the slow path, oldest first. */
static int drain_slow(intake_t *in, batch_t *spill) {
    int ignored;
    for (int i = 0; i < in->nfifo; i++)
        if (in->fifo[i]->lane && od_repo_intake_recv(in->fifo[i]->lane, &ignored)) {
        }
    while (in->nfifo) {
        batch_t *b = in->fifo[0];
        if (store_batch(in, b, spill)) return OD_ERR_STOPPED;
        while (apply_cancels(in, b, in->db))
            if (wait_for_db(in, spill)) return OD_ERR_STOPPED;
        done(in, b);
        memmove(in->fifo, in->fifo + 1, (size_t)--in->nfifo * sizeof *in->fifo);
    }
    return OD_OK;
}

/* Collects the oldest batch in flight; on failure takes the slow path for
 * all of them. Returns OD_OK when it (at least) is durable. */
static int finish_oldest(intake_t *in, batch_t *spill) {
    batch_t *b = in->fifo[0];
    int inserted = 0;
    if (od_repo_intake_recv(b->lane, &inserted) != OD_OK || apply_cancels(in, b, b->lane))
        return drain_slow(in, spill);
    account(in, b, inserted);
    done(in, b);
    memmove(in->fifo, in->fifo + 1, (size_t)--in->nfifo * sizeof *in->fifo);
    return OD_OK;
}

/* A live connection with no batch in flight, or NULL. */
static od_db_t *free_lane(intake_t *in) {
    for (int i = 0; i < INTAKE_LANES; i++) {
        int busy = 0;
        for (int j = 0; j < in->nfifo; j++)
            busy |= in->fifo[j]->lane == in->lane[i];
        if (!busy && (od_db_alive(in->lane[i]) || od_db_reconnect(in->lane[i]) == OD_OK))
            return in->lane[i];
    }
    return NULL;
}

/* The batch slot that is neither in flight nor `not`. */
static batch_t *free_slot(intake_t *in) {
    for (int i = 0; i <= INTAKE_LANES; i++) {
        int busy = 0;
        for (int j = 0; j < in->nfifo; j++)
            busy |= in->fifo[j] == &in->b[i];
        if (!busy) return &in->b[i];
    }
    return NULL; /* unreachable: one slot more than lanes */
}

static void log_counts(const intake_t *in, const char *msg) {
    char s[24], d[24];
    snprintf(s, sizeof s, "%ld", in->stored);
    snprintf(d, sizeof d, "%ld", in->dup);
    od_logkv(OD_LOG_INFO, msg, "#stored", s, "#duplicates", d, (const char *)NULL);
}

int od_intake_run(const od_scheduler_conf_t *conf, volatile sig_atomic_t *stop) {
    char err[512];
    intake_t in = {.conf = conf, .stop = stop};
    int rc = 1;
    for (int i = 0; i <= INTAKE_LANES; i++) {
        in.b[i].cap = (int)conf->batch_max * 2;
        in.b[i].msgs = calloc((size_t)in.b[i].cap, sizeof *in.b[i].msgs);
    }
    for (int i = 0; i < INTAKE_LANES; i++) {
        in.lane[i] = od_db_connect(conf->common.pg_dsn, "outdial-scheduler", err, sizeof err);
        if (!in.lane[i]) {
            od_logkv(OD_LOG_ERROR, "cannot start", "err", err, (const char *)NULL);
            goto out;
        }
    }
    in.db = in.lane[0];
    in.db_ok = od_sched_db_check("intake");
    in.kafka_ok = od_ops_check_register("kafka:intake", OD_OPS_KAFKA_MAX_AGE_MS);
    in.loop = od_ops_loop_register("intake");
    if (od_db_listen(in.db, "outdial_provisioning")) {
        od_logkv(OD_LOG_ERROR, "cannot start", "err", od_db_error(in.db), (const char *)NULL);
        goto out;
    }
    reload_provisioning(&in);
    if (!in.prov) {
        od_logkv(OD_LOG_ERROR, "cannot start: is the schema migrated? (outdialctl migrate)",
                 (const char *)NULL);
        goto out;
    }
    od_kafka_consumer_conf_t cc = {.brokers = conf->common.brokers,
                                   .group = conf->group,
                                   .topic = conf->common.topic_requests,
                                   .from_beginning = 1,
                                   .client_id = "outdial-scheduler",
                                   .extra = conf->common.kafka_extra,
                                   .on_stats = od_ops_kafka_stats,
                                   .stats_arg = in.kafka_ok};
    in.consumer = od_kafka_consumer_new(&cc, err, sizeof err);
    if (!in.consumer) {
        od_logkv(OD_LOG_ERROR, "cannot start", "err", err, (const char *)NULL);
        goto out;
    }
    od_logkv(OD_LOG_INFO, "intake running", "topic", conf->common.topic_requests, "group",
             conf->group, (const char *)NULL);
    int64_t last_stat = od_clock_mono_ms();
    batch_t *cur = &in.b[0];
    while (!*stop) {
        touch(conf->health_file);
        od_ops_loop_beat(in.loop);
        /* While batches are in the database, take only what is ready now. */
        cur->n +=
            od_kafka_consumer_poll_batch(in.consumer, cur->msgs + cur->n, (int)conf->batch_max,
                                         in.nfifo ? 0 : 200, (int)conf->batch_ms);
        int encoded = cur->n;
        const char *const *cols = encode(&cur->enc, &in, cur->msgs, cur->n, ROW_AS_IS, NULL);
        if (in.nfifo && (in.nfifo == INTAKE_LANES || !cur->n))
            if (finish_oldest(&in, cur)) break;
        /* Encode again if provisioning changed or the batch grew meanwhile. */
        if (!in.nfifo && od_db_take_notify(in.db, "outdial_provisioning")) {
            reload_provisioning(&in);
            encoded = -1;
        }
        if (encoded != cur->n) cols = encode(&cur->enc, &in, cur->msgs, cur->n, ROW_AS_IS, NULL);
        if (!cur->n) {
            if (!in.nfifo && !od_db_alive(in.db) && wait_for_db(&in, cur)) break;
            continue;
        }
        od_db_t *lane = free_lane(&in);
        cur->sent_s = od_clock_mono_s();
        if (lane && od_repo_intake_send(lane, cols) == OD_OK) {
            cur->lane = lane;
            in.fifo[in.nfifo++] = cur;
            cur = free_slot(&in);
        } else {
            cur->lane = NULL;          /* never sent */
            in.fifo[in.nfifo++] = cur; /* stored after those before it */
            if (drain_slow(&in, cur)) break;
        }
        if (od_clock_mono_ms() - last_stat > 10000) {
            log_counts(&in, "intake progress");
            last_stat = od_clock_mono_ms();
        }
    }
    /* SIGTERM: batches in the database are finished and their offsets stored. */
    while (in.nfifo && finish_oldest(&in, cur) == OD_OK) {
    }
    rc = 0;
out:
    od_ops_loop_done(in.loop);
    od_ops_check_done(in.db_ok);
    od_ops_check_done(in.kafka_ok);
    for (int i = 0; i <= INTAKE_LANES; i++) {
        od_kafka_msgs_release(in.b[i].msgs, in.b[i].n);
        free(in.b[i].msgs);
        enc_free(&in.b[i].enc);
    }
    enc_free(&in.scratch);
    od_kafka_consumer_destroy(in.consumer); /* commits stored offsets, leaves the group */
    for (int i = 0; i < INTAKE_LANES; i++)
        od_db_close(in.lane[i]);
    json_decref(in.prov);
    log_counts(&in, "intake stopped");
    return rc;
}
