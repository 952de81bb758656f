/* Event body encoding (see event.h). */
#include "domain/event.h"
#include "core/clock.h"

#include <stdio.h>
#include <string.h>

void od_event_init(od_event_t *e) {
    memset(e, 0, sizeof *e);
    e->duration_seconds = e->billable_seconds = e->cost_millicents = -1;
}

void od_event_type(const char *status, char *out, size_t cap) {
    snprintf(out, cap, "call.%s", status);
}

int od_status_is_terminal(const char *s) {
    static const char *const terminal[] = {"completed", "no_answer", "busy",    "failed",
                                           "canceled",  "rejected",  "expired", NULL};
    for (const char *const *t = terminal; *t; t++)
        if (!strcmp(s, *t)) return 1;
    return 0;
}

static void set_str(json_t *o, const char *k, const char *v) {
    if (v) json_object_set_new(o, k, json_string(v));
}

static void set_time(json_t *o, const char *k, int64_t ms) {
    if (!ms) return;
    char buf[40];
    od_clock_format_rfc3339(ms, buf, sizeof buf);
    json_object_set_new(o, k, json_string(buf));
}

static void set_num(json_t *o, const char *k, long v) {
    if (v >= 0) json_object_set_new(o, k, json_integer(v));
}

json_t *od_event_encode(const od_event_t *e) {
    char type[64];
    json_t *o = json_object();
    od_event_type(e->status, type, sizeof type);
    set_str(o, "event_id", e->event_id);
    set_str(o, "type", type);
    set_str(o, "call_id", e->call_id);
    set_str(o, "request_id", e->request_id);
    set_str(o, "org_id", e->org_id);
    set_str(o, "agent_id", e->agent_id);
    set_str(o, "from_number", e->from_number);
    set_str(o, "to_number", e->to_number);
    set_str(o, "status", e->status);
    json_object_set_new(o, "seq", json_integer(e->seq));
    set_time(o, "occurred_at", e->occurred_at_ms);
    if (e->attempt > 0) set_num(o, "attempt", e->attempt);
    set_str(o, "error_code", e->error_code);
    set_str(o, "error_message", e->error_message);
    if (e->sip_status > 0) set_num(o, "sip_status", e->sip_status);
    set_str(o, "sip_reason", e->sip_reason);
    set_str(o, "hangup_by", e->hangup_by);
    set_time(o, "ringing_at", e->ringing_at_ms);
    set_time(o, "answered_at", e->answered_at_ms);
    set_time(o, "ended_at", e->ended_at_ms);
    set_num(o, "duration_seconds", e->duration_seconds);
    set_num(o, "billable_seconds", e->billable_seconds);
    set_num(o, "cost_millicents", e->cost_millicents);
    set_str(o, "credit_status", e->credit_status);
    if (e->metadata) json_object_set(o, "metadata", (json_t *)e->metadata);
    if (e->source) json_object_set(o, "source", (json_t *)e->source);
    return o;
}
