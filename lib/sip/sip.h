/* SIP adapter: the only code that includes sofia-sip. A user agent with
 * media disabled (outdial does signaling only) that places call legs and
 * reports what happens to each through one callback, plus the event loop
 * (timers, file descriptors) the dialer runs on. Everything here runs in
 * the thread that calls od_sip_step(): sofia-sip is kept single-threaded
 * (../shared/notes/sofia-sip.md). */
#ifndef OD_SIP_H
#define OD_SIP_H

#include <stddef.h>

typedef struct od_sip od_sip_t;
typedef struct od_leg od_leg_t;
typedef struct od_sip_timer od_sip_timer_t;

typedef enum {
    OD_LEG_PROVISIONAL, /* 180/183 to our INVITE */
    OD_LEG_ANSWERED,    /* 2xx to our INVITE; sdp = its body. Confirm with od_leg_ack() */
    OD_LEG_FAILED,      /* the INVITE failed: status >= 300 (also made locally: 408, 9xx) */
    OD_LEG_BYE,         /* the far end hung up (the adapter has answered its BYE) */
    OD_LEG_REOFFER,     /* a re-INVITE on an established leg: sdp = its offer (may be
                         * empty); answer with od_leg_respond() */
    OD_LEG_REANSWER,    /* our re-INVITE was answered: status; sdp if 2xx (ACK sent) */
    OD_LEG_GONE,        /* the leg is over: its last event. It is freed on return */
} od_leg_event_type_t;

typedef struct {
    od_leg_event_type_t type;
    int status;         /* SIP status (0 where none) */
    const char *phrase; /* its reason phrase ("" where none) */
    const char *sdp;    /* body, valid during the callback only; NULL if none */
    size_t sdp_len;
    int auth_failed; /* FAILED: a 401/407 the credentials could not meet */
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
    const char *to;       /* request URI and To: "sip:+4420...@carrier" */
    const char *from;     /* From: "sip:+1415...@carrier" */
    const char *proxy;    /* outbound proxy URI, or NULL to route by the request URI */
    const char *username; /* digest credentials for 401/407, or NULL */
    const char *password;
    const char *sdp;     /* offer, or NULL for an INVITE without SDP (offer in the 200) */
    const char *headers; /* extra header lines, "X-A: 1\r\nX-B: 2", or NULL */
} od_leg_invite_t;

/* Places an INVITE. Events for the leg go to cb(leg, owner, ...) until
 * OD_LEG_GONE. Digest challenges are met with the credentials, at most
 * twice; after that the leg fails with auth_failed set. Returns NULL on a
 * local failure (bad URI). */
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
 * BYE once up. OD_LEG_GONE follows. Safe to call twice. */
void od_leg_hangup(od_leg_t *leg);

#endif
