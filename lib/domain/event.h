/* Lifecycle events: the body published on `calls.events` (schemas/
 * event.schema.json, docs/events.md). Pure: builds JSON, does no I/O. */
#ifndef OD_DOMAIN_EVENT_H
#define OD_DOMAIN_EVENT_H

#include "core/buf.h"

#include <jansson.h>
#include <stdint.h>

#define OD_CE_SPECVERSION "1.0"
#define OD_CE_CONTENT_TYPE "application/json"

/* Every field the contract names. Unknown values are NULL strings, 0 times
 * and -1 numbers, and are left out of the body. */
typedef struct {
    const char *event_id, *call_id, *request_id, *org_id, *agent_id;
    const char *from_number, *to_number, *status;
    int seq;
    int64_t occurred_at_ms;
    int attempt; /* 0 = none yet */
    const char *error_code, *error_message;
    int sip_status; /* 0 = none */
    const char *sip_reason, *hangup_by;
    int64_t ringing_at_ms, answered_at_ms, ended_at_ms;
    long duration_seconds, billable_seconds, cost_millicents; /* -1 = unknown */
    const char *credit_status;                                /* reserved|settled|released */
    const json_t *metadata;                                   /* echoed; borrowed */
    const json_t *source; /* {"topic","partition","offset"} of a rejected message */
} od_event_t;

/* Sets the "unknown" values (-1, NULL, 0) in `e`. */
void od_event_init(od_event_t *e);

/* Appends the event body as compact JSON text to `out`, with `type` =
 * "call.<status>" and the fields in the order of docs/events.md. */
void od_event_write(const od_event_t *e, od_buf_t *out);

/* Writes "call.<status>" into out. */
void od_event_type(const char *status, char *out, size_t cap);

/* 1 if `status` ends a call (completed, no_answer, busy, failed, canceled,
 * rejected, expired). */
int od_status_is_terminal(const char *status);

#endif
