/* Repositories: the statements outdial runs, one function each, over an
 * od_db_t. JSON goes in and out as text or jansson values; no libpq type
 * crosses this header. */
#ifndef OD_DB_REPO_H
#define OD_DB_REPO_H

#include "db/db.h"

#include <jansson.h>
#include <stdint.h>

/* ---- intake ---- */

/* The columns of an intake batch, each a PostgreSQL array literal with one
 * element per request (see od_intake() in schemas/sql). */
enum {
    OD_IN_CALL_ID,
    OD_IN_ORG_ID,
    OD_IN_REQUEST_ID,
    OD_IN_AGENT_ID,
    OD_IN_FROM,
    OD_IN_TO,
    OD_IN_STATUS,
    OD_IN_ERROR_CODE,
    OD_IN_ERROR_MESSAGE,
    OD_IN_REQUEST, /* JSON text */
    OD_IN_SOURCE,
    OD_IN_NOT_BEFORE, /* RFC 3339 */
    OD_IN_EXPIRES_AT,
    OD_IN_EVENT_ID,
    OD_IN_OCCURRED_AT,
    OD_IN_EVENT, /* JSON text: the body published */
    OD_IN_MAX_DURATION,
    OD_IN_RINGING_TIMEOUT,
    /* Not per request but per partition: the offsets the call covers, one
     * range per partition (topic, partition, first, last), recorded in the
     * same transaction for `outdialctl audit` (intake_ranges). */
    OD_IN_RANGE_TOPIC,
    OD_IN_RANGE_PARTITION,
    OD_IN_RANGE_FIRST,
    OD_IN_RANGE_LAST,
    OD_IN_NCOLS
};

/* Stores a batch of calls with their first events. *inserted gets the
 * number of new calls (the rest were already stored). OD_ERR_DB is
 * retriable; OD_ERR_INVALID means a row was refused by the database. */
int od_repo_intake(od_db_t *db, const char *const cols[OD_IN_NCOLS], int *inserted) OD_MUSTCHECK;

/* The same in two halves, so the caller can prepare the next batch while
 * the database works: send (cols may be freed on return), then recv the
 * outcome. Nothing else may use `db` in between. */
int od_repo_intake_send(od_db_t *db, const char *const cols[OD_IN_NCOLS]) OD_MUSTCHECK;
int od_repo_intake_recv(od_db_t *db, int *inserted) OD_MUSTCHECK;

/* Merges the offset ranges intake recorded that overlap or touch, so the
 * record stays small; *rows gets the rows left (-1: another merge ran). */
int od_repo_intake_ranges_merge(od_db_t *db, int *rows) OD_MUSTCHECK;

/* ---- provisioning ---- */

/* Loads the snapshot that request validation reads (see od_request_resolve)
 * into *out (caller owns), and its version. */
int od_repo_provisioning_load(od_db_t *db, json_t **out, long *version) OD_MUSTCHECK;

/* The same snapshot restricted to one org (no org: {"orgs":{}}), for a
 * check of one request against the database as it is now (outdial-api). */
int od_repo_provisioning_load_org(od_db_t *db, const char *org_id, json_t **out) OD_MUSTCHECK;

/* Validates and upserts a provisioning file in one transaction; on any
 * problem nothing changes and errstr holds "path: reason". *changes gets
 * the number of rows inserted or changed (0 when re-applying). */
int od_repo_provisioning_apply(od_db_t *db, const json_t *doc, int *changes, char *errstr,
                               size_t errstr_size) OD_MUSTCHECK;

/* ---- admission ---- */

/* Admits up to `max` queued calls (od_admit in schemas/sql); *n gets how
 * many. Also ends queued calls past expires_at. */
int od_repo_admit(od_db_t *db, int max, int *n) OD_MUSTCHECK;

/* Ends calls whose dialer has been silent for `silence_s` seconds before
 * the time up to which the reports topic has been read (DIALER_LOST); *n
 * gets how many. */
int od_repo_reap(od_db_t *db, const char *topic, int silence_s, int max, int *n) OD_MUSTCHECK;

/* Adds the credit and slots settlement has freed to orgs that no
 * admission round is serving (od_fold_all); *n gets how many orgs. */
