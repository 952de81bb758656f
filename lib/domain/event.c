/* Event body encoding (see event.h). */
#include "domain/event.h"
#include "core/clock.h"

#include <stdio.h>
#include <stdlib.h>
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

/* Writers of one "key":value member; each is skipped when unknown. */
static void key(od_buf_t *b, const char *k) {
    if (b->data[b->len - 1] != '{') od_buf_putc(b, ',');
    od_buf_json_str(b, k);
    od_buf_putc(b, ':');
}

static void put_str(od_buf_t *b, const char *k, const char *v) {
    if (!v) return;
    key(b, k);
    od_buf_json_str(b, v);
}

static void put_time(od_buf_t *b, const char *k, int64_t ms) {
    if (!ms) return;
    char buf[40];
    od_clock_format_rfc3339(ms, buf, sizeof buf);
    key(b, k);
    od_buf_json_str(b, buf);
}

static void put_num(od_buf_t *b, const char *k, long v) {
    if (v < 0) return;
    key(b, k);
    od_buf_printf(b, "%ld", v);
}

static void put_json(od_buf_t *b, const char *k, const json_t *v) {
    if (!v) return;
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) return;
    key(b, k);
    od_buf_puts(b, text);
    free(text);
}

void od_event_write(const od_event_t *e, od_buf_t *b) {
    char type[64];
    od_event_type(e->status, type, sizeof type);
    od_buf_putc(b, '{');
    put_str(b, "event_id", e->event_id);
    put_str(b, "type", type);
    put_str(b, "call_id", e->call_id);
    put_str(b, "request_id", e->request_id);
    put_str(b, "org_id", e->org_id);
    put_str(b, "agent_id", e->agent_id);
    put_str(b, "from_number", e->from_number);
    put_str(b, "to_number", e->to_number);
    put_str(b, "status", e->status);
    put_num(b, "seq", e->seq);
    put_time(b, "occurred_at", e->occurred_at_ms);
    if (e->attempt > 0) put_num(b, "attempt", e->attempt);
    put_str(b, "error_code", e->error_code);
    put_str(b, "error_message", e->error_message);
    if (e->sip_status > 0) put_num(b, "sip_status", e->sip_status);
    put_str(b, "sip_reason", e->sip_reason);
    put_str(b, "hangup_by", e->hangup_by);
    put_time(b, "ringing_at", e->ringing_at_ms);
    put_time(b, "answered_at", e->answered_at_ms);
    put_time(b, "ended_at", e->ended_at_ms);
    put_num(b, "duration_seconds", e->duration_seconds);
    put_num(b, "billable_seconds", e->billable_seconds);
    put_num(b, "cost_millicents", e->cost_millicents);
    put_str(b, "credit_status", e->credit_status);
    put_json(b, "metadata", e->metadata);
    put_json(b, "source", e->source);
    od_buf_putc(b, '}');
}
