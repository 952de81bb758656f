/* Settings and wiring of outdial-api (see api.h): the HTTP server, one
 * idempotent producer shared by every server thread with one thread that
 * serves its delivery reports (and answers the requests waiting for
 * them), a pool of database connections, and the caches that keep SQL off
 * the hot path with the thread that empties them when provisioning or
 * keys change. */
#include "api/api_int.h"
#include "core/clock.h"
#include "core/log.h"
#include "ops/metrics.h"
#include "db/repo.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define F(x) offsetof(od_api_conf_t, x)
const od_opt_t od_api_opts[] = {
    {"listen", "OUTDIAL_API_LISTEN", OD_OPT_STRING, "127.0.0.1:8080",
     "host:port the HTTP API listens on ([::]:8080 for every IPv6 and IPv4 address)", F(listen)},
    {"body-max", "OUTDIAL_API_BODY_MAX", OD_OPT_INT, "262144",
     "largest request body in bytes; larger ones are answered 413", F(body_max)},
    {"timeout-seconds", "OUTDIAL_API_TIMEOUT_SECONDS", OD_OPT_INT, "10",
     "a connection idle (or a client silent mid-request) this long is closed", F(timeout_s)},
    {"max-connections", "OUTDIAL_API_MAX_CONNECTIONS", OD_OPT_INT, "4096",
     "connections served at once; more are refused", F(max_connections)},
    {"threads", "OUTDIAL_API_THREADS", OD_OPT_INT, "2",
     "server threads, each serving many connections (about one per core)", F(threads)},
    {"cache-seconds", "OUTDIAL_API_CACHE_SECONDS", OD_OPT_INT, "5",
     "how long API keys and provisioning are kept in memory (dropped at once on a change"
     " made with outdialctl; 0: read the database on every request)",
     F(cache_s)},
    {"kafka-wait-ms", "OUTDIAL_API_KAFKA_WAIT_MS", OD_OPT_INT, "5000",
     "longest wait for the broker's acknowledgement before answering 503", F(kafka_wait_ms)},
    {"db-pool", "OUTDIAL_API_DB_POOL", OD_OPT_INT, "16", "idle database connections kept for reuse",
     F(db_pool)},
    {"drain-seconds", "OUTDIAL_API_DRAIN_SECONDS", OD_OPT_INT, "10",
     "on SIGTERM, how long requests in progress may take to be answered", F(drain_s)},
    {"rate-per-key", "OUTDIAL_API_RATE_PER_KEY", OD_OPT_INT, "1000",
     "requests a second one API key may make (burst: one second's worth); more are answered 429"
     " with Retry-After; 0: no limit",
     F(rate_per_key)},
    {"log-level", "OUTDIAL_LOG_LEVEL", OD_OPT_STRING, "info", "debug, info, warn or error",
     F(log_level)},
    OD_OPS_OPTS(od_api_conf_t, ops, "127.0.0.1:9466"),
    OD_OPT_END,
};
#undef F

od_db_t *od_api_db_take(od_api_t *api) {
    od_db_t *db = NULL;
    pthread_mutex_lock(&api->db_mu);
    if (api->nidle) db = api->idle[--api->nidle];
    pthread_mutex_unlock(&api->db_mu);
    if (db && !od_db_alive(db) && od_db_reconnect(db) != OD_OK) {
        od_db_close(db);
        db = NULL;
    }
    if (!db) {
        char err[512];
        db = od_db_connect(api->conf->common.pg_dsn, "outdial-api", err, sizeof err);
        if (!db) od_logkv(OD_LOG_WARN, "database unreachable", "err", err, (const char *)NULL);
    }
    od_ops_check_set(api->db_ok, db != NULL, "unreachable");
    return db;
}

void od_api_db_give(od_api_t *api, od_db_t *db) {
    if (!db) return;
    if (od_db_alive(db)) {
        pthread_mutex_lock(&api->db_mu);
        if (api->nidle < api->conf->db_pool) {
            api->idle[api->nidle++] = db;
            db = NULL;
        }
        pthread_mutex_unlock(&api->db_mu);
    } else { /* lost while in use: a query failed on it */
        od_ops_check_set(api->db_ok, 0, "connection lost");
    }
    od_db_close(db);
}

