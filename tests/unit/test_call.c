/* The call state machine (lib/dialer/call.c) driven through a fake SIP
 * layer: every leg event is delivered in the orders a network can deliver
 * them (200 crossing CANCEL, BYE crossing re-INVITE, the agent answering
 * after its timer, legs gone in every state, cancel and max duration at
 * every state), and each case asserts the one `ended` report and what
 * each leg was asked to do. The fake releases a call the moment call.c
 * hands it back, so under ASan any use after that point is an error.
 * Then every event in every state, and seeded random orders, must end in
 * exactly one report and one release. */
#include "check.h"
#include "dialer/call.c"

#include <stdarg.h>

/* ---- the fake SIP layer ---- */

struct od_sip_timer {
    void (*fn)(void *);
    void *arg;
    int armed;
};

struct od_leg {
    char role; /* 'c' callee, 'a' agent */
    od_leg_cb *cb;
    void *owner;
    int gone;
};

static od_dialer_conf_t conf = {.dialer_id = "test", .agent_answer_ms = 5000};
static od_leg_t *legs[3]; /* the current callee and agent legs, [0] and [1]; [2] a
                           * callee leg a redirect replaced */
static od_sip_timer_t *timer;
static char actions[1024]; /* what the legs were asked to do, in order */
static json_t *reports;    /* every report */
static int released, freed_c;
static od_call_t *call;
static int fail_agent_invite, follow_redirects;

static void act(const char *fmt, ...) {
    size_t n = strlen(actions);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(actions + n, sizeof actions - n, fmt, ap);
    va_end(ap);
}

od_sip_t *od_dialer_sip(od_dialer_t *d) {
    (void)d;
    return NULL;
}
const od_dialer_conf_t *od_dialer_conf(od_dialer_t *d) {
    (void)d;
    return &conf;
}
void od_dialer_report(od_dialer_t *d, const od_call_t *c, json_t *rep) {
    (void)d;
    (void)c;
    json_array_append_new(reports, rep);
}
void od_dialer_call_done(od_dialer_t *d, od_call_t *c) {
    (void)d;
    released++;
    /* freed at once: anything call.c does with it afterwards is a
     * use-after-free that ASan reports */
    free(c->timer);
    timer = NULL;
    free(c->w.to);
    free(c->sdp_to_callee);
    free(c->sdp_to_agent);
    free(c);
    call = NULL;
    freed_c = 1;
}

od_sip_timer_t *od_sip_timer_new(od_sip_t *s) {
    (void)s;
    timer = calloc(1, sizeof *timer);
    return timer;
}
void od_sip_timer_set(od_sip_timer_t *t, long ms, void (*fn)(void *), void *arg) {
    (void)ms;
    t->fn = fn, t->arg = arg, t->armed = 1;
}
void od_sip_timer_stop(od_sip_timer_t *t) {
    if (t) t->armed = 0;
}

od_leg_t *od_leg_invite(od_sip_t *s, const od_leg_invite_t *inv, od_leg_cb *cb, void *owner) {
    (void)s;
    char role = inv->sdp ? 'a' : 'c';
    if (role == 'a' && fail_agent_invite) return NULL;
    od_leg_t *leg = calloc(1, sizeof *leg);
    leg->role = role, leg->cb = cb, leg->owner = owner;
    if (role == 'c' && legs[0]) legs[2] = legs[0];
    legs[role == 'a'] = leg;
    act("%c:invite ", role);
    return leg;
}
void od_leg_ack(od_leg_t *leg, const char *sdp) { act("%c:ack%s ", leg->role, sdp ? "+sdp" : ""); }
void od_leg_respond(od_leg_t *leg, int status, const char *phrase, const char *sdp) {
    (void)phrase;
    act("%c:respond%d%s ", leg->role, status, sdp ? "+sdp" : "");
}
void od_leg_reinvite(od_leg_t *leg, const char *sdp) {
    act("%c:reinvite%s ", leg->role, sdp ? "+sdp" : "");
}
void od_leg_hangup(od_leg_t *leg) { act("%c:hangup ", leg->role); }

