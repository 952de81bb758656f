/* Private to lib/api: the server's shared state and the helpers the routes
 * use (database connections, producing with an acknowledgement, the calls
 * this process accepted recently). */
#ifndef OD_API_INT_H
#define OD_API_INT_H

#include "api/api.h"
#include "core/id.h"
#include "db/db.h"
#include "domain/request.h"
#include "httpd/httpd.h"
#include "kafka/kafka.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* Calls accepted by this process, remembered so that GET and cancel can
 * answer for a call between the broker's ack and intake storing it. */
#define OD_API_RECENT 4096

typedef struct {
    char call_id[OD_UUID_STRLEN];
    char *org_id, *request_id;
} od_api_recent_t;

/* What the hot path needs from the database, kept conf->cache_s seconds
 * and dropped at once when provisioning or keys change (NOTIFY
 * outdial_provisioning, outdial_api_keys): API keys (by hash) and each
 * org's provisioning snapshot. Direct-mapped: a collision evicts. */
#define OD_API_KEY_CACHE 1024
#define OD_API_PROV_CACHE 256

typedef struct {
    char hash[65], org[128];
    int64_t expires_ms;
    unsigned gen;
} od_api_key_entry_t;

typedef struct {
    char org[128];
    json_t *prov; /* owned; read-only once cached */
    int64_t expires_ms;
    unsigned gen;
} od_api_prov_entry_t;

typedef struct od_api_waiter od_api_waiter_t;

typedef struct {
    const od_api_conf_t *conf;
    od_kafka_producer_t *producer;
    pthread_t poller;
    volatile int stopping;
    pthread_mutex_t db_mu;
    od_db_t **idle; /* database connections not in use */
    int nidle;
    pthread_mutex_t recent_mu;
    od_api_recent_t recent[OD_API_RECENT];
    int recent_next;
    struct od_api_limiter *limiter; /* per-key request rate (ratelimit.c) */
    /* readiness (lib/ops): the database and the broker as last met */
    struct od_ops_check *db_ok, *kafka_ok;
    /* the caches; `gen` is bumped (by the watcher thread) to drop them */
    pthread_mutex_t cache_mu;
    atomic_uint gen;
    pthread_t watcher;
    od_api_key_entry_t keys[OD_API_KEY_CACHE];
    od_api_prov_entry_t provs[OD_API_PROV_CACHE];
    /* produced requests waiting for their report, oldest first */
    pthread_mutex_t pend_mu;
    od_api_waiter_t *pend_head, *pend_tail;
} od_api_t;

/* The request handler (routes.c). */
void od_api_handle(void *ctx, const od_httpd_req_t *req, od_httpd_resp_t *resp);

/* A database connection for this thread's use, or NULL (logged); give it
 * back with od_api_db_give. */
od_db_t *od_api_db_take(od_api_t *api);
void od_api_db_give(od_api_t *api, od_db_t *db);

/* Produces one message and waits up to conf->kafka_wait_ms for the
 * broker's acknowledgement. OD_OK once acknowledged; OD_ERR_KAFKA if it
 * failed; OD_ERR_TIMEOUT if no answer came in time (the message may still
 * be delivered later). */
int od_api_produce(od_api_t *api, const char *key, const char *value);

/* The org of an API key by its SHA-256 (hex), and the stored hash into
 * stored, from the cache or the database: OD_OK, OD_ERR_NOT_FOUND (no
 * such key, or revoked), OD_ERR_DB. Only found keys are cached. */
int od_api_key_find(od_api_t *api, const char *hash, char *org, size_t org_cap,
                    char stored[65]) OD_MUSTCHECK;

/* Put an entry in the caches, as a lookup does (gen: atomic_load(&api->gen)
 * read before the lookup); also for tests and fuzzing, which have no
 * database. od_api_cache_provisioning takes its own reference to prov. */
void od_api_cache_key(od_api_t *api, const char *hash, const char *org, unsigned gen);
void od_api_cache_provisioning(od_api_t *api, const char *org, json_t *prov, unsigned gen);

/* One org's provisioning snapshot (od_repo_provisioning_load_org), from
 * the cache or the database, into *out (a reference: json_decref it;
 * read-only, other threads read it too). OD_OK or OD_ERR_DB. */
int od_api_provisioning(od_api_t *api, const char *org, json_t **out) OD_MUSTCHECK;

/* Produces an accepted request (value, keyed key) and answers req later,
 * without holding a thread while the broker works: 202 with {call_id,
 * request_id, status: "queued"} once the broker has acknowledged it (the
 * call then remembered as recent), 503 with Retry-After if it failed or
 * no acknowledgement came within conf->kafka_wait_ms (the message may
 * still be delivered: the same request_id never makes a second call). If
 * it cannot even be queued (or there is no producer: unit tests, fuzzing),
 * resp gets the 503 at once. */
void od_api_accept(od_api_t *api, const od_httpd_req_t *req, od_httpd_resp_t *resp, const char *key,
                   const char *value, const char *call_id, const char *org_id,
                   const char *request_id);