/* ---- caches ---- */

static unsigned slot_of(const char *s, unsigned n) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % n;
}

int od_api_key_find(od_api_t *api, const char *hash, char *org, size_t org_cap, char stored[65]) {
    od_api_key_entry_t *e = &api->keys[slot_of(hash, OD_API_KEY_CACHE)];
    unsigned gen = atomic_load(&api->gen);
    if (api->conf->cache_s > 0) {
        int hit = 0;
        pthread_mutex_lock(&api->cache_mu);
        if (e->gen == gen && e->expires_ms > od_clock_mono_ms() && !strcmp(e->hash, hash)) {
            snprintf(org, org_cap, "%s", e->org);
            memcpy(stored, e->hash, 65);
            hit = 1;
        }
        pthread_mutex_unlock(&api->cache_mu);
        if (hit) return OD_OK;
    }
    od_db_t *db = od_api_db_take(api);
    int rc = db ? od_repo_api_key_find(db, hash, org, org_cap, stored) : OD_ERR_DB;
    od_api_db_give(api, db);
    /* gen was read before the query: a change meanwhile drops the entry */
    if (rc == OD_OK && api->conf->cache_s > 0) od_api_cache_key(api, stored, org, gen);
    return rc;
}

void od_api_cache_key(od_api_t *api, const char *hash, const char *org, unsigned gen) {
    od_api_key_entry_t *e = &api->keys[slot_of(hash, OD_API_KEY_CACHE)];
    if (strlen(org) >= sizeof e->org || strlen(hash) != 64) return;
    pthread_mutex_lock(&api->cache_mu);
    memcpy(e->hash, hash, 65);
    snprintf(e->org, sizeof e->org, "%s", org);
    e->expires_ms = od_clock_mono_ms() + api->conf->cache_s * 1000;
    e->gen = gen;
    pthread_mutex_unlock(&api->cache_mu);
}

int od_api_provisioning(od_api_t *api, const char *org, json_t **out) {
    od_api_prov_entry_t *e = &api->provs[slot_of(org, OD_API_PROV_CACHE)];
    unsigned gen = atomic_load(&api->gen);
    *out = NULL;
    if (api->conf->cache_s > 0) {
        pthread_mutex_lock(&api->cache_mu);
        if (e->prov && e->gen == gen && e->expires_ms > od_clock_mono_ms() && !strcmp(e->org, org))
            *out = json_incref(e->prov);
        pthread_mutex_unlock(&api->cache_mu);
        if (*out) return OD_OK;
    }
    od_db_t *db = od_api_db_take(api);
    int rc = db ? od_repo_provisioning_load_org(db, org, out) : OD_ERR_DB;
    od_api_db_give(api, db);
    if (rc == OD_OK && *out && api->conf->cache_s > 0)
        od_api_cache_provisioning(api, org, *out, gen);
    return rc;
}

void od_api_cache_provisioning(od_api_t *api, const char *org, json_t *prov, unsigned gen) {
    od_api_prov_entry_t *e = &api->provs[slot_of(org, OD_API_PROV_CACHE)];
    if (strlen(org) >= sizeof e->org) return;
    pthread_mutex_lock(&api->cache_mu);
    json_t *old = e->prov;
    e->prov = json_incref(prov);
    snprintf(e->org, sizeof e->org, "%s", org);
    e->expires_ms = od_clock_mono_ms() + api->conf->cache_s * 1000;
    e->gen = gen;
    pthread_mutex_unlock(&api->cache_mu);
    json_decref(old);
}

/* Empties the caches whenever provisioning or keys change (outdialctl
 * apply and keys revoke NOTIFY), and while it cannot listen (a change may
 * go unnoticed then). */
