/* One call, third-party call control (RFC 3725 flow I): INVITE the callee
 * without SDP; its 200 carries the offer; INVITE the agent with that offer;
 * on the agent's 200, ACK the agent, then ACK the callee with the agent's
 * answer. One timer per call guards each phase in turn: the ring timeout,
 * the agent's answer, the maximum duration the credit hold covers.
 *
 * Ownership (dialer_int.h): the functions named on_* and od_call_* below
 * are the only ways in. Each handles its event with the static helpers,
 * which never free anything, then calls settle() as its last act: a call
 * that has reported its end and has no leg left goes back to the dialer
 * there, and nowhere else. Whatever order the network delivers events in,
 * the call is released once, and never while a helper still holds it.
 *
 * Outcomes (docs/dialer.md, "Outcomes"): a SIP status goes into a report
 * only if the far end sent it; what our own stack decided (a timeout, a
 * transport error) carries its own error code and says so in words. */
#include "core/clock.h"
#include "core/log.h"
#include "dialer/dialer_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DURATION_MARGIN_MS 250

/* The ways in from the SIP layer (defined at the end). */
static void on_callee(od_leg_t *leg, void *owner, const od_leg_event_t *ev);
static void on_agent(od_leg_t *leg, void *owner, const od_leg_event_t *ev);
static void on_max_duration(void *arg);
static void on_agent_timeout(void *arg);
static void on_ring_timeout(void *arg);

/* How a call ended, as its `ended` report says it. */
typedef struct {
    const char *outcome;
    int status; /* the far end's (0: none) */
    const char *phrase;
    const char *hangup_by;
    const char *error_code;
    const char *message;
    int q850_cause;  /* 0: none */
    int retry_after; /* -1: none */
} od_outcome_t;

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

static void report_status(od_call_t *c, const char *type, const od_leg_event_t *ev) {
    json_t *r = report(c, type);
    if (ev->status) json_object_set_new(r, "sip_status", json_integer(ev->status));
    if (ev->status && *ev->phrase) json_object_set_new(r, "sip_reason", json_string(ev->phrase));
    if (c->answered_ms) set_time(r, "answered_at", c->answered_ms);
    od_dialer_report(c->d, c, r);
}

/* The one place a call is let go (see the top of the file). */
static void settle(od_call_t *c) {
    if (c->state == CALL_ENDED && !c->callee && !c->agent && !c->redirected && !c->released) {
        c->released = 1;
        od_dialer_call_done(c->d, c);
    }
}

/* Reports the outcome once and lets the legs go. Never frees the call. */
static void end(od_call_t *c, const od_outcome_t *o) {
    if (c->state == CALL_ENDED) return;
    if (c->state == CALL_UP) od_metric_add(od_dm.calls_up, NULL, -1);
    c->state = CALL_ENDED;
    if (c->timer) od_sip_timer_stop(c->timer);
    json_t *r = report(c, "ended");
    json_object_set_new(r, "outcome", json_string(o->outcome));
    if (o->status) json_object_set_new(r, "sip_status", json_integer(o->status));
    if (o->status && o->phrase && *o->phrase)
        json_object_set_new(r, "sip_reason", json_string(o->phrase));
    if (o->hangup_by) json_object_set_new(r, "hangup_by", json_string(o->hangup_by));
    if (o->error_code) json_object_set_new(r, "error_code", json_string(o->error_code));
    if (o->message) json_object_set_new(r, "error_message", json_string(o->message));
    if (o->q850_cause > 0) json_object_set_new(r, "q850_cause", json_integer(o->q850_cause));
    if (o->retry_after >= 0)
        json_object_set_new(r, "retry_after_seconds", json_integer(o->retry_after));
    if (c->ringing_ms) set_time(r, "ringing_at", c->ringing_ms);
    if (c->answered_ms) set_time(r, "answered_at", c->answered_ms);
    set_time(r, "ended_at", od_clock_now_ms());
    od_dialer_report(c->d, c, r);
    if (c->callee) od_leg_hangup(c->callee);
    if (c->agent) od_leg_hangup(c->agent);
}

/* An end with nothing from the far end in it. */
static void end_local(od_call_t *c, const char *outcome, const char *hangup_by,
                      const char *error_code, const char *message) {
    od_outcome_t o = {outcome, 0, NULL, hangup_by, error_code, message, 0, -1};
    end(c, &o);
}

