/* Intake: consume calls.requests in a group, validate each message, store
 * each request once with its first event (queued or rejected) in one
 * transaction per batch, then store the batch's offsets. At least once in,
 * exactly once stored: a redelivered message meets its own row and adds
 * nothing. A message the database refuses on its own is stored as a
 * rejection instead, so one bad message never stalls its partition. While
 * the database is away, fetching pauses (the member stays in its group) and
 * the batch in hand waits to be written. */
#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"
#include "db/db.h"
#include "db/repo.h"
#include "domain/event.h"
#include "domain/request.h"
#include "kafka/kafka.h"
#include "scheduler/scheduler_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <utime.h>

typedef struct {
    const od_scheduler_conf_t *conf;
    volatile sig_atomic_t *stop;
    od_db_t *db;
    od_kafka_consumer_t *consumer;
    json_t *prov;
    long prov_version;
    od_kafka_msg_t *msgs;
    int nmsgs, cap;
    long stored, dup;
} intake_t;

static void set_time(json_t *row, const char *key, int64_t ms) {
    if (!ms) return;
    char buf[40];
    od_clock_format_rfc3339(ms, buf, sizeof buf);
    json_object_set_new(row, key, json_string(buf));
}

static void set_str(json_t *o, const char *k, const char *v) {
    if (v) json_object_set_new(o, k, json_string(v));
}

/* Builds the intake row (schemas/sql od_intake) for one message: the call
 * and its first event. `db_error`, if set, turns the message into a
 * rejection (the database refused it). */
static json_t *build_row(const od_kafka_msg_t *m, const json_t *prov, const char *db_error) {
    od_request_t req;
    char source[300], call_id[OD_UUID_STRLEN], event_id[OD_UUID_STRLEN], type[48];
    od_request_parse(&req, m->value, m->len);
    od_request_resolve(&req, prov);
    if (db_error && !req.reject) {
        req.reject = OD_REJ_INVALID_REQUEST;
        snprintf(req.error, sizeof req.error, "refused by the database: %.200s", db_error);
    }
    if (!req.reject && req.kind == OD_MSG_CANCEL) {
        /* Cancels act on admitted calls; until admission lands they are
         * answered as a rejection so that the sender learns of it. */
        req.reject = OD_REJ_INVALID_REQUEST;
        snprintf(req.error, sizeof req.error, "cancel is not supported by this version");
    }
    snprintf(source, sizeof source, "%s/%d/%lld", m->topic, (int)m->partition,
             (long long)m->offset);
    int keyed_by_source =
        req.reject && (!req.org_id || !req.request_id || req.kind == OD_MSG_CANCEL);
    if (keyed_by_source)
        od_uuid_from_name(source, strlen(source), call_id);
    else
        od_uuid_v4(call_id);
    od_uuid_v4(event_id);
    int64_t now = od_clock_now_ms();
    const char *status = req.reject ? "rejected" : "queued";
    od_event_type(status, type, sizeof type);

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

    json_t *row = json_object();
    set_str(row, "call_id", call_id);
    set_str(row, "org_id", keyed_by_source ? "" : req.org_id);
    set_str(row, "request_id", keyed_by_source ? source : req.request_id);
    set_str(row, "agent_id", req.agent_id);
    set_str(row, "from_number", req.from_number);
    set_str(row, "to_number", req.to_number);
    set_str(row, "status", status);
    set_str(row, "error_code", ev.error_code);
    set_str(row, "error_message", ev.error_message);
    if (req.root && json_is_object(req.root) && !db_error)
        json_object_set(row, "request", req.root);
    set_str(row, "source", source);
    set_time(row, "not_before", req.not_before_ms);
    set_time(row, "expires_at", req.expires_at_ms);
    set_str(row, "event_id", event_id);
    set_str(row, "type", type);
    set_time(row, "occurred_at", now);
    json_object_set_new(row, "event", od_event_encode(&ev));
    json_decref(src);
    od_request_clear(&req);
    return row;
}

/* Writes rows; returns OD_OK, OD_ERR_DB (retry later), OD_ERR_INVALID. */
static int write_rows(intake_t *in, json_t *rows, int *inserted) {
    char *text = json_dumps(rows, JSON_COMPACT);
    int rc = text ? od_repo_intake(in->db, text, inserted) : OD_ERR_NOMEM;
    free(text);
    return rc;
}

/* Stores messages [from, to) one by one; a message the database refuses
 * is stored as a rejection carrying the database's reason. */