static void *watch_changes(void *arg) {
    od_api_t *api = arg;
    od_db_t *db = NULL;
    char err[512];
    while (!api->stopping) {
        if (!db) {
            db = od_db_connect(api->conf->common.pg_dsn, "outdial-api watch", err, sizeof err);
            if (db && (od_db_listen(db, "outdial_provisioning") ||
                       od_db_listen(db, "outdial_api_keys"))) {
                od_db_close(db);
                db = NULL;
            }
            atomic_fetch_add(&api->gen, 1);
            if (!db) {
                od_clock_sleep_ms(500);
                continue;
            }
        }
        int rc = od_db_wait_notify(db, 200);
        if (rc != 0) atomic_fetch_add(&api->gen, 1);
        if (rc < 0) {
            od_db_close(db);
            db = NULL;
        }
    }
    od_db_close(db);
    return NULL;
}

/* ---- producing with an acknowledgement ---- */

/* One produced request and its deferred answer. Whichever comes first,
 * its report or its deadline (served by the poller thread), answers it;
 * the report always frees it (the batch must outlive the report). */
struct od_api_waiter {
    od_kafka_batch_t batch;
    od_api_t *api;
    od_httpd_later_t *later;
    int64_t deadline_ms;
    int timed_out;                /* under pend_mu */
    od_api_waiter_t *prev, *next; /* in the pending list while neither came */
    char call_id[OD_UUID_STRLEN];
    char *org_id, *request_id;
};

static void pend_unlink(od_api_t *api, od_api_waiter_t *w) {
    if (w->prev)
        w->prev->next = w->next;
    else
        api->pend_head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        api->pend_tail = w->prev;
    w->prev = w->next = NULL;
}

static void waiter_free(od_api_waiter_t *w) {
    free(w->org_id);
    free(w->request_id);
    free(w);
}

static void on_accept_report(void *arg) {
    od_api_waiter_t *w = arg;
    od_api_t *api = w->api;
    pthread_mutex_lock(&api->pend_mu);
    int late = w->timed_out;
    if (!late) pend_unlink(api, w);
    pthread_mutex_unlock(&api->pend_mu);
    if (!late) {
        od_httpd_resp_t resp = {.status = 500};
        od_ops_check_set(api->kafka_ok, w->batch.delivered == 1, w->batch.last_error);
        if (w->batch.delivered == 1) {
            od_api_recent_add(api, w->call_id, w->org_id, w->request_id);
            /* the hottest answer, written directly: the bytes json_dumps would
             * write for any request_id the validator lets through */
            resp.status = 202;
            od_httpd_resp_header(&resp, "Content-Type", "application/json");
            od_buf_puts(&resp.body, "{\"call_id\":\"");
            od_buf_puts(&resp.body, w->call_id);
            od_buf_puts(&resp.body, "\",\"request_id\":");
            od_buf_json_str(&resp.body, w->request_id);
            od_buf_puts(&resp.body, ",\"status\":\"queued\"}\n");
        } else {
            od_logkv(OD_LOG_WARN, "request not delivered", "err", w->batch.last_error,
                     (const char *)NULL);
            od_api_reply_unavailable(&resp, "the broker refused the request; retry later");
        }
        od_httpd_complete(w->later, &resp);
    }
    waiter_free(w);
}

/* On the poller thread: answers 503 to the requests past their deadline
 * (their reports, when they come, free them). */
static void expire_waiters(od_api_t *api) {
    int64_t now = od_clock_mono_ms();
    for (;;) {
        pthread_mutex_lock(&api->pend_mu);
        od_api_waiter_t *w = api->pend_head;
        if (w && w->deadline_ms <= now) {
            pend_unlink(api, w);
            w->timed_out = 1;
        } else {
            w = NULL;
        }
        od_httpd_later_t *later = w ? w->later : NULL;
        pthread_mutex_unlock(&api->pend_mu);
        if (!later) return;
        od_ops_check_set(api->kafka_ok, 0, "the broker did not acknowledge in time");
        od_httpd_resp_t resp = {.status = 500};
        od_api_reply_unavailable(&resp,
                                 "the broker did not acknowledge in time; retry with the same"
                                 " Idempotency-Key (it never makes a second call)");
        od_httpd_complete(later, &resp);
    }
}