/* Q.850 causes that say the network, not the callee, lacked capacity:
 * 34 no circuit, 38 network out of order, 41 temporary failure, 42
 * switching equipment congestion, 44 channel not available, 47 resource
 * unavailable. */
static int capacity_cause(int cause) {
    return cause == 34 || cause == 38 || cause == 41 || cause == 42 || cause == 44 || cause == 47;
}

static int place_callee(od_call_t *c);

/* A 3xx on a trunk that follows redirects: the Contact's user is dialed
 * once more, through the same trunk (never to the Contact's host).
 * Returns 1 if a new callee leg is on its way. */
static int redirect(od_call_t *c, const char *contact) {
    const char *u = contact ? strchr(contact, ':') : NULL, *at = u ? strchr(u, '@') : NULL;
    const char *host = strchr(c->w.to, '@');
    if (!c->w.follow_redirects || c->redirects > 0 || !at || !host || at - u - 1 < 1 ||
        at - u - 1 > 64)
        return 0;
    char *to = malloc((size_t)(at - u) + strlen(host) + 8);
    if (!to) return 0;
    sprintf(to, "sip:%.*s%s", (int)(at - u - 1), u + 1, host);
    free(c->w.to);
    c->w.to = to;
    c->redirects++;
    c->redirected = c->callee; /* gone soon; its events are ignored */
    return place_callee(c);    /* the ring timeout goes on */
}

/* The callee's INVITE ended without an answer: an honest outcome. */
static void callee_failed(od_call_t *c, const od_leg_event_t *ev) {
    od_dialer_metric_status(od_dm.callee_class, od_dm.callee_code, ev->local ? 0 : ev->status);
    char why[320];
    od_outcome_t o = {.status = ev->status,
                      .phrase = ev->phrase,
                      .q850_cause = ev->q850_cause,
                      .retry_after = -1,
                      .message = why};
    if (ev->local) {
        if (c->canceling) {
            end_local(c, "canceled", "system", NULL, "canceled while ringing");
        } else if (c->ring_timed_out && c->ringing_ms) {
            snprintf(why, sizeof why,
                     "no answer within %d s (the carrier did not confirm the CANCEL; our SIP "
                     "stack: %d %s)",
                     c->w.ringing_timeout_s, ev->local_status, ev->local_phrase);
            end_local(c, "no_answer", "system", NULL, why);
        } else {
            snprintf(why, sizeof why, "no response from the trunk (our SIP stack: %d %s)",
                     ev->local_status, ev->local_phrase);
            end_local(c, "failed", "system", "CARRIER_UNREACHABLE", why);
        }
        return;
    }
    if (c->canceling) {
        o.outcome = "canceled", o.hangup_by = "system", o.message = "canceled while ringing";
    } else if (c->ring_timed_out) {
        snprintf(why, sizeof why, "no answer within %d s", c->w.ringing_timeout_s);
        o.outcome = "no_answer", o.hangup_by = "system";
    } else if (ev->auth_failed) {
        snprintf(why, sizeof why,
                 "the carrier's %d challenge was not met with the trunk's credentials", ev->status);
        o.outcome = "failed", o.hangup_by = "carrier", o.error_code = "AUTH_FAILED";
    } else if (ev->status == 486 || ev->status == 600) {
        o.outcome = "busy", o.hangup_by = "callee", o.message = NULL;
    } else if (ev->status == 603) {
        o.outcome = "failed", o.hangup_by = "callee", o.error_code = "DECLINED";
        o.message = "the callee declined";
    } else if (ev->status >= 300 && ev->status < 400) {
        if (redirect(c, ev->contact)) return;
        snprintf(why, sizeof why, "the carrier redirected the call to %s; %s",
                 ev->contact ? ev->contact : "(no Contact)",
                 c->w.follow_redirects ? "one redirect is followed at most"
                                       : "the trunk does not follow redirects");
        o.outcome = "failed", o.hangup_by = "carrier", o.error_code = "REDIRECTED";
    } else if (ev->status == 408) {
        snprintf(why, sizeof why, "the carrier answered 408 %s", ev->phrase);
        o.outcome = "no_answer", o.hangup_by = "carrier";
    } else if (((ev->status == 503 || ev->status == 480) && ev->retry_after >= 0) ||
               capacity_cause(ev->q850_cause)) {
        snprintf(why, sizeof why, "the carrier is out of capacity: %d %s", ev->status, ev->phrase);
        o.outcome = "failed", o.hangup_by = "carrier", o.error_code = "CARRIER_CAPACITY";
        o.retry_after = ev->retry_after;
    } else {
        snprintf(why, sizeof why, "the carrier answered %d %s", ev->status, ev->phrase);
        o.outcome = "failed", o.hangup_by = "carrier", o.error_code = "CARRIER_REJECTED";
    }
    end(c, &o);
}

