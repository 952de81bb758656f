/* One call, third-party call control (RFC 3725 flow I): INVITE the callee
 * without SDP; its 200 carries the offer; INVITE the agent with that offer;
 * on the agent's 200, ACK the agent, then ACK the callee with the agent's
 * answer. One timer per call guards each phase in turn: the ring timeout,
 * the agent's answer, the maximum duration the credit hold covers. */
#include "core/clock.h"
#include "core/log.h"
#include "dialer/dialer_int.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_DURATION_MARGIN_MS 250
#include <string.h>

static void set_time(json_t *o, const char *k, int64_t ms) {
    char buf[40];
    od_clock_format_rfc3339(ms, buf, sizeof buf);
    json_object_set_new(o, k, json_string(buf));
}

static json_t *report(const od_call_t *c, const char *type) {
    json_t *r = json_pack("{s:s,s:s,s:i,s:s}", "type", type, "call_id", c->w.call_id, "attempt",
                          c->w.attempt, "dialer_id", od_dialer_conf(c->d)->dialer_id);
    set_time(r, "at", od_clock_now_ms());
    return r;
}

static void report_status(od_call_t *c, const char *type, int status, const char *phrase) {
    json_t *r = report(c, type);
    if (status) json_object_set_new(r, "sip_status", json_integer(status));
    if (phrase && *phrase) json_object_set_new(r, "sip_reason", json_string(phrase));
    if (c->answered_ms) set_time(r, "answered_at", c->answered_ms);
    od_dialer_report(c->d, c, r);
}

static void maybe_done(od_call_t *c) {
    if (c->state == CALL_ENDED && !c->callee && !c->agent) od_dialer_call_done(c->d, c);
}

/* Reports the outcome once and lets the legs go. */
static void end(od_call_t *c, const char *outcome, int status, const char *phrase,
                const char *hangup_by, const char *error_code, const char *error_message) {
    if (c->state == CALL_ENDED) return;
    c->state = CALL_ENDED;
    od_sip_timer_stop(c->timer);
    json_t *r = report(c, "ended");
    json_object_set_new(r, "outcome", json_string(outcome));
    if (status) json_object_set_new(r, "sip_status", json_integer(status));
    if (phrase && *phrase) json_object_set_new(r, "sip_reason", json_string(phrase));
    if (hangup_by) json_object_set_new(r, "hangup_by", json_string(hangup_by));
    if (error_code) json_object_set_new(r, "error_code", json_string(error_code));
    if (error_message) json_object_set_new(r, "error_message", json_string(error_message));
    if (c->ringing_ms) set_time(r, "ringing_at", c->ringing_ms);
    if (c->answered_ms) set_time(r, "answered_at", c->answered_ms);
    set_time(r, "ended_at", od_clock_now_ms());
    od_dialer_report(c->d, c, r);
    if (c->callee) od_leg_hangup(c->callee);
    if (c->agent) od_leg_hangup(c->agent);
    maybe_done(c);
}

/* The callee's INVITE ended without an answer: an honest outcome from
 * the status (docs/events.md, "SIP statuses"). */
static void callee_failed(od_call_t *c, const od_leg_event_t *ev) {
    char why[160];
    if (c->canceling) {
        end(c, "canceled", ev->status, ev->phrase, "system", NULL, "canceled while ringing");
    } else if (c->ring_timed_out) {
        snprintf(why, sizeof why, "no answer within %d s", c->w.ringing_timeout_s);
        end(c, "no_answer", ev->status, ev->phrase, "system", NULL, why);
    } else if (ev->auth_failed) {
        snprintf(why, sizeof why, "the trunk's %d challenge was not met with its credentials",
                 ev->status);
        end(c, "failed", ev->status, ev->phrase, "carrier", "AUTH_FAILED", why);
    } else if (ev->status == 486 || ev->status == 600) {
        end(c, "busy", ev->status, ev->phrase, "callee", NULL, NULL);
    } else if (ev->status == 603) {
        end(c, "failed", ev->status, ev->phrase, "callee", "DECLINED", "the callee declined");
    } else if (ev->status == 408 || ev->status >= 900) {
        snprintf(why, sizeof why, "no response from the trunk (%d %s)", ev->status, ev->phrase);
        end(c, "failed", ev->status, ev->phrase, "carrier", "CARRIER_UNREACHABLE", why);
    } else {
        snprintf(why, sizeof why, "the carrier answered %d %s", ev->status, ev->phrase);
        end(c, "failed", ev->status, ev->phrase, "carrier", "CARRIER_REJECTED", why);
    }
}

