/* The event relay: publishes committed events from the outbox table to
 * calls.events (and dial work to the dial topic), keyed by call_id, with
 * CloudEvents binary-mode headers on events, and deletes them once the
 * broker has acknowledged every one, queueing the webhook deliveries of the
 * events in the same statement (od_outbox_done). One relay in the
 * deployment is active at a time (a session advisory lock); the others
 * stand by and take over within a second of its connection closing. A
 * single active relay reading in id order keeps each call's events in seq
 * order: a later event of a call is always written by a later transaction.
 * Delivery is at least once: a relay that dies between publish and delete
 * publishes again, with the same ce_id/event_id. */
#include "core/clock.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "db/repo.h"
#include "domain/event.h"
#include "kafka/kafka.h"
#include "scheduler/scheduler_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RELAY_LOCK_KEY 7419002

struct od_relay {
    const od_scheduler_conf_t *conf;
    volatile sig_atomic_t *stop;
    pthread_t thread;
    od_db_t *db;
    od_kafka_producer_t *producer;
    int leader;
    /* the round in progress */
    od_kafka_batch_t batch;
    int64_t *ids;
    int nids, produce_failed;
    int ndial;         /* of nids, dial work (the rest are events) */
    od_seal_key_t key; /* seals passwords in dial work */
    od_ops_loop_t *loop;
    od_ops_check_t *db_ok;
};

/* Dial work leaves with its passwords sealed (crypto.h): "password" of
 * "trunk" and of "agent" becomes "password_sealed"; without a key it is
 * left out. Never in clear on the topic. Returns the body to send (free
 * it), or NULL to send the row's as it is. */
static char *seal_dial(od_relay_t *r, const char *body) {
    if (!strstr(body, "\"password\"")) return NULL;
    json_t *m = json_loads(body, 0, NULL);
    if (!m) return strdup("{}"); /* cannot happen (the SQL builds it); fail closed */
    const char *parts[] = {"trunk", "agent"};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        json_t *o = json_object_get(m, parts[i]);
        const char *pw = json_string_value(json_object_get(o, "password"));
        if (!pw) continue;
        char *sealed = od_seal(&r->key, pw);
        if (sealed) json_object_set_new(o, "password_sealed", json_string(sealed));
        free(sealed);
        json_object_del(o, "password");
    }
    char *out = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    return out ? out : strdup("{}");
}

static void publish_row(const od_outbox_row_t *row, void *ctx) {
    od_relay_t *r = ctx;
    if (r->produce_failed) return;
    od_kafka_header_t h[] = {
        {"ce_specversion", OD_CE_SPECVERSION},
        {"ce_id", row->event_id},
        {"ce_type", row->type},
        {"ce_source", r->conf->ce_source},
        {"ce_time", row->time},
        {"ce_subject", row->call_id},
        {"content-type", OD_CE_CONTENT_TYPE},
    };
    /* Dial work is internal: its own topic, no CloudEvents headers. */
    int event = strcmp(row->kind, "dial") != 0;
    char *sealed = event ? NULL : seal_dial(r, row->body);
    const char *body = sealed ? sealed : row->body;
    int rc = od_kafka_produce(r->producer,
                              event ? r->conf->common.topic_events : r->conf->common.topic_dial,
                              row->call_id, strlen(row->call_id), body, strlen(body),
                              event ? h : NULL, event ? (int)(sizeof h / sizeof *h) : 0, &r->batch);
    free(sealed);
    if (rc) {
        r->produce_failed = 1;
        return;
    }
    r->ids[r->nids++] = row->id;
    r->ndial += !event;
}

/* Keeps a live connection, becoming the leader when the lock is free. */
static int ensure_leader(od_relay_t *r) {
    if (!od_db_alive(r->db)) {
        r->leader = 0;
        if (od_db_reconnect(r->db)) { /* listens again by itself */
            od_ops_check_set(r->db_ok, 0, "unreachable");
            return 0;
        }
    }
    od_ops_check_set(r->db_ok, 1, NULL);
    if (r->leader) return 1;
    int got = od_db_try_lock(r->db, RELAY_LOCK_KEY);
    if (got == 1) {
        r->leader = 1;
        od_logkv(OD_LOG_INFO, "relay active: publishing events", "topic",
                 r->conf->common.topic_events, (const char *)NULL);
    }
    return r->leader;
}