static void replace(char **slot, const char *sdp, size_t n) {
    free(*slot);
    *slot = sdp ? strndup(sdp, n) : NULL;
}

/* A leg of a bridged call went away without a BYE: the call ends, talk
 * time billed, the other leg hung up. */
static void leg_lost(od_call_t *c, int callee, const char *how) {
    char why[256];
    snprintf(why, sizeof why, "the %s leg was lost: %s", callee ? "callee" : "agent", how);
    end_local(c, "completed", "system", callee ? "CALLEE_LEG_LOST" : "AGENT_LEG_LOST", why);
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
    if (c->state != CALL_UP) return;
    if (ev->local || ev->status == 408 || ev->status == 481) { /* RFC 3261 12.2.1.2 */
        char how[160];
        if (ev->local)
            snprintf(how, sizeof how, "no answer to a re-INVITE (our SIP stack: %d %s)",
                     ev->local_status, ev->local_phrase);
        else
            snprintf(how, sizeof how, "a re-INVITE was answered %d %s", ev->status, ev->phrase);
        leg_lost(c, to == c->callee, how);
        return;
    }
    if (!from) return;
    if (ev->status >= 300 || !ev->sdp) {
        od_leg_respond(from, ev->status >= 300 ? ev->status : 488,
                       ev->status >= 300 ? ev->phrase : "Not Acceptable Here", NULL);
        return;
    }
    replace(to == c->callee ? &c->sdp_to_agent : &c->sdp_to_callee, ev->sdp, ev->sdp_len);
    od_leg_respond(from, 200, "OK", to == c->callee ? c->sdp_to_agent : c->sdp_to_callee);
}

static void bye(od_call_t *c, const char *by, const od_leg_event_t *ev) {
    od_outcome_t o = {"completed", 0, NULL, by, NULL, NULL, ev->q850_cause, -1};
    end(c, &o);
}

/* ---- the agent leg ---- */

static void agent_answered(od_call_t *c, od_leg_t *leg, const od_leg_event_t *ev) {
    od_dialer_metric_status(od_dm.agent_class, NULL, ev->status);
    if (c->state != CALL_AGENT) {
        od_leg_hangup(leg);
        return;
    }
    if (!ev->sdp) {
        od_outcome_t o = {"failed",
                          ev->status,
                          ev->phrase,
                          "system",
                          "AGENT_FAILED",
                          "the agent answered without SDP",
                          0,
                          -1};
        end(c, &o);
        return;
    }
    replace(&c->sdp_to_callee, ev->sdp, ev->sdp_len);
    od_leg_ack(leg, NULL);
    od_leg_ack(c->callee, c->sdp_to_callee);
    c->state = CALL_UP;
    od_metric_add(od_dm.calls_up, NULL, 1);
    report_status(c, "bridged", ev);
    /* BYE a little before the limit, so that the duration billed (rounded
     * up) stays within what the hold covers */
    int64_t left = (int64_t)c->w.max_duration_s * 1000 - MAX_DURATION_MARGIN_MS -
                   (od_clock_now_ms() - c->answered_ms);
    od_sip_timer_set(c->timer, left > 0 ? (long)left : 1, on_max_duration, c);
}

static void agent_failed(od_call_t *c, const od_leg_event_t *ev) {
    char why[256];
    od_dialer_metric_status(od_dm.agent_class, NULL, ev->local ? 0 : ev->status);
    if (ev->local) {
        snprintf(why, sizeof why, "the agent could not be reached (our SIP stack: %d %s)",
                 ev->local_status, ev->local_phrase);
        end_local(c, "failed", "system", "AGENT_UNREACHABLE", why);
        return;
    }
    if (ev->auth_failed)
        snprintf(why, sizeof why, "the agent's %d challenge was not met with its credentials",
                 ev->status);
    else
        snprintf(why, sizeof why, "the agent answered %d %s", ev->status, ev->phrase);
    od_outcome_t o = {"failed",       ev->status, ev->phrase,     "system",
                      "AGENT_FAILED", why,        ev->q850_cause, -1};
    end(c, &o);
}