static void replace(char **slot, const char *sdp, size_t n) {
    free(*slot);
    *slot = sdp ? strndup(sdp, n) : NULL;
}

static void on_max_duration(void *arg) {
    od_call_t *c = arg;
    char why[96];
    snprintf(why, sizeof why, "max duration of %d s reached", c->w.max_duration_s);
    end(c, "completed", 0, NULL, "system", NULL, why);
}

static void on_agent_timeout(void *arg) {
    od_call_t *c = arg;
    char why[96];
    snprintf(why, sizeof why, "the agent did not answer within %ld ms",
             od_dialer_conf(c->d)->agent_answer_ms);
    end(c, "failed", 0, NULL, "system", "AGENT_NO_ANSWER", why);
}

static void on_ring_timeout(void *arg) {
    od_call_t *c = arg;
    c->ring_timed_out = 1;
    if (c->callee) od_leg_hangup(c->callee); /* CANCEL; 487 follows */
}

/* A re-INVITE from one leg goes to the other; its answer comes back. */
static void relay_offer(od_call_t *c, od_leg_t *from, const od_leg_event_t *ev) {
    od_leg_t *to = from == c->callee ? c->agent : c->callee;
    if (c->state != CALL_UP || !to) {
        od_leg_respond(from, 491, "Request Pending", NULL);
        return;
    }
    if (!ev->sdp) { /* a refresh without an offer: answer with what it has */
        od_leg_respond(from, 200, "OK", from == c->callee ? c->sdp_to_callee : c->sdp_to_agent);
        return;
    }
    c->reoffer_from = from;
    replace(from == c->callee ? &c->sdp_to_agent : &c->sdp_to_callee, ev->sdp, ev->sdp_len);
    od_leg_reinvite(to, from == c->callee ? c->sdp_to_agent : c->sdp_to_callee);
}

static void relay_answer(od_call_t *c, od_leg_t *to, const od_leg_event_t *ev) {
    od_leg_t *from = c->reoffer_from;
    c->reoffer_from = NULL;
    if (!from || c->state != CALL_UP) return;
    if (ev->status >= 300 || !ev->sdp) {
        od_leg_respond(from, ev->status >= 300 ? ev->status : 488,
                       ev->status >= 300 ? ev->phrase : "Not Acceptable Here", NULL);
        return;
    }
    replace(to == c->callee ? &c->sdp_to_agent : &c->sdp_to_callee, ev->sdp, ev->sdp_len);
    od_leg_respond(from, 200, "OK", to == c->callee ? c->sdp_to_agent : c->sdp_to_callee);
}

static void on_agent(od_leg_t *leg, void *owner, const od_leg_event_t *ev) {
    od_call_t *c = owner;
    char why[160];
    switch (ev->type) {
    case OD_LEG_ANSWERED:
        if (c->state != CALL_AGENT) {
            od_leg_hangup(leg);
            return;
        }
        if (!ev->sdp) {
            end(c, "failed", ev->status, ev->phrase, "system", "AGENT_FAILED",
                "the agent answered without SDP");
            return;
        }
        replace(&c->sdp_to_callee, ev->sdp, ev->sdp_len);
        od_leg_ack(leg, NULL);
        od_leg_ack(c->callee, c->sdp_to_callee);
        c->state = CALL_UP;
        report_status(c, "bridged", ev->status, ev->phrase);
        {
            /* BYE a little before the limit, so that the duration billed
             * (rounded up) stays within what the hold covers */
            int64_t left = (int64_t)c->w.max_duration_s * 1000 - MAX_DURATION_MARGIN_MS -
                           (od_clock_now_ms() - c->answered_ms);
            od_sip_timer_set(c->timer, left > 0 ? (long)left : 1, on_max_duration, c);
        }
        return;
    case OD_LEG_FAILED:
        snprintf(why, sizeof why, "the agent answered %d %s", ev->status, ev->phrase);
        end(c, "failed", ev->status, ev->phrase, "system", "AGENT_FAILED", why);
        return;
    case OD_LEG_BYE: end(c, "completed", 0, NULL, "agent", NULL, NULL); return;
    case OD_LEG_REOFFER: relay_offer(c, leg, ev); return;
    case OD_LEG_REANSWER: relay_answer(c, leg, ev); return;
    case OD_LEG_GONE:
        c->agent = NULL;
        if (c->state != CALL_ENDED)
            end(c, "failed", 0, NULL, "system", "AGENT_FAILED", "the agent leg ended");
        maybe_done(c);
        return;
    case OD_LEG_PROVISIONAL: return;
    }
}

