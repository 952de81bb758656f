/* SIP adapter: the only code that includes sofia-sip. A user agent with
 * media disabled (outdial does signaling only) that places call legs and
 * reports what happens to each through one callback, plus the event loop
 * (timers, file descriptors) the dialer runs on. Everything here runs in
 * the thread that calls od_sip_step(): sofia-sip is kept single-threaded
 * (docs/dialer.md, "Inside the dialer"). */
#ifndef OD_SIP_H
#define OD_SIP_H

#include <stddef.h>

typedef struct od_sip od_sip_t;
typedef struct od_leg od_leg_t;
typedef struct od_sip_timer od_sip_timer_t;

typedef enum {
    OD_LEG_PROVISIONAL, /* 180/183 to our INVITE */
    OD_LEG_ANSWERED,    /* 2xx to our INVITE; sdp = its body, or the SDP of an earlier
                         * 18x if the 2xx has none. Confirm with od_leg_ack() */
    OD_LEG_FAILED,      /* the INVITE ended without an answer (see `local`) */
    OD_LEG_BYE,         /* the far end hung up (the adapter has answered its BYE) */
    OD_LEG_REOFFER,     /* a re-INVITE on an established leg: sdp = its offer (may be
                         * empty); answer with od_leg_respond() */
    OD_LEG_REANSWER,    /* our re-INVITE was answered: status; sdp if 2xx (ACK sent).
                         * `local` set: no answer came (the leg is likely lost) */
    OD_LEG_GONE,        /* the leg is over: its last event. It is freed on return */
} od_leg_event_type_t;

typedef struct {
    od_leg_event_type_t type;
    /* What the far end sent: its SIP status and reason phrase (0 and ""
     * where it sent none). Never a status our own stack made up. */
    int status;
    const char *phrase;
    /* FAILED, REANSWER: set when nothing final came from the far end (no
     * response in time, a transport or DNS error, a message too large):
     * status is 0 and local_status/local_phrase say what our stack
     * decided, for a message (never to be reported as the far end's). */
    int local;
    int local_status;
    const char *local_phrase;
    const char *sdp; /* body, valid during the callback only; NULL if none */
    size_t sdp_len;
    int auth_failed;     /* FAILED: a 401/407 the credentials could not meet */
    int q850_cause;      /* from the far end's Reason: Q.850;cause=N (RFC 3326), or 0 */
    int retry_after;     /* FAILED: the far end's Retry-After in seconds, or -1 */
    const char *contact; /* FAILED with a 3xx: its first Contact URI, or NULL */
} od_leg_event_t;

typedef void od_leg_cb(od_leg_t *leg, void *owner, const od_leg_event_t *ev);

/* Creates the user agent bound to `bind_url` (e.g. "sip:127.0.0.1:5080",
 * "sip:*:5060"). Returns NULL with a message in errstr. */
od_sip_t *od_sip_new(const char *bind_url, char *errstr, size_t errstr_size);

/* Runs timers, sockets and callbacks for up to timeout_ms (returns early
 * once something was handled). */
void od_sip_step(od_sip_t *s, long timeout_ms);

/* Asks every leg to end, then frees the agent once they have (up to
 * timeout_ms of steps). NULL is a no-op. */
void od_sip_destroy(od_sip_t *s, long timeout_ms);

/* Calls fn(arg) whenever fd becomes readable. Returns a watch id (> 0)
 * for od_sip_unwatch(), or -1. */
int od_sip_watch_fd(od_sip_t *s, int fd, void (*fn)(void *), void *arg);
/* Stops watching; do it before the descriptor is closed. */
void od_sip_unwatch(od_sip_t *s, int id);

/* One-shot timers on the loop. */
od_sip_timer_t *od_sip_timer_new(od_sip_t *s);
void od_sip_timer_set(od_sip_timer_t *t, long ms, void (*fn)(void *), void *arg);
void od_sip_timer_stop(od_sip_timer_t *t);
void od_sip_timer_free(od_sip_timer_t *t);

/* ---- legs ---- */

typedef struct {
    const char *to;       /* request URI and To: "sip:+4420...@carrier;transport=tcp" */
    const char *from;     /* From: "sip:+1415...@carrier" */
    const char *proxy;    /* first hop (outbound proxy) URI, or NULL to route by the request URI */
    const char *username; /* digest credentials for 401/407, or NULL */
    const char *password;
    const char *sdp;     /* offer, or NULL for an INVITE without SDP (offer in the 200) */
    const char *headers; /* extra header lines, "X-A: 1\r\nX-B: 2", or NULL */
} od_leg_invite_t;

/* Places an INVITE. Events for the leg go to cb(leg, owner, ...) until
 * OD_LEG_GONE; none is delivered before this returns. The first digest
 * challenge is met with the credentials; a later one only while the far
 * end says the nonce was stale, up to three INVITEs in all; after that the
 * leg fails with auth_failed set and the far end's last challenge status.
 * Redirects (3xx) are reported, never followed. Returns NULL on a local
 * failure (bad URI).
 *
 * Ownership: the adapter owns the leg. It is freed right after its
 * OD_LEG_GONE event (outside sofia-sip's callbacks); after that event the
 * owner must not use it. */
od_leg_t *od_leg_invite(od_sip_t *s, const od_leg_invite_t *inv, od_leg_cb *cb, void *owner);

/* ACKs the 2xx of our INVITE, with `sdp` as the answer (NULL: no body). */
void od_leg_ack(od_leg_t *leg, const char *sdp);

/* Answers a pending re-INVITE (OD_LEG_REOFFER) with status and sdp. */
void od_leg_respond(od_leg_t *leg, int status, const char *phrase, const char *sdp);

/* Sends a re-INVITE with `sdp` on an established leg (OD_LEG_REANSWER
 * follows). */
void od_leg_reinvite(od_leg_t *leg, const char *sdp);

/* Ends the leg in whatever state: CANCEL while the INVITE is pending, ACK
 * (with every stream refused) then BYE when answered but not confirmed,
 * BYE once up. OD_LEG_GONE follows. Safe to call twice, and on a leg that
 * failed or is gone (until its OD_LEG_GONE returns). */
void od_leg_hangup(od_leg_t *leg);

#endif