/* ---- driving it ---- */

static void begin(void) {
    for (int i = 0; i < 3; i++)
        free(legs[i]);
    if (call) { /* a case that left it unreleased (already counted) */
        free(call->w.to);
        free(call->timer);
        free(call->sdp_to_callee);
        free(call->sdp_to_agent);
        free(call);
    }
    actions[0] = 0;
    json_decref(reports);
    reports = json_array();
    released = freed_c = 0;
    fail_agent_invite = 0;
    legs[0] = legs[1] = legs[2] = NULL;
    call = calloc(1, sizeof *call);
    snprintf(call->w.call_id, sizeof call->w.call_id, "c1");
    call->w.attempt = 1;
    call->w.ringing_timeout_s = 60;
    call->w.max_duration_s = 600;
    call->w.to = strdup("sip:+1@t");
    call->w.from = "sip:+2@t";
    call->w.agent_uri = "sip:bot@a";
    call->w.follow_redirects = follow_redirects;
}

/* Delivers one event to a leg, as the adapter does (nothing after GONE). */
static void deliver_ev(int which, od_leg_event_t ev) {
    od_leg_t *leg = legs[which];
    if (!leg || leg->gone) return;
    if (!ev.phrase) ev.phrase = "";
    if (!ev.local_phrase) ev.local_phrase = "";
    if (ev.type == OD_LEG_GONE) {
        leg->gone = 1;
        legs[which] = NULL;
        leg->cb(leg, leg->owner, &ev);
        free(leg);
        return;
    }
    leg->cb(leg, leg->owner, &ev);
}

static const char SDP[] = "v=0\r\nm=audio 4000 RTP/AVP 0\r\n";

/* One step of a script: "start", "cancel", "abort", "timer", or
 * "<leg>:<event>" with leg c (callee) or a (agent) and event one of
 * 180, 183sdp, 200, 200sdp, 486, 603, 302, 401auth, 503ra, 480q34, 408,
 * local408, local503, bye, byeq16, reoffer, reanswer, reanswer488,
 * reanswerlocal, gone. */