void od_api_accept(od_api_t *api, const od_httpd_req_t *req, od_httpd_resp_t *resp, const char *key,
                   const char *value, const char *call_id, const char *org_id,
                   const char *request_id) {
    od_api_waiter_t *w = api->producer ? calloc(1, sizeof *w) : NULL;
    if (!w) {
        od_api_reply_unavailable(resp, "the broker is not available; retry later");
        return;
    }
    w->api = api;
    w->batch.on_report = on_accept_report;
    w->batch.on_report_arg = w;
    snprintf(w->call_id, sizeof w->call_id, "%s", call_id);
    w->org_id = strdup(org_id);
    w->request_id = strdup(request_id);
    w->deadline_ms = od_clock_mono_ms() + api->conf->kafka_wait_ms;
    w->later = od_httpd_defer(req);
    /* In the list before producing: the report may come before
     * od_kafka_produce returns. */
    pthread_mutex_lock(&api->pend_mu);
    w->prev = api->pend_tail;
    if (api->pend_tail)
        api->pend_tail->next = w;
    else
        api->pend_head = w;
    api->pend_tail = w;
    pthread_mutex_unlock(&api->pend_mu);
    if (od_kafka_produce(api->producer, api->conf->common.topic_requests, key, strlen(key), value,
                         strlen(value), NULL, 0, &w->batch) != OD_OK) {
        /* refused at once: no report will come (unless it timed out
         * meanwhile, the answer is due here) */
        pthread_mutex_lock(&api->pend_mu);
        int late = w->timed_out;
        if (!late) pend_unlink(api, w);
        pthread_mutex_unlock(&api->pend_mu);
        if (!late) {
            od_httpd_resp_t r = {.status = 500};
            od_api_reply_unavailable(&r, "the broker refused the request; retry later");
            od_httpd_complete(w->later, &r);
        }
        waiter_free(w);
    }
    (void)resp; /* ignored once deferred */
}

/* One produced message and the request thread waiting for its report
 * (od_api_produce, the blocking way: cancels). The report may come after
 * the waiter gave up: then whoever comes last (the report) frees it, so
 * the batch always outlives its report. */
typedef struct {
    od_kafka_batch_t batch;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int settled, abandoned;
} waiter_t;

