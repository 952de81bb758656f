/* Inside the dialer: one call's state (call.c), dial work parsing
 * (work.c), and the loop that owns them (dialer.c). Everything runs in
 * the one thread that steps the SIP stack. */
#ifndef OD_DIALER_INT_H
#define OD_DIALER_INT_H

#include "crypto/crypto.h"
#include "dialer/dialer.h"
#include "ops/metrics.h"
#include "sip/sip.h"

#include <jansson.h>
#include <stdint.h>

typedef struct od_dialer od_dialer_t;
typedef struct od_trunk od_trunk_t;

typedef enum {
    CALL_QUEUED,  /* waiting for its trunk's next INVITE slot */
    CALL_DIALING, /* callee INVITE sent, no answer yet */
    CALL_AGENT,   /* callee answered (2xx not yet ACKed); agent INVITE sent */
    CALL_UP,      /* both legs confirmed: bridged */
    CALL_ENDED,   /* ended reported; legs going away */
} od_call_state_t;

/* What dial work says (work.c); strings are owned by the call. */
typedef struct {
    char call_id[40];
    int attempt;
    char *to, *from, *proxy, *username, *password, *trunk_id;
    char *trunk_headers; /* extra lines of the callee's INVITE (caller ID), or NULL */
    char *agent_uri, *agent_proxy, *agent_username, *agent_password;
    char *headers; /* what the agent learns of the call (X-Outdial-*) */
    int cps, ringing_timeout_s, max_duration_s, follow_redirects;
    int64_t admitted_ms; /* or when a draining dialer handed the work back */
} od_work_t;

/* A call. Ownership: the dialer creates it (dialer.c) and hands it to
 * call.c with od_call_start/cancel/abort/end_unplaced. From then on only
 * call.c decides when it is over: at the end of one of its ways in (those
 * functions, a leg event, a timer), once the call has reported its end
 * and has no leg left, it calls od_dialer_call_done() exactly once. The
 * dialer then takes it out of its table at once and frees it after the
 * current loop turn, so no caller up the stack is left holding freed
 * memory. A caller of od_call_* must not assume the call is still in the
 * table afterwards. */
typedef struct od_call {
    od_work_t w;
    char *text; /* the dial work as received, to hand it back when draining */
    od_dialer_t *d;
    od_call_state_t state;
    od_leg_t *callee, *agent;
    od_sip_timer_t *timer; /* ring timeout, then agent answer, then max duration */
    int64_t ringing_ms, answered_ms;
    double invited_s; /* callee INVITE sent (od_clock_mono_s), for the setup time */
    unsigned ring_timed_out : 1, canceling : 1, in_queue : 1;
    unsigned released : 1;              /* handed back by od_dialer_call_done */
    int redirects;                      /* 3xx followed (trunk follow_redirects) */
    od_leg_t *redirected;               /* the callee leg a redirect replaced, until gone */
    od_leg_t *reoffer_from;             /* the leg whose re-INVITE is being relayed */
    char *sdp_to_callee, *sdp_to_agent; /* last SDP each leg was given */
    struct od_call *hnext;              /* hash chain */
    struct od_call *qnext;              /* trunk queue; after release, the free list */
} od_call_t;

/* ---- metrics.c (docs/operations.md, "Metrics") ---- */

typedef struct {
    od_metric_t *invites, *callee_class, *callee_code, *agent_class, *setup_seconds;
    od_metric_t *calls_up, *calls_held, *paced, *draining, *reports_resent, *reports_pending;
} od_dialer_metrics_t;
/* NULL members until od_dialer_metrics_init(); updates of NULL do nothing. */
extern od_dialer_metrics_t od_dm;
void od_dialer_metrics_init(void);
/* Counts a final response: its class ("2xx".."6xx", or "none" for 0) and,
 * if by_code is given, its code. */
void od_dialer_metric_status(od_metric_t *by_class, od_metric_t *by_code, int status);

/* ---- work.c ---- */

typedef struct {
    const od_seal_key_t *key; /* opens sealed passwords */
    size_t header_line_max;   /* longest X-Outdial-* header line (split beyond) */
} od_work_opts_t;

/* Fills w from dial work; returns 0, or -1 with the reason in err. */
int od_work_parse(json_t *msg, const od_work_opts_t *opts, od_work_t *w, char *err, size_t errsz);
void od_work_clear(od_work_t *w);

/* ---- call.c ---- */

/* Places the callee leg (the trunk's pacing allowed it). */
void od_call_start(od_call_t *c);
/* A cancel from the scheduler. */
void od_call_cancel(od_call_t *c);
/* Ends the call now (drain deadline): hangup_by system. */
void od_call_abort(od_call_t *c, const char *error_code, const char *why);
/* Ends a call that never reached SIP (stale, canceled in the queue, bad
 * work): reports ended and frees it. */
void od_call_end_unplaced(od_call_t *c, const char *outcome, const char *error_code,
                          const char *why);

/* ---- dialer.c: what calls need from their owner ---- */

od_sip_t *od_dialer_sip(od_dialer_t *d);
const od_dialer_conf_t *od_dialer_conf(od_dialer_t *d);
/* Sends a report (consumes rep), keyed by the call. */
void od_dialer_report(od_dialer_t *d, const od_call_t *c, json_t *rep);
/* The call has no legs left and has reported its end: out of the table
 * now, freed after the current loop turn. Called once per call, by
 * call.c alone. */
void od_dialer_call_done(od_dialer_t *d, od_call_t *c);

#endif
