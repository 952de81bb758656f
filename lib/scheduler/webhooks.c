/* Webhook loop (role "webhooks"), on its own thread and connection: claims
 * due deliveries from PostgreSQL (the first undelivered event of each call,
 * a few per org at a time), POSTs them signed with libcurl's multi
 * interface, and records each attempt: delivered on 2xx; retried with
 * exponential backoff and jitter on time-outs, connection errors, 5xx and
 * 429 until OUTDIAL_WEBHOOK_RETRY_SECONDS have passed; failed at once on
 * any other status, or when the destination is refused. A slow endpoint
 * holds at most PER_ORG of the loop's slots. Several schedulers may run it
 * (deliveries are leased with SKIP LOCKED). */
#include "core/buf.h"
#include "core/clock.h"
#include "core/log.h"
#include "db/db.h"
#include "db/repo.h"
#include "scheduler/scheduler_int.h"
#include "webhook/http.h"
#include "webhook/sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PER_ORG 8
#define BACKOFF_BASE_MS 1000
#define BACKOFF_MAX_MS 300000

typedef struct {
    char org[128];
    int n;
} busy_t;

typedef struct {
    const od_scheduler_conf_t *conf;
    od_db_t *db;
    od_http_t *http;
    busy_t *busy;
    int nbusy, inflight;
    unsigned seed;
} loop_t;

typedef struct {
    long long id;
    int attempts;
    char org[128];
    char event_id[40]; /* for the log */
    double started_s;  /* od_clock_mono_s */
} sent_t;

/* The org's in-flight count; an idle entry is reused, so the table holds
 * at most one entry per request in flight. */
static busy_t *busy_of(loop_t *l, const char *org) {
    busy_t *idle = NULL;
    for (int i = 0; i < l->nbusy; i++) {
        if (!strcmp(l->busy[i].org, org)) return &l->busy[i];
        if (!idle && l->busy[i].n == 0) idle = &l->busy[i];
    }
    busy_t *b = idle;
    if (!b) {
        l->busy = realloc(l->busy, (size_t)(l->nbusy + 1) * sizeof *l->busy);
        b = &l->busy[l->nbusy++];
    }
    snprintf(b->org, sizeof b->org, "%s", org);
    b->n = 0;
    return b;
}

static long backoff_ms(loop_t *l, int attempts) {
    long ms = BACKOFF_BASE_MS;
    for (int i = 1; i < attempts && ms < BACKOFF_MAX_MS; i++)
        ms *= 2;
    if (ms > BACKOFF_MAX_MS) ms = BACKOFF_MAX_MS;
    return ms * (75 + (long)(rand_r(&l->seed) % 51)) / 100; /* jitter: 0.75 to 1.25 */
}

static void on_done(void *ctx, const od_http_result_t *r, void *arg) {
    loop_t *l = arg;
    sent_t *s = ctx;
    const char *outcome;
    char why[512];
    long retry = 0;
    if (r->refused) {
        outcome = "failed";
        snprintf(why, sizeof why, "%s", r->error);
    } else if (r->status >= 200 && r->status < 300) {
        outcome = "delivered";
        why[0] = 0;
    } else if (r->status == 0 || r->status == 429 || r->status >= 500) {
        outcome = "retry";
        retry = backoff_ms(l, s->attempts);
        if (r->status)
            snprintf(why, sizeof why, "HTTP %d", r->status);
        else
            snprintf(why, sizeof why, "%s", r->timed_out ? "timed out" : r->error);
    } else {
        outcome = "failed"; /* 3xx (not followed) and 4xx other than 429 are final */
        snprintf(why, sizeof why, "HTTP %d (final)", r->status);
    }
    od_metric_add(od_sm.webhooks, outcome, 1);
    od_metric_observe(od_sm.webhook_seconds, NULL, od_clock_mono_s() - s->started_s);
    if (od_repo_webhook_result(l->db, s->id, outcome, r->status, why, retry,
                               l->conf->webhook_retry_s) != OD_OK)
        od_logkv(OD_LOG_WARN, "webhook result not recorded (retried after the lease)", "err",
                 od_db_error(l->db), (const char *)NULL);
    if (why[0]) /* a delivery given up is the operator's business; a retry is not */
        od_logkv(strcmp(outcome, "failed") ? OD_LOG_DEBUG : OD_LOG_WARN, "webhook attempt",
                 "org_id", s->org, "event_id", s->event_id, "outcome", outcome, "why", why,
                 (const char *)NULL);
    busy_of(l, s->org)->n--;
    l->inflight--;
    free(s);
}