static void blocking_waiter_free(waiter_t *w) {
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

static void on_report(void *arg) {
    waiter_t *w = arg;
    pthread_mutex_lock(&w->mu);
    w->settled = 1;
    if (w->abandoned) {
        pthread_mutex_unlock(&w->mu);
        blocking_waiter_free(w);
        return;
    }
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int od_api_produce(od_api_t *api, const char *key, const char *value) {
    waiter_t *w = calloc(1, sizeof *w);
    if (!w) return OD_ERR_NOMEM;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    w->batch.on_report = on_report;
    w->batch.on_report_arg = w;
    /* Not locked while producing: with a full queue, od_kafka_produce
     * serves reports on this thread, this message's own among them. */
    if (od_kafka_produce(api->producer, api->conf->common.topic_requests, key, strlen(key), value,
                         strlen(value), NULL, 0, &w->batch) != OD_OK) {
        blocking_waiter_free(w); /* refused at once: no report will come */
        return OD_ERR_KAFKA;
    }
    pthread_mutex_lock(&w->mu);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += api->conf->kafka_wait_ms / 1000;
    until.tv_nsec += (api->conf->kafka_wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!w->settled)
        if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT) break;
    if (!w->settled) {
        w->abandoned = 1; /* its report frees it */
        pthread_mutex_unlock(&w->mu);
        return OD_ERR_TIMEOUT;
    }
    int rc = w->batch.delivered == 1 ? OD_OK : OD_ERR_KAFKA;
    od_ops_check_set(api->kafka_ok, !rc, w->batch.last_error);
    if (rc)
        od_logkv(OD_LOG_WARN, "request not delivered", "err", w->batch.last_error,
                 (const char *)NULL);
    pthread_mutex_unlock(&w->mu);
    blocking_waiter_free(w);
    return rc;
}

void od_api_recent_add(od_api_t *api, const char *call_id, const char *org_id,
                       const char *request_id) {
    pthread_mutex_lock(&api->recent_mu);
    od_api_recent_t *r = &api->recent[api->recent_next];
    api->recent_next = (api->recent_next + 1) % OD_API_RECENT;
    free(r->org_id);
    free(r->request_id);
    snprintf(r->call_id, sizeof r->call_id, "%s", call_id);
    r->org_id = strdup(org_id);
    r->request_id = strdup(request_id);
    pthread_mutex_unlock(&api->recent_mu);
}

int od_api_recent_find(od_api_t *api, const char *call_id, const char *org_id, char *out,
                       size_t cap) {
    int rc = -1;
    pthread_mutex_lock(&api->recent_mu);
    for (int i = 0; i < OD_API_RECENT && rc; i++) {
        const od_api_recent_t *r = &api->recent[i];
        if (r->org_id && !strcmp(r->call_id, call_id) && !strcmp(r->org_id, org_id)) {
            snprintf(out, cap, "%s", r->request_id);
            rc = 0;
        }
    }
    pthread_mutex_unlock(&api->recent_mu);
    return rc;
}

/* Serves the producer's delivery reports, so that each request thread
 * only waits on its own waiter. */
/* Every answer, for /metrics: by status class, and how long it took. */
static struct { od_metric_t *answers, *seconds; } am;

static void metrics_init(void) {
    static const double bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                    0.1,   0.25,   0.5,   1,    2.5,   5};
    od_metrics_t *r = od_metrics_default();
    am.answers = od_metrics_counter(r, "outdial_api_responses_total",
                                    "HTTP answers of the API, by status class.", "class");
    static const char *const classes[] = {"2xx", "4xx", "5xx"};
    for (int i = 0; i < 3; i++)
        od_metric_declare(am.answers, classes[i]);
    am.seconds = od_metrics_histogram(
        r, "outdial_api_request_duration_seconds",
        "Time from a request's headers to its answer (POST /v1/calls: after the broker's ack).",
        NULL, bounds, (int)(sizeof bounds / sizeof *bounds));
}

static void on_answer(void *ctx, int status, double seconds) {
    (void)ctx;
    char cls[16];
    snprintf(cls, sizeof cls, "%dxx", status / 100 % 10);
    od_metric_add(am.answers, cls, 1);
    od_metric_observe(am.seconds, NULL, seconds);
}

/* Readiness without traffic: the checks are set by the requests that meet
 * the database and the broker; a replica that no request reaches (taken
 * out of its Service for being unready) must still find out when they are
 * back. Every PROBE_MS, a check that is failing is tried again. */
#define PROBE_MS 2000

static void probe(od_api_t *api) {
    if (!od_ops_check_ok(api->db_ok)) od_api_db_give(api, od_api_db_take(api)); /* sets it */
    if (!od_ops_check_ok(api->kafka_ok) && od_kafka_producer_reachable(api->producer, 1000))
        od_ops_check_set(api->kafka_ok, 1, NULL);
}

static void *poll_reports(void *arg) {
    od_api_t *api = arg;
    int64_t next_probe = od_clock_mono_ms() + PROBE_MS;
    while (!api->stopping) {
        od_kafka_producer_wait(api->producer, NULL, 20);
        expire_waiters(api);
        if (od_clock_mono_ms() >= next_probe) {
            probe(api);
            next_probe = od_clock_mono_ms() + PROBE_MS;
        }
    }
    return NULL;
}