int od_repo_fold_orgs(od_db_t *db, int *n) OD_MUSTCHECK;

/* For the scheduler's gauges: calls queued and live per plan (`plan` is
 * called once per plan that has any), the outbox's rows and the age in
 * seconds of its oldest event (0 if none). */
int od_repo_gauges(od_db_t *db, void (*plan)(const char *plan, long queued, long live, void *ctx),
                   long *outbox_rows, double *outbox_age_s, void *ctx) OD_MUSTCHECK;

/* Applies a batch of dialer messages, `reports` a PostgreSQL array literal
 * of JSON texts, in order. *applied gets how many changed a call; each
 * malformed one is passed to `skipped` with the database's reason. */
int od_repo_reports(od_db_t *db, const char *reports, int *applied,
                    void (*skipped)(const char *why, void *ctx), void *ctx) OD_MUSTCHECK;

/* Records that every report produced before through_ms[i] (ms since the
 * epoch) in partition parts[i] of `topic` (of `partitions`) is applied. */
int od_repo_report_progress(od_db_t *db, const char *topic, int partitions, int n,
                            const int32_t *parts, const int64_t *through_ms) OD_MUSTCHECK;

/* Cancels (org_id, request_id): *outcome gets "canceled" (it was queued),
 * "requested" (handed to its dialer), "ended" or "unknown". */
int od_repo_cancel(od_db_t *db, const char *org_id, const char *request_id, char *outcome,
                   size_t outcome_size) OD_MUSTCHECK;

/* ---- audit ---- */

/* One invariant: a query returning (violations, sample). */
typedef struct {
    const char *name, *sql;
} od_audit_check_t;

/* The invariants `outdialctl audit` checks (the last one, "every request
 * has ended", only matters once a run is over). */
const od_audit_check_t *od_audit_checks(int *n);

int od_repo_audit_run(od_db_t *db, const od_audit_check_t *check, long *violations, char *sample,
                      size_t sample_size) OD_MUSTCHECK;

/* ---- outbox ---- */

/* One message to publish: an event (kind "event", for the events topic) or
 * dial work (kind "dial"). event_id, type and time are NULL for dial work. */
typedef struct {
    int64_t id;
    const char *kind, *call_id, *event_id, *type, *time, *body;
} od_outbox_row_t;

/* Reads up to `limit` oldest unpublished events and calls fn for each, in
 * order. Returns the count or an error. */
int od_repo_outbox_read(od_db_t *db, int limit, void (*fn)(const od_outbox_row_t *row, void *ctx),
                        void *ctx);

/* Deletes published outbox rows, queueing the webhook deliveries of the
 * events among them (od_outbox_done). */
int od_repo_outbox_done(od_db_t *db, const int64_t *ids, int n) OD_MUSTCHECK;

/* ---- calls ---- */

/* The call (by call_id, or by org_id and request_id when call_id is NULL)
 * as a JSON object with its "events" array in seq order and "webhooks"
 * (null if none were queued: status, counts, last error, "deliveries" by
 * seq); *out NULL if there is no such call. */
int od_repo_call_show(od_db_t *db, const char *call_id, const char *org_id, const char *request_id,
                      json_t **out) OD_MUSTCHECK;

/* The call `call_id` as the HTTP API shows it (docs/api.md), if it
 * belongs to `org_id`; *out NULL if there is no such call of that org
 * (another org's call is not told apart from none). */
int od_repo_api_call_get(od_db_t *db, const char *call_id, const char *org_id,
                         json_t **out) OD_MUSTCHECK;

/* Filters of a page of an org's calls (GET /v1/calls); NULL: not given.
 * Strings are passed to PostgreSQL as they are: the caller has checked
 * them (statuses known, times RFC 3339, the cursor's call_id a UUID). */
typedef struct {
    const char *org_id;
    const char *status; /* comma-separated statuses */
    const char *to_number, *agent_id;
    const char *created_after, *created_before;   /* [after, before), RFC 3339 */
    const char *meta_key, *meta_value;            /* metadata->>key = value */
    const char *after_created_us, *after_call_id; /* the cursor: calls older than these */
    int limit;
} od_repo_call_filter_t;