static int write_one_by_one(intake_t *in, int *inserted) {
    for (int i = 0; i < in->nmsgs; i++) {
        int n = 0;
        json_t *rows = json_array();
        json_array_append_new(rows, build_row(&in->msgs[i], in->prov, NULL));
        int rc = write_rows(in, rows, &n);
        json_decref(rows);
        if (rc == OD_ERR_INVALID) {
            char err[256];
            snprintf(err, sizeof err, "%s", od_db_error(in->db));
            rows = json_array();
            json_array_append_new(rows, build_row(&in->msgs[i], in->prov, err));
            rc = write_rows(in, rows, &n);
            json_decref(rows);
        }
        if (rc) return rc;
        *inserted += n;
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
        od_logkv(OD_LOG_INFO, "provisioning loaded", "version", v, (const char *)NULL);
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
 * by polling (paused) and holding on to anything polled. */
static int wait_for_db(intake_t *in) {
    int backoff = 100;
    od_logkv(OD_LOG_WARN, "database unreachable: intake paused", "err", od_db_error(in->db),
             (const char *)NULL);
    od_kafka_consumer_pause(in->consumer, 1);
    while (!*in->stop) {
        if (in->nmsgs < in->cap)
            in->nmsgs += od_kafka_consumer_poll_batch(in->consumer, in->msgs + in->nmsgs,
                                                      in->cap - in->nmsgs, backoff, 0);
        else
            nanosleep(&(struct timespec){0, backoff * 1000000L}, NULL);
        if (od_db_reconnect(in->db) == OD_OK &&
            od_db_listen(in->db, "outdial_provisioning") == OD_OK) {
            od_logkv(OD_LOG_INFO, "database back: intake resumed", (const char *)NULL);
            reload_provisioning(in);
            od_kafka_consumer_pause(in->consumer, 0);
            return OD_OK;
        }
        if (backoff < 2000) backoff *= 2;
    }
    return OD_ERR_STOPPED;
}

/* Stores the batch in hand until it is durable (or we are told to stop
 * while the database is away: then its offsets are not stored, and the
 * next owner of the partitions reads it again). */
static int store_batch(intake_t *in) {
    for (;;) {
        int inserted = 0, rc;
        json_t *rows = json_array();
        for (int i = 0; i < in->nmsgs; i++)
            json_array_append_new(rows, build_row(&in->msgs[i], in->prov, NULL));
        rc = write_rows(in, rows, &inserted);
        json_decref(rows);
        if (rc == OD_ERR_INVALID) {
            od_logkv(OD_LOG_WARN, "batch refused; storing its messages one by one", "err",
                     od_db_error(in->db), (const char *)NULL);
            inserted = 0;
            rc = write_one_by_one(in, &inserted);
        }
        if (rc == OD_OK) {
            in->stored += inserted;
            in->dup += in->nmsgs - inserted;
            return OD_OK;
        }
        if (wait_for_db(in)) return OD_ERR_STOPPED;
    }
}

int od_intake_run(const od_scheduler_conf_t *conf, volatile sig_atomic_t *stop) {
    char err[512];
    intake_t in = {.conf = conf, .stop = stop};
    int rc = 1;
    in.cap = (int)conf->batch_max * 2;
    in.msgs = calloc((size_t)in.cap, sizeof *in.msgs);
    in.db = od_db_connect(conf->pg_dsn, "outdial-scheduler", err, sizeof err);
    if (!in.db) {
        od_logkv(OD_LOG_ERROR, "cannot start", "err", err, (const char *)NULL);
        goto out;
    }
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
    od_kafka_consumer_conf_t cc = {.brokers = conf->brokers,
                                   .group = conf->group,
                                   .topic = conf->topic_requests,
                                   .from_beginning = 1,
                                   .client_id = "outdial-scheduler",
                                   .extra = conf->kafka_extra};
    in.consumer = od_kafka_consumer_new(&cc, err, sizeof err);
    if (!in.consumer) {
        od_logkv(OD_LOG_ERROR, "cannot start", "err", err, (const char *)NULL);
        goto out;
    }
    od_logkv(OD_LOG_INFO, "intake running", "topic", conf->topic_requests, "group", conf->group,
             (const char *)NULL);
    int64_t last_stat = od_clock_mono_ms();
    while (!*stop) {
        touch(conf->health_file);
        if (od_db_take_notify(in.db, "outdial_provisioning")) reload_provisioning(&in);
        in.nmsgs += od_kafka_consumer_poll_batch(in.consumer, in.msgs + in.nmsgs,
                                                 (int)conf->batch_max, 200, (int)conf->batch_ms);
        if (in.nmsgs == 0) {
            if (!od_db_alive(in.db) && wait_for_db(&in)) break;
            continue;
        }
        if (store_batch(&in)) break; /* stopping while the database is away */
        od_kafka_consumer_store(in.consumer, in.msgs, in.nmsgs);
        od_kafka_msgs_release(in.msgs, in.nmsgs);
        in.nmsgs = 0;
        if (od_clock_mono_ms() - last_stat > 10000) {
            char s[24], d[24];
            snprintf(s, sizeof s, "%ld", in.stored);
            snprintf(d, sizeof d, "%ld", in.dup);
            od_logkv(OD_LOG_INFO, "intake progress", "stored", s, "duplicates", d,
                     (const char *)NULL);
            last_stat = od_clock_mono_ms();
        }
    }
    rc = 0;
out:
    od_kafka_msgs_release(in.msgs, in.nmsgs);
    od_kafka_consumer_destroy(in.consumer); /* commits stored offsets, leaves the group */
    od_db_close(in.db);
    json_decref(in.prov);
    free(in.msgs);
    char s[24], d[24];
    snprintf(s, sizeof s, "%ld", in.stored);
    snprintf(d, sizeof d, "%ld", in.dup);
    od_logkv(OD_LOG_INFO, "intake stopped", "stored", s, "duplicates", d, (const char *)NULL);
    return rc;
}