int od_api_run(const od_api_conf_t *conf, volatile sig_atomic_t *stop) {
    char err[512];
    od_api_t *api = calloc(1, sizeof *api);
    od_httpd_t *server = NULL;
    od_ops_t *ops = NULL;
    od_ops_loop_t *loop = NULL;
    od_ops_check_t *stopping = NULL;
    int rc = 1, poller = 0, watcher = 0;
    api->conf = conf;
    pthread_mutex_init(&api->db_mu, NULL);
    pthread_mutex_init(&api->recent_mu, NULL);
    pthread_mutex_init(&api->cache_mu, NULL);
    pthread_mutex_init(&api->pend_mu, NULL);
    api->idle = calloc((size_t)conf->db_pool + 1, sizeof *api->idle);
    api->limiter = od_api_limiter_new((double)conf->rate_per_key);
    metrics_init();
    ops = od_ops_start(&conf->ops, "outdial-api", err, sizeof err);
    if (!ops) {
        od_logkv(OD_LOG_ERROR, "cannot start", "err", err, (const char *)NULL);
        goto out;
    }
    loop = od_ops_loop_register("api");
    api->db_ok = od_ops_check_register("database:api", 0);
    api->kafka_ok = od_ops_check_register("kafka:api", 0);
    stopping = od_ops_check_register("stopping", 0);
    od_ops_check_set(stopping, 1, NULL);
    /* Fail at start, not at the first request, if the database is not there. */
    od_db_t *db = od_api_db_take(api);
    if (!db) goto out;
    od_api_db_give(api, db);
    api->producer = od_kafka_producer_new(conf->common.brokers, "outdial-api",
                                          conf->common.kafka_extra, err, sizeof err);
    if (!api->producer) {
        od_logkv(OD_LOG_ERROR, "cannot start", "err", err, (const char *)NULL);
        goto out;
    }
    od_ops_check_set(api->kafka_ok, 1, NULL); /* until a delivery says otherwise */
    if (pthread_create(&api->poller, NULL, poll_reports, api)) goto out;
    poller = 1;
    if (conf->cache_s > 0) {
        if (pthread_create(&api->watcher, NULL, watch_changes, api)) goto out;
        watcher = 1;
    }
    od_httpd_conf_t hc = {
        .listen = conf->listen,
        .body_max = (size_t)conf->body_max,
        .timeout_s = (int)conf->timeout_s,
        .max_connections = (int)conf->max_connections,
        .threads = (int)conf->threads,
        .handler = od_api_handle,
        .ctx = api,
        .on_answer = on_answer,
        .error_content_type = "application/json",
        .error_body_413 = "{\"error\":\"the request body is larger than the limit\","
                          "\"code\":\"PAYLOAD_TOO_LARGE\",\"details\":null}",
    };
    server = od_httpd_start(&hc, err, sizeof err);
    if (!server) {
        od_logkv(OD_LOG_ERROR, "cannot start", "err", err, (const char *)NULL);
        goto out;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", od_httpd_port(server));
    od_logkv(OD_LOG_INFO, "listening", "listen", conf->listen, "#port", port, "topic",
             conf->common.topic_requests, (const char *)NULL);
    while (!*stop) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        od_ops_loop_beat(loop);
    }
    od_ops_check_set(stopping, 0, "shutting down");
    od_logkv(OD_LOG_INFO, "stopping: answering the requests in progress", (const char *)NULL);
    rc = 0;
out:
    od_httpd_stop(server, (int)conf->drain_s * 1000);
    api->stopping = 1;
    if (poller) pthread_join(api->poller, NULL);
    if (watcher) pthread_join(api->watcher, NULL);
    /* Settles what is left: waiters given up on are freed by their reports. */
    od_kafka_producer_destroy(api->producer, 5000);
    for (int i = 0; i < api->nidle; i++)
        od_db_close(api->idle[i]);
    free(api->idle);
    od_api_limiter_destroy(api->limiter);
    for (int i = 0; i < OD_API_RECENT; i++) {
        free(api->recent[i].org_id);
        free(api->recent[i].request_id);
    }
    for (int i = 0; i < OD_API_PROV_CACHE; i++)
        json_decref(api->provs[i].prov);
    pthread_mutex_destroy(&api->db_mu);
    pthread_mutex_destroy(&api->recent_mu);
    pthread_mutex_destroy(&api->cache_mu);
    pthread_mutex_destroy(&api->pend_mu);
    free(api);
    od_ops_stop(ops);
    if (!rc) od_logkv(OD_LOG_INFO, "stopped", (const char *)NULL);
    return rc;
}