static void agent_event(od_call_t *c, od_leg_t *leg, const od_leg_event_t *ev) {
    switch (ev->type) {
    case OD_LEG_ANSWERED: agent_answered(c, leg, ev); return;
    case OD_LEG_FAILED: agent_failed(c, ev); return;
    case OD_LEG_BYE: bye(c, "agent", ev); return;
    case OD_LEG_REOFFER: relay_offer(c, leg, ev); return;
    case OD_LEG_REANSWER: relay_answer(c, leg, ev); return;
    case OD_LEG_GONE:
        c->agent = NULL;
        if (c->reoffer_from == leg) c->reoffer_from = NULL;
        if (c->state == CALL_UP)
            leg_lost(c, 0, "it ended without a BYE");
        else if (c->state != CALL_ENDED)
            end_local(c, "failed", "system", "AGENT_UNREACHABLE",
                      "the agent leg ended with no final response");
        return;
    case OD_LEG_PROVISIONAL: return;
    }
}

/* ---- the callee leg ---- */

static void callee_answered(od_call_t *c, od_leg_t *leg, const od_leg_event_t *ev) {
    char why[200];
    od_dialer_metric_status(od_dm.callee_class, od_dm.callee_code, ev->status);
    if (c->state != CALL_DIALING) { /* ended meanwhile: confirm, then BYE */
        od_leg_hangup(leg);
        return;
    }
    if (c->ring_timed_out || c->canceling) { /* the 2xx crossed our CANCEL */
        snprintf(why, sizeof why,
                 "the callee answered as the %s went out; the answer was confirmed and hung up",
                 c->canceling ? "cancel" : "ring timeout's CANCEL");
        od_outcome_t o = {
            c->canceling ? "canceled" : "no_answer",        ev->status, ev->phrase, "system",
            c->canceling ? NULL : "ANSWERED_AFTER_TIMEOUT", why,        0,          -1};
        end(c, &o);
        return;
    }
    od_sip_timer_stop(c->timer);
    if (!ev->sdp) { /* nothing to bridge: ended unbilled (no answered_at) */
        od_outcome_t o = {"failed",
                          ev->status,
                          ev->phrase,
                          "system",
                          "NO_SDP_OFFER",
                          "the callee's 200 carried no SDP offer to bridge",
                          0,
                          -1};
        end(c, &o);
        return;
    }
    c->answered_ms = od_clock_now_ms(); /* billed from here */
    if (c->invited_s > 0)
        od_metric_observe(od_dm.setup_seconds, NULL, od_clock_mono_s() - c->invited_s);
    report_status(c, "answered", ev);
    replace(&c->sdp_to_agent, ev->sdp, ev->sdp_len);
    od_leg_invite_t inv = {.to = c->w.agent_uri,
                           .from = c->w.to, /* the agent sees whom it talks to */
                           .proxy = c->w.agent_proxy,
                           .username = c->w.agent_username,
                           .password = c->w.agent_password,
                           .sdp = c->sdp_to_agent,
                           .headers = c->w.headers};
    c->state = CALL_AGENT;
    od_metric_add(od_dm.invites, "agent", 1);
    c->agent = od_leg_invite(od_dialer_sip(c->d), &inv, on_agent, c);
    if (!c->agent) {
        end_local(c, "failed", "system", "AGENT_UNREACHABLE", "the agent's SIP URI is not usable");
        return;
    }
    od_sip_timer_set(c->timer, od_dialer_conf(c->d)->agent_answer_ms, on_agent_timeout, c);
}

static void callee_event(od_call_t *c, od_leg_t *leg, const od_leg_event_t *ev) {
    if (leg != c->callee) { /* the leg a redirect left behind */
        if (ev->type == OD_LEG_GONE && leg == c->redirected) c->redirected = NULL;
        return;
    }
    switch (ev->type) {
    case OD_LEG_PROVISIONAL:
        if (!c->ringing_ms && c->state == CALL_DIALING) {
            c->ringing_ms = od_clock_now_ms();
            report_status(c, "ringing", ev);
        }
        return;
    case OD_LEG_ANSWERED: callee_answered(c, leg, ev); return;
    case OD_LEG_FAILED:
        if (c->state == CALL_DIALING) callee_failed(c, ev);
        return;
    case OD_LEG_BYE: bye(c, "callee", ev); return;
    case OD_LEG_REOFFER: relay_offer(c, leg, ev); return;
    case OD_LEG_REANSWER: relay_answer(c, leg, ev); return;
    case OD_LEG_GONE:
        c->callee = NULL;
        if (c->reoffer_from == leg) c->reoffer_from = NULL;
        if (c->state == CALL_UP || c->state == CALL_AGENT) {
            leg_lost(c, 1, "it ended without a BYE");
        } else if (c->state == CALL_DIALING) { /* over with no final response */
            od_leg_event_t none = {.type = OD_LEG_FAILED,
                                   .phrase = "",
                                   .local = 1,
                                   .local_status = 0,
                                   .local_phrase = "the leg ended",
                                   .retry_after = -1};
            callee_failed(c, &none);
        }
        return;
    }
}