/* Up to f->limit calls of f->org_id matching f, newest first (created_at,
 * then call_id, descending), into *calls (a JSON array of calls as
 * od_repo_api_call_get shows them); *more 1 if more calls match; the last one's created_at
 * (microseconds since the epoch) and call_id into last_created_us and last_call_id ("" when none),
 * for the next page's cursor. */
int od_repo_api_calls_list(od_db_t *db, const od_repo_call_filter_t *f, json_t **calls, int *more,
                           char *last_created_us, size_t last_created_us_size,
                           char last_call_id[37]) OD_MUSTCHECK;

/* The events of the call `call_id` of `org_id` (a JSON array of the bodies
 * published, in seq order) into *out; NULL if there is no such call of
 * that org. */
int od_repo_api_call_events(od_db_t *db, const char *call_id, const char *org_id,
                            json_t **out) OD_MUSTCHECK;

/* The credit hold a call of org_id to to_number of max_duration_s would
 * take, computed as admission computes it (od_admit), into *hold (-1: no
 * rate for that destination), and what the org could ever cover (its
 * balance plus what it holds, settled releases counted) into *credit (-1:
 * no such org). */
int od_repo_api_credit(od_db_t *db, const char *org_id, const char *to_number, int max_duration_s,
                       long long *hold, long long *credit) OD_MUSTCHECK;

/* ---- API keys (schemas/sql/011_api_keys.sql) ---- */

/* Stores a key of `org_id` by its SHA-256 hex `hash`; `id` gets the key's
 * id (a UUID). OD_ERR_NOT_FOUND if there is no such org. */
int od_repo_api_key_create(od_db_t *db, const char *org_id, const char *name, const char *hash,
                           char id[37]) OD_MUSTCHECK;

/* The keys (of one org, or all when org_id is NULL) as a JSON array of
 * {id, org_id, name, created_at, revoked_at}, oldest first. */
int od_repo_api_keys_list(od_db_t *db, const char *org_id, json_t **out) OD_MUSTCHECK;

/* Revokes a key by id (revoking twice keeps the first time).
 * OD_ERR_NOT_FOUND if there is no such key. */
int od_repo_api_key_revoke(od_db_t *db, const char *id) OD_MUSTCHECK;

/* The unrevoked key whose hash is `hash`: its org into org_id and the
 * stored hash into stored (for a constant-time comparison by the caller).
 * OD_ERR_NOT_FOUND if none. */
int od_repo_api_key_find(od_db_t *db, const char *hash, char *org_id, size_t org_id_size,
                         char stored[65]) OD_MUSTCHECK;

/* ---- stats ---- */

/* Figures over the calls received in [since, until) (RFC 3339 strings;
 * NULL: unbounded), of one org or all (org_id NULL), as the JSON document
 * `outdialctl stats --json` prints (docs/stats.md). */
int od_repo_stats(od_db_t *db, const char *org_id, const char *since, const char *until,
                  json_t **out) OD_MUSTCHECK;

/* ---- webhooks (schemas/sql/005_webhooks.sql) ---- */

/* One claimed delivery: strings valid until od_repo_webhook_claim's
 * callback returns. */
typedef struct {
    long long id;
    const char *url, *event_id, *body, *secret, *org_id;
    int attempts;
    const char *secret_previous; /* "" if none; signed with too while rotating */
} od_webhook_row_t;

/* Claims up to max due deliveries (each the first undelivered event of its
 * call; at most per_org per org counting `busy`, "org=n" strings of what is
 * in flight), leased for lease_s; fn is called for each. Returns OD_OK or
 * OD_ERR_DB. */
int od_repo_webhook_claim(od_db_t *db, int max, int per_org, const char *busy_pg_array, int lease_s,
                          void (*fn)(const od_webhook_row_t *, void *), void *ctx) OD_MUSTCHECK;

/* Records an attempt: outcome "delivered", "failed" or "retry" (due again
 * in retry_ms unless give_up_s has passed since the first attempt). */
int od_repo_webhook_result(od_db_t *db, long long id, const char *outcome, int http_status,
                           const char *error, long retry_ms, long give_up_s) OD_MUSTCHECK;

#endif
