/* The way every route but POST /v1/calls submits calls (batch, KrosAI,
 * Pathors, Cartesia): each route turns its body into native requests
 * (docs/requests.md), and from there one path: intake's own validator on
 * the exact bytes to produce, the org's provisioning as it is now,
 * admission's credit rule (402), then every accepted request produced at
 * once and each acknowledgement waited for. */
#include "api/api_int.h"
#include "core/log.h"
#include "db/repo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void od_api_item_init(od_api_item_t *item, json_t *request) {
    memset(item, 0, sizeof *item);
    item->request = request;
}

void od_api_item_refuse(od_api_item_t *item, int status, const char *code, const char *msg) {
    if (item->status) return; /* the first refusal wins */
    item->status = status;
    item->code = code;
    snprintf(item->error, sizeof item->error, "%s", msg);
}

void od_api_item_clear(od_api_item_t *item) {
    json_decref(item->request);
    free(item->text);
    memset(item, 0, sizeof *item);
}

int od_api_credit_check(od_db_t *db, od_request_t *r) {
    if (r->reject || r->kind != OD_MSG_REQUEST) return OD_OK;
    long long hold, credit;
    int rc = od_repo_api_credit(db, r->org_id, r->to_number, r->max_duration_s, &hold, &credit);
    /* No rate for the destination (hold -1): admission ends it NO_RATE,
     * with its event; not a question of balance. */
    if (rc || hold < 0 || credit < 0 || hold <= credit) return rc;
    r->reject = OD_REJ_INSUFFICIENT_BALANCE;
    snprintf(r->error, sizeof r->error,
             "the hold of %lld millicents (%d s to %s) exceeds the org's credit of %lld", hold,
             r->max_duration_s, r->to_number, credit);
    return OD_OK;
}

int od_api_items_check(od_api_t *api, const char *org, od_api_item_t *items, int n) {
    json_t *prov = NULL;
    od_db_t *db = od_api_db_take(api);
    int rc = db ? od_repo_provisioning_load_org(db, org, &prov) : OD_ERR_DB;
    for (int i = 0; i < n && !rc; i++) {
        od_api_item_t *it = &items[i];
        if (it->status) continue;
        json_t *rid = json_object_get(it->request, "request_id");
        if (json_is_string(rid))
            snprintf(it->request_id, sizeof it->request_id, "%s", json_string_value(rid));
        it->text = json_dumps(it->request, JSON_COMPACT);
        if (!it->text) {
            od_api_item_refuse(it, 400, "INVALID_REQUEST", "the request cannot be encoded as JSON");
            continue;
        }
        od_request_t r;
        od_request_parse(&r, it->text, strlen(it->text));
        od_request_resolve(&r, prov);
        rc = od_api_credit_check(db, &r);
        if (!rc && r.reject) {
            it->reject = r.reject;
            od_api_item_refuse(it, od_api_reject_status(r.reject), od_reject_code(r.reject),
                               r.error);
        } else if (!rc) {
            od_request_call_id(r.org_id, r.request_id, it->call_id);
            snprintf(it->from_number, sizeof it->from_number, "%s", r.from_number);
        }
        od_request_clear(&r);
    }
    od_api_db_give(api, db);
    json_decref(prov);
    return rc ? OD_ERR_DB : OD_OK;
}

/* The items' messages in flight and the request thread waiting for all of
 * their reports. Reports may come after the waiter gave up: then the last
 * report frees it, so every batch outlives its report. */
typedef struct many many_t;
typedef struct {
    od_kafka_batch_t batch;
    many_t *m;
    int settled; /* its report was served: batch may be read (under m->mu) */
} slot_t;

struct many {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int outstanding, abandoned, n;
    slot_t slots[];
};

static void many_free(many_t *m) {
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    free(m);
}