/* ---- timers ---- */

static void max_duration(od_call_t *c) {
    char why[96];
    snprintf(why, sizeof why, "max duration of %d s reached", c->w.max_duration_s);
    end_local(c, "completed", "system", NULL, why);
}

static void agent_timeout(od_call_t *c) {
    char why[96];
    snprintf(why, sizeof why, "the agent did not answer within %ld ms",
             od_dialer_conf(c->d)->agent_answer_ms);
    end_local(c, "failed", "system", "AGENT_NO_ANSWER", why);
}

static void ring_timeout(od_call_t *c) {
    if (c->state != CALL_DIALING) return;
    c->ring_timed_out = 1;
    if (c->callee) od_leg_hangup(c->callee); /* CANCEL; 487 follows */
}

static int place_callee(od_call_t *c) {
    od_leg_invite_t inv = {.to = c->w.to,
                           .from = c->w.from,
                           .proxy = c->w.proxy,
                           .username = c->w.username,
                           .password = c->w.password,
                           .headers = c->w.trunk_headers};
    od_metric_add(od_dm.invites, "callee", 1);
    c->callee = od_leg_invite(od_dialer_sip(c->d), &inv, on_callee, c);
    return c->callee != NULL;
}

static void start(od_call_t *c) {
    c->state = CALL_DIALING;
    c->invited_s = od_clock_mono_s();
    c->timer = od_sip_timer_new(od_dialer_sip(c->d));
    if (!c->timer || !place_callee(c)) {
        end_local(c, "failed", "system", "CARRIER_UNREACHABLE", "the trunk's URI is not usable");
        return;
    }
    od_sip_timer_set(c->timer, c->w.ringing_timeout_s * 1000L, on_ring_timeout, c);
}

static void cancel(od_call_t *c) {
    switch (c->state) {
    case CALL_QUEUED: end_local(c, "canceled", NULL, NULL, "canceled before it was dialed"); return;
    case CALL_DIALING:
        c->canceling = 1;
        od_leg_hangup(c->callee); /* CANCEL; 487 follows */
        return;
    case CALL_AGENT:
    case CALL_UP: end_local(c, "canceled", "system", NULL, "canceled while up"); return;
    case CALL_ENDED: return;
    }
}

/* ---- the ways in: each handles its event, then settles ---- */

static void on_callee(od_leg_t *leg, void *owner, const od_leg_event_t *ev) {
    od_call_t *c = owner;
    callee_event(c, leg, ev);
    settle(c);
}

static void on_agent(od_leg_t *leg, void *owner, const od_leg_event_t *ev) {
    od_call_t *c = owner;
    agent_event(c, leg, ev);
    settle(c);
}

static void on_max_duration(void *arg) {
    od_call_t *c = arg;
    max_duration(c);
    settle(c);
}

static void on_agent_timeout(void *arg) {
    od_call_t *c = arg;
    agent_timeout(c);
    settle(c);
}

static void on_ring_timeout(void *arg) {
    od_call_t *c = arg;
    ring_timeout(c);
    settle(c);
}

void od_call_start(od_call_t *c) {
    start(c);
    settle(c);
}

void od_call_cancel(od_call_t *c) {
    cancel(c);
    settle(c);
}

void od_call_abort(od_call_t *c, const char *error_code, const char *why) {
    if (c->state == CALL_UP)
        end_local(c, "completed", "system", NULL, why);
    else
        end_local(c, "failed", c->state == CALL_QUEUED ? NULL : "system", error_code, why);
    settle(c);
}

void od_call_end_unplaced(od_call_t *c, const char *outcome, const char *error_code,
                          const char *why) {
    char attempt[16];
    snprintf(attempt, sizeof attempt, "%d", c->w.attempt);
    od_logkv(OD_LOG_INFO, "call not dialed", "call_id", c->w.call_id, "#attempt", attempt,
             "error_code", error_code ? error_code : "", "why", why ? why : "", (const char *)NULL);
    end_local(c, outcome, NULL, error_code, why);
    settle(c);
}