static void step(const char *s) {
    if (!strcmp(s, "start")) {
        if (call) od_call_start(call);
        return;
    }
    if (!strcmp(s, "cancel")) {
        if (call) od_call_cancel(call);
        return;
    }
    if (!strcmp(s, "abort")) {
        if (call) od_call_abort(call, "DIALER_SHUTDOWN", "the dialer shut down");
        return;
    }
    if (!strcmp(s, "timer")) {
        if (timer && timer->armed) {
            timer->armed = 0;
            timer->fn(timer->arg); /* may free the call and the timer */
        }
        return;
    }
    int which = s[0] == 'a' ? 1 : s[0] == 'o' ? 2 : 0;
    const char *e = s + 2;
    od_leg_event_t ev = {.retry_after = -1};
    if (!strcmp(e, "180")) {
        ev.type = OD_LEG_PROVISIONAL, ev.status = 180, ev.phrase = "Ringing";
    } else if (!strcmp(e, "183sdp")) {
        ev.type = OD_LEG_PROVISIONAL, ev.status = 183, ev.sdp = SDP, ev.sdp_len = strlen(SDP);
    } else if (!strcmp(e, "200")) {
        ev.type = OD_LEG_ANSWERED, ev.status = 200, ev.phrase = "OK";
    } else if (!strcmp(e, "200sdp")) {
        ev.type = OD_LEG_ANSWERED, ev.status = 200, ev.phrase = "OK";
        ev.sdp = SDP, ev.sdp_len = strlen(SDP);
    } else if (!strcmp(e, "486")) {
        ev.type = OD_LEG_FAILED, ev.status = 486, ev.phrase = "Busy Here";
    } else if (!strcmp(e, "603")) {
        ev.type = OD_LEG_FAILED, ev.status = 603, ev.phrase = "Decline";
    } else if (!strcmp(e, "302")) {
        ev.type = OD_LEG_FAILED, ev.status = 302, ev.phrase = "Moved Temporarily";
        ev.contact = "sip:+3@elsewhere";
    } else if (!strcmp(e, "401auth")) {
        ev.type = OD_LEG_FAILED, ev.status = 401, ev.phrase = "Unauthorized", ev.auth_failed = 1;
    } else if (!strcmp(e, "503ra")) {
        ev.type = OD_LEG_FAILED, ev.status = 503, ev.phrase = "Service Unavailable";
        ev.retry_after = 4;
    } else if (!strcmp(e, "480q34")) {
        ev.type = OD_LEG_FAILED, ev.status = 480, ev.phrase = "Temporarily Unavailable";
        ev.q850_cause = 34;
    } else if (!strcmp(e, "408")) {
        ev.type = OD_LEG_FAILED, ev.status = 408, ev.phrase = "Request Timeout";
    } else if (!strcmp(e, "local408")) {
        ev.type = OD_LEG_FAILED, ev.local = 1, ev.local_status = 408;
        ev.local_phrase = "Request Timeout";
    } else if (!strcmp(e, "local503")) {
        ev.type = OD_LEG_FAILED, ev.local = 1, ev.local_status = 503;
        ev.local_phrase = "No transport";
    } else if (!strcmp(e, "bye")) {
        ev.type = OD_LEG_BYE;
    } else if (!strcmp(e, "byeq16")) {
        ev.type = OD_LEG_BYE, ev.q850_cause = 16;
    } else if (!strcmp(e, "reoffer")) {
        ev.type = OD_LEG_REOFFER, ev.sdp = SDP, ev.sdp_len = strlen(SDP);
    } else if (!strcmp(e, "reanswer")) {
        ev.type = OD_LEG_REANSWER, ev.status = 200, ev.sdp = SDP, ev.sdp_len = strlen(SDP);
    } else if (!strcmp(e, "reanswer488")) {
        ev.type = OD_LEG_REANSWER, ev.status = 488, ev.phrase = "Not Acceptable Here";
    } else if (!strcmp(e, "reanswerlocal")) {
        ev.type = OD_LEG_REANSWER, ev.local = 1, ev.local_status = 408;
        ev.local_phrase = "Request Timeout";
    } else if (!strcmp(e, "gone")) {
        ev.type = OD_LEG_GONE;
    } else {
        fprintf(stderr, "bad step %s\n", s);
        abort();
    }
    deliver_ev(which, ev);
}

static void run(const char *script) {
    char buf[512], *save = NULL;
    if (!strncmp(script, "follow ", 7)) { /* the trunk follows redirects */
        call->w.follow_redirects = 1;
        script += 7;
    }
    snprintf(buf, sizeof buf, "%s", script);
    for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
        step(t);
}

/* The `ended` reports so far: how many, and the last one. */
static json_t *ended(int *count) {
    json_t *last = NULL, *r;
    size_t i;
    *count = 0;
    json_array_foreach(reports, i, r) {
        const char *type = json_string_value(json_object_get(r, "type"));
        if (type && !strcmp(type, "ended")) {
            (*count)++;
            last = r;
        }
    }
    return last;
}

static const char *field(json_t *r, const char *k) {
    static char num[32];
    json_t *v = json_object_get(r, k);
    if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        return num;
    }
    return json_string_value(v);
}

/* Every leg still there goes away (the network finishes), so the call
 * must be released. */
static void finish_legs(void) {
    step("o:gone");
    step("c:gone");
    step("a:gone");
}

/* ---- table: orders and their outcomes ---- */