/* One round: read, publish, wait for acknowledgements, delete. Returns the
 * number of events published, 0 if none waited, -1 on failure. */
static int relay_round(od_relay_t *r) {
    memset(&r->batch, 0, sizeof r->batch);
    r->nids = 0;
    r->ndial = 0;
    r->produce_failed = 0;
    int n = od_repo_outbox_read(r->db, (int)r->conf->relay_batch, publish_row, r);
    if (n < 0) return -1;
    if (n == 0) return 0;
    /* Every delivery report comes within the message timeout; the batch
     * is reused next round, so wait for all of them (kafka.h). */
    od_kafka_producer_wait(r->producer, &r->batch, OD_KAFKA_WAIT_ALL);
    if (r->batch.failed || r->produce_failed) {
        od_logkv(OD_LOG_WARN, "events not acknowledged; will publish again", "err",
                 r->batch.last_error, (const char *)NULL);
        return -1;
    }
    if (od_repo_outbox_done(r->db, r->ids, r->nids)) return -1;
    od_metric_add(od_sm.published, "event", r->nids - r->ndial);
    od_metric_add(od_sm.published, "dial", r->ndial);
    return n;
}

static void *relay_main(void *arg) {
    od_relay_t *r = arg;
    int drained_after_stop = 0;
    while (!drained_after_stop) {
        int stopping = *r->stop != 0;
        od_ops_loop_beat(r->loop);
        if (!ensure_leader(r)) {
            if (stopping) break;
            od_clock_sleep_ms(1000);
            continue;
        }
        int n = relay_round(r);
        if (n < 0 && !od_db_alive(r->db)) od_ops_check_set(r->db_ok, 0, "unreachable");
        if (n < 0) {
            od_logkv(OD_LOG_WARN, "relay round failed", "err", od_db_error(r->db),
                     (const char *)NULL);
            if (stopping) break;
            od_clock_sleep_ms(500);
        } else if (n == 0) {
            if (stopping)
                drained_after_stop = 1;
            else if (od_db_wait_notify(r->db, 1000) < 0)
                r->leader = 0;
        }
    }
    od_ops_loop_done(r->loop);
    od_ops_check_done(r->db_ok);
    return NULL;
}

od_relay_t *od_relay_start(const od_scheduler_conf_t *conf, volatile sig_atomic_t *stop) {
    char err[512];
    od_relay_t *r = calloc(1, sizeof *r);
    r->conf = conf;
    r->stop = stop;
    r->ids = calloc((size_t)conf->relay_batch, sizeof *r->ids);
    if (od_seal_key_load(&r->key, conf->common.credentials_key_file, err, sizeof err)) {
        od_logkv(OD_LOG_ERROR, "relay cannot start", "err", err, (const char *)NULL);
        goto fail;
    }
    if (!r->key.set)
        od_logkv(OD_LOG_WARN,
                 "no OUTDIAL_CREDENTIALS_KEY_FILE: trunk and agent passwords are left out of dial "
                 "work, so a trunk that challenges fails AUTH_FAILED",
                 (const char *)NULL);
    r->db = od_db_connect(conf->common.pg_dsn, "outdial-relay", err, sizeof err);
    if (!r->db || od_db_listen(r->db, "outdial_outbox")) {
        od_logkv(OD_LOG_ERROR, "relay cannot start", "err", r->db ? od_db_error(r->db) : err,
                 (const char *)NULL);
        goto fail;
    }
    r->producer = od_kafka_producer_new(conf->common.brokers, "outdial-relay",
                                        conf->common.kafka_extra, err, sizeof err);
    if (!r->producer) {
        od_logkv(OD_LOG_ERROR, "relay cannot start", "err", err, (const char *)NULL);
        goto fail;
    }
    r->loop = od_ops_loop_register("relay");
    r->db_ok = od_sched_db_check("relay");
    if (pthread_create(&r->thread, NULL, relay_main, r)) goto fail;
    return r;
fail:
    od_kafka_producer_destroy(r->producer, 0);
    od_db_close(r->db);
    free(r->ids);
    free(r);
    return NULL;
}

void od_relay_join(od_relay_t *r) {
    if (!r) return;
    pthread_join(r->thread, NULL);
    od_kafka_producer_destroy(r->producer, 10000);
    od_db_close(r->db);
    free(r->ids);
    free(r);
}
