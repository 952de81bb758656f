/* A message from `calls.requests`: parsed, checked field by field against the
 * public contract (schemas/request.schema.json), then checked against the
 * provisioned orgs, numbers and agents. Pure: no I/O.
 *
 * Two kinds of message share the topic: a call request, and a cancel
 * ({"action":"cancel","org_id":..,"request_id":..}). */
#ifndef OD_DOMAIN_REQUEST_H
#define OD_DOMAIN_REQUEST_H

#include "core/id.h"
#include "domain/reject.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define OD_REQUEST_MAX_BYTES (256 * 1024)
#define OD_RINGING_TIMEOUT_DEFAULT 60
#define OD_MAX_DURATION_CEILING 14400
#define OD_AGENT_MAX_DURATION_DEFAULT 3600

/* not_before/expires_at not given (any instant, 1970-01-01T00:00:00Z
 * included, is a time given). */
#define OD_TIME_ABSENT INT64_MIN

typedef enum { OD_MSG_REQUEST, OD_MSG_CANCEL } od_msg_kind_t;

typedef struct {
    od_msg_kind_t kind;
    json_t *root; /* owned; the fields below borrow from it */
    const char *request_id, *org_id, *agent_id, *to_number, *from_number;
    int ringing_timeout_s;                /* defaulted by od_request_parse */
    int max_duration_s;                   /* 0 until od_request_resolve sets it */
    int64_t not_before_ms, expires_at_ms; /* OD_TIME_ABSENT when absent */
    json_t *metadata;                     /* borrowed, may be NULL */
    od_reject_t reject;                   /* OD_REJ_NONE if accepted so far */
    char error[256];                      /* why, when reject is set */
} od_request_t;

/* Parses and checks one message value. Always fills `req` (call
 * od_request_clear after): on a bad message req->reject and req->error say
 * why, and whatever identity fields could be read (org_id, request_id, ...)
 * are still set so the rejection can name them. */
void od_request_parse(od_request_t *req, const char *buf, size_t len);

/* Checks an accepted request against the provisioning snapshot `prov`
 * ({"orgs":{ID:{"numbers":{E164:{"outbound_enabled":..}},"agents":{ID:
 * {"default_from":..,"max_duration_seconds":..}}}}}): org, agent, caller ID
 * ownership and outbound flag; fills the defaults (from_number,
 * max_duration_s) into req. A defaulted from_number borrows from `prov`,
 * which must outlive req. Sets req->reject on failure. */
void od_request_resolve(od_request_t *req, const json_t *prov);

/* The call_id of the request (org_id, request_id): a name-based UUID,
 * version 5 (RFC 9562: SHA-1), in the namespace OD_CALL_ID_NAMESPACE, of
 * the name org_id, one NUL byte, request_id (UTF-8). Neither id can hold a
 * control character (od_request_parse refuses them), so the name is
 * unambiguous. The same request has the same call_id whichever way it
 * arrived (Kafka or HTTP), so the HTTP API can answer it before the call
 * is stored (docs/requests.md, "call_id"). */
#define OD_CALL_ID_NAMESPACE "6f403f91-02ae-4c8f-88c5-83d2d9b9860a"
void od_request_call_id(const char *org_id, const char *request_id, char out[OD_UUID_STRLEN]);

/* Frees what od_request_parse allocated; safe on a zeroed struct. */
void od_request_clear(od_request_t *req);

#endif