static void on_slot_report(void *arg) {
    slot_t *s = arg;
    many_t *m = s->m;
    pthread_mutex_lock(&m->mu);
    s->settled = 1;
    int last = --m->outstanding == 0;
    if (m->abandoned) {
        pthread_mutex_unlock(&m->mu);
        if (last) many_free(m);
        return;
    }
    if (last) pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

void od_api_items_produce(od_api_t *api, od_api_item_t *items, int n) {
    many_t *m = calloc(1, sizeof *m + (size_t)n * sizeof(slot_t));
    if (!m) {
        for (int i = 0; i < n; i++)
            od_api_item_refuse(&items[i], 503, "SERVICE_UNAVAILABLE", "out of memory");
        return;
    }
    pthread_mutex_init(&m->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cv, &ca);
    pthread_condattr_destroy(&ca);
    m->n = n;
    int queued = 0;
    for (int i = 0; i < n; i++) {
        od_api_item_t *it = &items[i];
        if (it->status) continue;
        slot_t *s = &m->slots[i];
        s->m = m;
        s->batch.on_report = on_slot_report;
        s->batch.on_report_arg = s;
        char key[300];
        snprintf(key, sizeof key, "%s:%s",
                 json_string_value(json_object_get(it->request, "org_id")), it->request_id);
        pthread_mutex_lock(&m->mu);
        m->outstanding++; /* before its report can be served */
        pthread_mutex_unlock(&m->mu);
        if (od_kafka_produce(api->producer, api->conf->common.topic_requests, key, strlen(key),
                             it->text, strlen(it->text), NULL, 0, &s->batch) != OD_OK) {
            pthread_mutex_lock(&m->mu);
            m->outstanding--; /* refused at once: no report will come */
            pthread_mutex_unlock(&m->mu);
            od_api_item_refuse(it, 503, "SERVICE_UNAVAILABLE",
                               "the broker refused the request; retry later with the same "
                               "request_id");
            continue;
        }
        queued++;
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += api->conf->kafka_wait_ms / 1000;
    until.tv_nsec += (api->conf->kafka_wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&m->mu);
    while (queued && m->outstanding)
        if (pthread_cond_timedwait(&m->cv, &m->mu, &until) == ETIMEDOUT) break;
    for (int i = 0; i < n; i++) {
        od_api_item_t *it = &items[i];
        slot_t *s = &m->slots[i];
        if (it->status || !s->m) continue;
        if (s->settled && s->batch.delivered == 1) {
            od_api_recent_add(api, it->call_id,
                              json_string_value(json_object_get(it->request, "org_id")),
                              it->request_id);
            continue;
        }
        if (s->settled)
            od_logkv(OD_LOG_WARN, "request not delivered", "err", s->batch.last_error,
                     (const char *)NULL);
        od_api_item_refuse(it, 503, "SERVICE_UNAVAILABLE",
                           !s->settled ? "the broker did not acknowledge in time; retry with "
                                         "the same request_id (it never makes a second call)"
                                       : "the broker refused the request; retry later with "
                                         "the same request_id");
    }
    if (m->outstanding) {
        m->abandoned = 1; /* the last report frees it */
        pthread_mutex_unlock(&m->mu);
        return;
    }
    pthread_mutex_unlock(&m->mu);
    many_free(m);
}

void od_api_default_request_id(const od_httpd_req_t *req, int index, char *out, size_t cap) {
    const char *idem = od_httpd_header(req, "Idempotency-Key");
    if (idem && index >= 0)
        snprintf(out, cap, "%s:%d", idem, index);
    else if (idem)
        snprintf(out, cap, "%s", idem);
    else {
        char id[OD_UUID_STRLEN];
        od_uuid_v4(id);
        snprintf(out, cap, "%s", id);
    }
}

json_t *od_api_parse_body(const od_httpd_req_t *req, od_httpd_resp_t *resp) {
    json_error_t jerr;
    json_t *root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        char msg[300];
        snprintf(msg, sizeof msg, "the body must be a JSON object%s%s", root ? "" : ": ",
                 root ? "" : jerr.text);
        json_decref(root);
        od_api_reply_error(resp, 400, "INVALID_REQUEST", msg, NULL);
        return NULL;
    }
    return root;
}