void od_api_recent_add(od_api_t *api, const char *call_id, const char *org_id,
                       const char *request_id);
/* The request_id of a call of org_id accepted here recently, copied into
 * out; 0 if found, -1 if not. */
int od_api_recent_find(od_api_t *api, const char *call_id, const char *org_id, char *out,
                       size_t cap);

/* ---- answers (reply.c) ---- */

/* Answers `status` with the JSON `body` (taken). */
void od_api_reply_json(od_httpd_resp_t *resp, int status, json_t *body);
/* Answers {"error": msg, "code": code, "details": details (taken; NULL: null)}. */
void od_api_reply_error(od_httpd_resp_t *resp, int status, const char *code, const char *msg,
                        json_t *details);
/* 503 SERVICE_UNAVAILABLE with Retry-After. */
void od_api_reply_unavailable(od_httpd_resp_t *resp, const char *msg);
/* The HTTP status of a rejection code on the native routes. */
int od_api_reject_status(od_reject_t r);

/* ---- per-key rate limit (ratelimit.c) ---- */

typedef struct od_api_limiter od_api_limiter_t;
/* A token bucket per key of `rate` requests a second (burst: one second's
 * worth); rate <= 0: unlimited (NULL is returned and allows everything). */
od_api_limiter_t *od_api_limiter_new(double rate);
void od_api_limiter_destroy(od_api_limiter_t *l);
/* Takes a token from the bucket of the key whose SHA-256 hex is `hash`:
 * 0 if allowed, else the whole seconds until a token is there (>= 1). */
int od_api_limiter_take(od_api_limiter_t *l, const char *hash);

/* ---- requests to produce (submit.c): one validator, many routes ---- */

/* One call request on its way: built by a route (native body, a seed's
 * body translated, an item of a batch), checked, produced. */
typedef struct {
    json_t *request; /* the native request with org_id and request_id (owned) */
    char *text;      /* its bytes as produced (owned) */
    char call_id[OD_UUID_STRLEN];
    char request_id[130];
    char from_number[32]; /* resolved: the request's or the agent's default */
    int status;           /* 0: accepted so far; else the refusal's native HTTP status */
    od_reject_t reject;   /* the refusal's rejection code, if it is one */
    const char *code;     /* the refusal's code */
    char error[256];
} od_api_item_t;

/* Sets item->request (taken) and item->status 0. */
void od_api_item_init(od_api_item_t *item, json_t *request);
/* Refuses the item (before or after od_api_items_check). */
void od_api_item_refuse(od_api_item_t *item, int status, const char *code, const char *msg);
void od_api_item_clear(od_api_item_t *item);

/* Checks the items not refused yet with intake's own validator
 * (od_request_parse on the exact bytes to produce, od_request_resolve
 * against the org's provisioning now) and the credit check (402), with one
 * database connection. OD_OK, or OD_ERR_DB (answer 503: nothing checked). */
int od_api_items_check(od_api_t *api, const char *org, od_api_item_t *items, int n);

/* The credit check of admission on one resolved request: sets
 * r->reject to INSUFFICIENT_BALANCE when the call's hold is above all the
 * org could ever have (docs/admission.md). OD_OK or the database's error. */
int od_api_credit_check(od_db_t *db, od_request_t *r);

/* Produces every item still accepted, all at once, and waits (up to
 * conf->kafka_wait_ms in all) for each acknowledgement; an item the broker
 * did not acknowledge is refused 503 SERVICE_UNAVAILABLE. Acknowledged ones
 * are remembered as accepted (od_api_recent_add). */
void od_api_items_produce(od_api_t *api, od_api_item_t *items, int n);

/* The request_id of a request whose body has none: the Idempotency-Key
 * header, with ":INDEX" appended for the items of a batch (index >= 0), or
 * else a new UUID. */
void od_api_default_request_id(const od_httpd_req_t *req, int index, char *out, size_t cap);

/* The body as a JSON object, or NULL after answering 400. */
json_t *od_api_parse_body(const od_httpd_req_t *req, od_httpd_resp_t *resp);

/* ---- the other routes ---- */

void od_api_list_calls(od_api_t *api, const od_httpd_req_t *req, od_httpd_resp_t *resp,
                       const char *org); /* list.c */
void od_api_call_events(od_api_t *api, const char *call_id, const char *org,
                        od_httpd_resp_t *resp); /* list.c */
void od_api_batch(od_api_t *api, const od_httpd_req_t *req, od_httpd_resp_t *resp,
                  const char *org); /* batch.c */
void od_api_krosai(od_api_t *api, const od_httpd_req_t *req, od_httpd_resp_t *resp,
                   const char *org); /* seeds.c */
void od_api_pathors(od_api_t *api, const od_httpd_req_t *req, od_httpd_resp_t *resp,
                    const char *org); /* seeds.c */
void od_api_cartesia(od_api_t *api, const od_httpd_req_t *req, od_httpd_resp_t *resp,
                     const char *org); /* seeds.c */

#endif