static void on_callee(od_leg_t *leg, void *owner, const od_leg_event_t *ev) {
    od_call_t *c = owner;
    switch (ev->type) {
    case OD_LEG_PROVISIONAL:
        if (!c->ringing_ms && c->state == CALL_DIALING) {
            c->ringing_ms = od_clock_now_ms();
            report_status(c, "ringing", ev->status, ev->phrase);
        }
        return;
    case OD_LEG_ANSWERED: {
        if (c->state != CALL_DIALING) { /* ended meanwhile: confirm, then BYE */
            od_leg_hangup(leg);
            return;
        }
        c->answered_ms = od_clock_now_ms();
        od_sip_timer_stop(c->timer);
        if (!ev->sdp) {
            end(c, "failed", ev->status, ev->phrase, "system", "NO_SDP_OFFER",
                "the callee's 200 carried no SDP offer to bridge");
            return;
        }
        report_status(c, "answered", ev->status, ev->phrase);
        replace(&c->sdp_to_agent, ev->sdp, ev->sdp_len);
        od_leg_invite_t inv = {.to = c->w.agent_uri,
                               .from = c->w.to, /* the agent sees whom it talks to */
                               .sdp = c->sdp_to_agent,
                               .headers = c->w.headers};
        c->state = CALL_AGENT;
        c->agent = od_leg_invite(od_dialer_sip(c->d), &inv, on_agent, c);
        if (!c->agent) {
            end(c, "failed", 0, NULL, "system", "AGENT_FAILED", "bad agent_sip_uri");
            return;
        }
        od_sip_timer_set(c->timer, od_dialer_conf(c->d)->agent_answer_ms, on_agent_timeout, c);
        return;
    }
    case OD_LEG_FAILED: callee_failed(c, ev); return;
    case OD_LEG_BYE: end(c, "completed", 0, NULL, "callee", NULL, NULL); return;
    case OD_LEG_REOFFER: relay_offer(c, leg, ev); return;
    case OD_LEG_REANSWER: relay_answer(c, leg, ev); return;
    case OD_LEG_GONE:
        c->callee = NULL;
        if (c->state != CALL_ENDED) { /* e.g. a 2xx crossed our CANCEL */
            od_leg_event_t failed = {OD_LEG_FAILED, 487, "Request Terminated", NULL, 0, 0};
            callee_failed(c, &failed);
        }
        maybe_done(c);
        return;
    }
}

void od_call_start(od_call_t *c) {
    od_leg_invite_t inv = {.to = c->w.to,
                           .from = c->w.from,
                           .proxy = c->w.proxy,
                           .username = c->w.username,
                           .password = c->w.password};
    c->state = CALL_DIALING;
    c->timer = od_sip_timer_new(od_dialer_sip(c->d));
    c->callee = c->timer ? od_leg_invite(od_dialer_sip(c->d), &inv, on_callee, c) : NULL;
    if (!c->callee) {
        od_call_end_unplaced(c, "failed", "CARRIER_REJECTED", "the trunk's URI is not usable");
        return;
    }
    od_sip_timer_set(c->timer, c->w.ringing_timeout_s * 1000L, on_ring_timeout, c);
}

void od_call_cancel(od_call_t *c) {
    switch (c->state) {
    case CALL_QUEUED:
        od_call_end_unplaced(c, "canceled", NULL, "canceled before it was dialed");
        return;
    case CALL_DIALING:
        c->canceling = 1;
        od_leg_hangup(c->callee); /* CANCEL; 487 follows */
        return;
    case CALL_AGENT:
    case CALL_UP: end(c, "canceled", 0, NULL, "system", NULL, "canceled while up"); return;
    case CALL_ENDED: return;
    }
}

void od_call_abort(od_call_t *c, const char *error_code, const char *why) {
    if (c->state == CALL_QUEUED) {
        od_call_end_unplaced(c, "failed", error_code, why);
    } else if (c->state == CALL_UP) {
        end(c, "completed", 0, NULL, "system", NULL, why);
    } else {
        end(c, "failed", 0, NULL, "system", error_code, why);
    }
}

void od_call_end_unplaced(od_call_t *c, const char *outcome, const char *error_code,
                          const char *why) {
    end(c, outcome, 0, NULL, NULL, error_code, why);
}