static void send_one(const od_webhook_row_t *w, void *arg) {
    loop_t *l = arg;
    char id_h[80], wid_h[80], ts_h[48];
    od_buf_t sig_h = {0};
    int64_t t = od_clock_now_ms() / 1000;
    snprintf(id_h, sizeof id_h, "Outdial-Event-Id: %s", w->event_id);
    snprintf(wid_h, sizeof wid_h, "webhook-id: %s", w->event_id);
    snprintf(ts_h, sizeof ts_h, "webhook-timestamp: %lld", (long long)t);
    od_buf_puts(&sig_h, "webhook-signature: ");
    const char *secrets[] = {w->secret, w->secret_previous};
    int signed_ =
        od_webhook_signature(secrets, 2, w->event_id, t, w->body, strlen(w->body), &sig_h) > 0;
    /* an org without a webhook_secret gets unsigned requests */
    const char *headers[5] = {"Content-Type: application/json", id_h, wid_h, ts_h, sig_h.data};
    int nh = signed_ ? 5 : 4;
    sent_t *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->id = w->id;
    s->attempts = w->attempts;
    s->started_s = od_clock_mono_s();
    snprintf(s->org, sizeof s->org, "%s", w->org_id);
    snprintf(s->event_id, sizeof s->event_id, "%s", w->event_id);
    l->inflight++;
    busy_of(l, w->org_id)->n++;
    int rc = od_http_post(l->http, w->url, headers, nh, w->body, strlen(w->body), s);
    od_buf_free(&sig_h); /* the headers are copied */
    if (rc) {
        od_http_result_t r = {0, 0, 0, "could not start the request"};
        on_done(s, &r, l); /* retried like a request that got no answer */
    }
}

static void claim(loop_t *l) {
    od_buf_t busy = {0};
    od_buf_putc(&busy, '{');
    for (int i = 0; i < l->nbusy; i++)
        if (l->busy[i].n > 0) {
            char e[160];
            snprintf(e, sizeof e, "%s=%d", l->busy[i].org, l->busy[i].n);
            od_buf_pg_array_elem(&busy, e);
        }
    od_buf_putc(&busy, '}');
    int room = (int)l->conf->webhook_concurrency - l->inflight;
    if (room > 0 &&
        od_repo_webhook_claim(l->db, room, PER_ORG, busy.data,
                              (int)(l->conf->webhook_timeout_ms / 1000) + 30, send_one, l) != OD_OK)
        od_logkv(OD_LOG_WARN, "claiming webhooks failed", "err", od_db_error(l->db),
                 (const char *)NULL);
    od_buf_free(&busy);
}

void *od_webhooks_main(void *arg) {
    const od_worker_arg_t *a = arg;
    loop_t l = {.conf = a->conf, .seed = (unsigned)od_clock_now_ms()};
    char err[512];
    l.db = od_db_connect(l.conf->common.pg_dsn, "outdial-webhooks", err, sizeof err);
    l.http = od_http_new(l.conf->webhook_allow_private, l.conf->webhook_timeout_ms, on_done, &l);
    if (!l.db || !l.http) {
        od_logkv(OD_LOG_ERROR, "webhooks cannot start", "err", l.db ? "curl" : err,
                 (const char *)NULL);
        *a->stop = 1;
        od_db_close(l.db);
        od_http_free(l.http);
        return NULL;
    }
    int64_t next_claim = 0;
    od_ops_loop_t *loop = od_ops_loop_register("webhooks");
    od_ops_check_t *db_ok = od_sched_db_check("webhooks");
    while (!*a->stop) {
        int64_t now = od_clock_mono_ms();
        od_ops_loop_beat(loop);
        if (now >= next_claim && !od_db_alive(l.db) && od_db_reconnect(l.db) != OD_OK) {
            od_ops_check_set(db_ok, 0, "unreachable");
            next_claim = now + 200;
        }
        if (now >= next_claim && od_db_alive(l.db)) {
            int before = l.inflight;
            claim(&l);
            /* nothing new: look again in 200 ms; else at once */
            next_claim = now + (l.inflight > before ? 0 : 200);
            od_ops_check_set(db_ok, od_db_alive(l.db), "unreachable");
        }
        if (l.inflight)
            od_http_run(l.http, 50);
        else
            od_clock_sleep_ms(50);
    }
    od_ops_loop_done(loop);
    od_ops_check_done(db_ok);
    od_http_free(l.http); /* lets what is in flight finish (and be recorded) */
    od_db_close(l.db);
    free(l.busy);
    return NULL;
}