static void table(void) {
    static const struct {
        const char *name, *script;
        const char *outcome, *error_code, *sip_status, *hangup_by, *q850, *retry_after;
        const char *actions; /* NULL: not checked */
    } cases[] = {
        {"answered, bridged, callee hangs up", "start c:180 c:200sdp a:200sdp c:bye c:gone a:gone",
         "completed", NULL, NULL, "callee", NULL, NULL,
         "c:invite a:invite a:ack c:ack+sdp c:hangup a:hangup "},
        {"bridged, agent hangs up with a Q.850 cause",
         "start c:200sdp a:200sdp a:byeq16 a:gone c:gone", "completed", NULL, NULL, "agent", "16",
         NULL, NULL},
        {"busy", "start c:180 c:486 c:gone", "busy", NULL, "486", "callee", NULL, NULL,
         "c:invite c:hangup "},
        {"declined", "start c:603 c:gone", "failed", "DECLINED", "603", "callee", NULL, NULL, NULL},
        {"ring timeout, 487 from the carrier", "start c:180 timer c:gone", "no_answer", NULL, NULL,
         "system", NULL, NULL, "c:invite c:hangup "},
        {"200 crossing CANCEL at ring timeout", "start c:180 timer c:200sdp c:gone", "no_answer",
         "ANSWERED_AFTER_TIMEOUT", "200", "system", NULL, NULL, "c:invite c:hangup c:hangup "},
        {"200 crossing a cancel from the scheduler", "start c:180 cancel c:200sdp c:gone",
         "canceled", NULL, "200", "system", NULL, NULL, "c:invite c:hangup c:hangup "},
        {"the leg gone after the CANCEL, no final", "start c:180 timer c:gone", "no_answer", NULL,
         NULL, "system", NULL, NULL, NULL},
        {"nothing heard, ring timeout, our stack's 487", "start timer c:local408 c:gone", "failed",
         "CARRIER_UNREACHABLE", NULL, "system", NULL, NULL, NULL},
        {"trunk unreachable", "start c:local503 c:gone", "failed", "CARRIER_UNREACHABLE", NULL,
         "system", NULL, NULL, "c:invite c:hangup "},
        {"redirect reported, not followed", "start c:302 c:gone", "failed", "REDIRECTED", "302",
         "carrier", NULL, NULL, "c:invite c:hangup "},
        {"challenge not met", "start c:401auth c:gone", "failed", "AUTH_FAILED", "401", "carrier",
         NULL, NULL, NULL},
        {"503 with Retry-After", "start c:503ra c:gone", "failed", "CARRIER_CAPACITY", "503",
         "carrier", NULL, "4", NULL},
        {"480 with a capacity cause", "start c:480q34 c:gone", "failed", "CARRIER_CAPACITY", "480",
         "carrier", "34", NULL, NULL},
        {"a 408 from the carrier", "start c:408 c:gone", "no_answer", NULL, "408", "carrier", NULL,
         NULL, NULL},
        {"183 with SDP, then 200 with SDP (adapter gives the 183's)",
         "start c:183sdp c:200sdp a:200sdp c:bye c:gone a:gone", "completed", NULL, NULL, "callee",
         NULL, NULL, NULL},
        {"200 without SDP", "start c:180 c:200 c:gone", "failed", "NO_SDP_OFFER", "200", "system",
         NULL, NULL, "c:invite c:hangup "},
        {"agent never answers", "start c:200sdp timer c:gone a:gone", "failed", "AGENT_NO_ANSWER",
         NULL, "system", NULL, NULL, "c:invite a:invite c:hangup a:hangup "},
        {"agent answers after its timer", "start c:200sdp timer a:200sdp c:gone a:gone", "failed",
         "AGENT_NO_ANSWER", NULL, "system", NULL, NULL,
         "c:invite a:invite c:hangup a:hangup a:hangup "},
        {"agent rejects", "start c:200sdp a:486 a:gone c:gone", "failed", "AGENT_FAILED", "486",
         "system", NULL, NULL, NULL},
        {"agent unreachable", "start c:200sdp a:local503 a:gone c:gone", "failed",
         "AGENT_UNREACHABLE", NULL, "system", NULL, NULL, NULL},
        {"callee leg lost mid-call (no BYE)", "start c:200sdp a:200sdp c:gone a:gone", "completed",
         "CALLEE_LEG_LOST", NULL, "system", NULL, NULL,
         "c:invite a:invite a:ack c:ack+sdp a:hangup "},
        {"relayed re-INVITE to the callee times out",
         "start c:200sdp a:200sdp a:reoffer c:reanswerlocal c:gone a:gone", "completed",
         "CALLEE_LEG_LOST", NULL, "system", NULL, NULL,
         "c:invite a:invite a:ack c:ack+sdp c:reinvite+sdp c:hangup a:hangup "},
        {"hold relayed both ways",
         "start c:200sdp a:200sdp c:reoffer a:reanswer c:bye c:gone a:gone", "completed", NULL,
         NULL, "callee", NULL, NULL,
         "c:invite a:invite a:ack c:ack+sdp a:reinvite+sdp c:respond200+sdp c:hangup a:hangup "},
        {"BYE crossing a re-INVITE",
         "start c:200sdp a:200sdp a:reoffer c:bye c:reanswer c:gone a:gone", "completed", NULL,
         NULL, "callee", NULL, NULL, NULL},
        {"refused re-INVITE relayed back",
         "start c:200sdp a:200sdp a:reoffer c:reanswer488 a:bye a:gone c:gone", "completed", NULL,
         NULL, "agent", NULL, NULL, NULL},
        {"max duration", "start c:200sdp a:200sdp timer c:gone a:gone", "completed", NULL, NULL,
         "system", NULL, NULL, "c:invite a:invite a:ack c:ack+sdp c:hangup a:hangup "},
        {"redirect followed once, through the trunk",
         "follow start c:302 c:200sdp o:gone a:200sdp c:bye c:gone a:gone", "completed", NULL, NULL,
         "callee", NULL, NULL, "c:invite c:invite a:invite a:ack c:ack+sdp c:hangup a:hangup "},
        {"a second redirect is reported", "follow start c:302 c:302 o:gone c:gone", "failed",
         "REDIRECTED", "302", "carrier", NULL, NULL, NULL},
        {"cancel while queued", "cancel", "canceled", NULL, NULL, NULL, NULL, NULL, ""},
        {"cancel while up", "start c:200sdp a:200sdp cancel c:gone a:gone", "canceled", NULL, NULL,
         "system", NULL, NULL, NULL},
        {"abort while dialing", "start c:180 abort c:gone", "failed", "DIALER_SHUTDOWN", NULL,
         "system", NULL, NULL, NULL},
        {"abort while up", "start c:200sdp a:200sdp abort c:gone a:gone", "completed", NULL, NULL,
         "system", NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        begin();
        run(cases[i].script);
        int n;
        json_t *r = ended(&n);
        CHECK(n == 1, "%s: %d ended reports", cases[i].name, n);
        CHECK(released == 1, "%s: released %d times", cases[i].name, released);
        if (!r) continue;
        CHECK_STR(field(r, "outcome"), cases[i].outcome, cases[i].name);
        CHECK_STR(field(r, "error_code"), cases[i].error_code, cases[i].name);
        CHECK_STR(field(r, "sip_status"), cases[i].sip_status, cases[i].name);
        CHECK_STR(field(r, "hangup_by"), cases[i].hangup_by, cases[i].name);
        CHECK_STR(field(r, "q850_cause"), cases[i].q850, cases[i].name);
        CHECK_STR(field(r, "retry_after_seconds"), cases[i].retry_after, cases[i].name);
        if (cases[i].actions) CHECK_STR(actions, cases[i].actions, cases[i].name);
        /* billed from answered_at: never for an answer there was nothing to
         * bridge to (ANSWERED_AFTER_TIMEOUT, NO_SDP_OFFER), or whether a
         * millisecond ticked between answer and end would decide the bill */
        int unbillable =
            cases[i].error_code && (!strcmp(cases[i].error_code, "NO_SDP_OFFER") ||
                                    !strcmp(cases[i].error_code, "ANSWERED_AFTER_TIMEOUT"));
        if (unbillable)
            CHECK(!json_object_get(r, "answered_at"), "%s: an answered_at to bill from",
                  cases[i].name);
        CHECK(!json_object_get(r, "sip_status") || json_object_get(r, "sip_reason") ||
                  !strcmp(cases[i].name, "nothing"),
              "%s: a status without its phrase", cases[i].name);
    }
}

/* ---- every event in every state ---- */

static const char *const PREFIXES[] = {
    "",                                  /* queued */
    "start",                             /* dialing */
    "start c:180",                       /* ringing */
    "start c:180 timer",                 /* ring timed out, CANCEL out */
    "start c:180 cancel",                /* canceling */
    "start c:200sdp",                    /* agent leg pending */
    "start c:200sdp a:200sdp",           /* up */
    "start c:200sdp a:200sdp a:reoffer", /* up, re-INVITE relayed */
    "start c:486",                       /* ended, callee leg not gone yet */
    "start c:200sdp a:200sdp c:bye",     /* ended, both legs going */
    "start c:200sdp timer",              /* agent timed out */
    "start c:200sdp a:200sdp timer",     /* max duration reached */
};
static const char *const EVENTS[] = {
    "cancel",        "abort",  "timer",      "c:180",      "c:183sdp",        "c:200",
    "c:200sdp",      "c:486",  "c:603",      "c:302",      "c:401auth",       "c:503ra",
    "c:local408",    "c:bye",  "c:reoffer",  "c:reanswer", "c:reanswerlocal", "c:gone",
    "a:200sdp",      "a:486",  "a:local503", "a:bye",      "a:reoffer",       "a:reanswer",
    "a:reanswer488", "a:gone",
};

static void every_event_in_every_state(void) {
    int bad = 0, total = 0;
    for (size_t p = 0; p < sizeof PREFIXES / sizeof PREFIXES[0]; p++)
        for (size_t e = 0; e < sizeof EVENTS / sizeof EVENTS[0]; e++)
            for (size_t f = 0; f < sizeof EVENTS / sizeof EVENTS[0]; f += 3) {
                begin();
                run(PREFIXES[p]);
                step(EVENTS[e]);
                step(EVENTS[f]);
                if (call && call->state == CALL_QUEUED) step("abort");
                finish_legs();
                if (call && call->state != CALL_ENDED) step("abort"), finish_legs();
                int n;
                ended(&n);
                total++;
                if (n != 1 || released != 1) {
                    bad++;
                    if (bad <= 5)
                        fprintf(stderr, "'%s' + %s + %s: %d ended, released %d\n", PREFIXES[p],
                                EVENTS[e], EVENTS[f], n, released);
                }
            }
    CHECK(bad == 0, "%d of %d event orders did not end in one report and one release", bad, total);
}

/* ---- seeded random orders ---- */

static void random_orders(void) {
    unsigned seed = 20261202;
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        begin();
        int len = 1 + (int)(rand_r(&seed) % 12);
        for (int k = 0; k < len; k++)
            step(EVENTS[rand_r(&seed) % (sizeof EVENTS / sizeof EVENTS[0])]);
        if (call && call->state == CALL_QUEUED) step("abort");
        finish_legs();
        if (call && call->state != CALL_ENDED) step("abort"), finish_legs();
        int n;
        ended(&n);
        if (n != 1 || released != 1) bad++;
    }
    CHECK(bad == 0, "%d random orders did not end in one report and one release", bad);
}

int main(void) {
    table();
    every_event_in_every_state();
    random_orders();
    begin();
    free(call->w.to);
    free(call);
    call = NULL;
    json_decref(reports);
    return CHECK_DONE();
}
