/* SIP adapter over sofia-sip's nua, media disabled: the dialer only relays
 * SDP between legs (third-party call control). */
#define NUA_MAGIC_T struct od_sip
#define NUA_HMAGIC_T struct od_leg
#define SU_ROOT_MAGIC_T struct od_sip
#define SU_WAKEUP_ARG_T struct od_watch
#define SU_TIMER_ARG_T struct od_sip_timer

#include "sip/sip.h"

#include "core/log.h"

#include <sofia-sip/nua.h>
#include <sofia-sip/auth_client.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/url.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* nta marks the responses it makes itself (a timeout, a transport or DNS
 * error, a CANCEL's 487 before any answer) with this parser flag
 * (NTA_INTERNAL_MSG in sofia-sip's private nta_internal.h). They are our
 * stack's words, never the far end's. */
#define OD_NTA_INTERNAL_MSG (1 << 15)
/* INVITEs one leg may send in all while challenged (the first, then one
 * per challenge met: the first challenge, and later ones only while the
 * far end says the nonce was stale). nua's own re-sends are all turned off
 * (NUTAG_RETRY_COUNT(0): no redirect followed, no credentials re-used
 * behind our back), so this is the whole bound. */
#define MAX_SENDS 3

struct od_sip {
    su_home_t home[1];
    su_root_t *root;
    nua_t *nua;
    int shutdown_done;
    od_leg_t *dead;    /* legs gone, told and freed after the current step */
    char contact[256]; /* our bound address as a URI ("" if a wildcard) */
};

struct od_watch {
    void (*fn)(void *);
    void *arg;
};

struct od_sip_timer {
    su_timer_t *t;
    void (*fn)(void *);
    void *arg;
};

typedef enum { L_CALLING, L_ANSWERED, L_UP, L_ENDING } leg_state_t;

struct od_leg {
    od_sip_t *s;
    nua_handle_t *nh; /* NULL once gone */
    od_leg_cb *cb;
    void *owner;
    leg_state_t state;
    int auths, hangup, reinvite_out, reinvite_in, gone;
    int sends;                        /* INVITEs sent (first and after challenges) */
    int resend;                       /* a challenge met: INVITE again once this one is over */
    su_home_t *home;                  /* the digest client's, made at the first challenge */
    auth_client_t *auc;               /* digest client (sofia's auth_client) */
    char *auth;                       /* "Authorization: Digest ..." for the next INVITE */
    char call_id[128];                /* of the challenged INVITE: the next one is the same call */
    char *from;                       /* its From, with our tag, for the same reason */
    uint32_t cseq;                    /* and its CSeq, which the next one exceeds */
    char *to, *proxy, *sdp, *headers; /* what the INVITE carries, to send it again */
    char contact[300];                /* our Contact when it names a transport, or "" */
    char *username, *password;
    char *offer;     /* the 2xx's offer while unconfirmed: to refuse it on hangup */
    char *early_sdp; /* SDP of a 18x, for a 2xx that repeats none */
    od_leg_t *next_dead;
};

static int is_local(const sip_t *sip) { return !sip || (sip->sip_flags & OD_NTA_INTERNAL_MSG); }

/* The Q.850 cause of a Reason header (RFC 3326), or 0. */
static int q850_cause(const sip_t *sip) {
    if (!sip) return 0;
    for (const sip_reason_t *re = sip->sip_reason; re; re = re->re_next)
        if (re->re_protocol && !strcasecmp(re->re_protocol, "Q.850") && re->re_cause) {
            int cause = atoi(re->re_cause);
            if (cause > 0 && cause < 128) return cause;
        }
    return 0;
}

/* An event from a message the far end sent (sip may be NULL). */
static od_leg_event_t event_of(od_leg_event_type_t type, int status, const char *phrase,
                               const sip_t *sip) {
    od_leg_event_t ev = {.type = type, .phrase = "", .local_phrase = "", .retry_after = -1};
    if (is_local(sip) && status) {
        ev.local = 1;
        ev.local_status = status;
        ev.local_phrase = phrase ? phrase : "";
        return ev;
    }
    ev.status = status;
    ev.phrase = phrase ? phrase : "";
    if (sip && sip->sip_payload && sip->sip_payload->pl_len) {
        ev.sdp = sip->sip_payload->pl_data;
        ev.sdp_len = sip->sip_payload->pl_len;
    }
    ev.q850_cause = q850_cause(sip);
    if (sip && sip->sip_retry_after) ev.retry_after = (int)sip->sip_retry_after->af_delta;
    return ev;
}

static void deliver(od_leg_t *leg, const od_leg_event_t *ev) {
    if (leg->cb && !leg->gone) leg->cb(leg, leg->owner, ev);
}

static void leg_free(od_leg_t *leg) {
    if (leg->home) su_home_unref(leg->home);
    free(leg->auth);
    free(leg->to);
    free(leg->proxy);
    free(leg->sdp);
    free(leg->headers);
    free(leg->username);
    free(leg->password);
    free(leg->offer);
    free(leg->early_sdp);
    free(leg);
}

/* The leg is over: its handle goes now; the owner hears OD_LEG_GONE and
 * the leg is freed after the current step, outside sofia-sip's callbacks
 * (reap), so nothing on the stack above still points at either. */
static void leg_gone(od_leg_t *leg) {
    if (leg->gone) return;
    leg->state = L_ENDING;
    nua_handle_bind(leg->nh, NULL);
    nua_handle_destroy(leg->nh);
    leg->nh = NULL;
    leg->next_dead = leg->s->dead;
    leg->s->dead = leg;
    leg->gone = 1;
}

static void reap(od_sip_t *s) {
    while (s->dead) {
        od_leg_t *leg = s->dead;
        s->dead = leg->next_dead;
        od_leg_event_t ev = {
            .type = OD_LEG_GONE, .phrase = "", .local_phrase = "", .retry_after = -1};
        if (leg->cb) leg->cb(leg, leg->owner, &ev);
        leg_free(leg);
    }
}

/* An answer that refuses every stream of `offer` (ports set to 0), to
 * confirm a 2xx we are about to end. */
static char *refuse_sdp(const char *offer) {
    size_t n = strlen(offer);
    char *out = malloc(n + 32), *o = out;
    if (!out) return NULL;
    for (const char *p = offer; *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p + 1) : strlen(p);
        const char *sp;
        if (!strncmp(p, "m=", 2) && (sp = memchr(p, ' ', len)) != NULL) {
            const char *rest = memchr(sp + 1, ' ', len - (size_t)(sp + 1 - p));
            memcpy(o, p, (size_t)(sp - p));
            o += sp - p;
            memcpy(o, " 0", 2);
            o += 2;
            if (rest) {
                memcpy(o, rest, len - (size_t)(rest - p));
                o += len - (size_t)(rest - p);
            } else {
                *o++ = '\n';
            }
        } else {
            memcpy(o, p, len);
            o += len;
        }
        p += len;
    }
    *o = 0;
    return out;
}

static void ack_with(nua_handle_t *nh, const char *sdp) {
    if (sdp)
        nua_ack(nh, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(sdp), TAG_END());
    else
        nua_ack(nh, TAG_END());
}

/* The INVITE failed: tell the owner; the leg only waits to be gone now. */
static void fail(od_leg_t *leg, const od_leg_event_t *ev) {
    leg->state = L_ENDING;
    deliver(leg, ev);
}

/* A challenge we do not meet: the leg fails with the far end's own status
 * and phrase (terminated, and so gone, follows). */
static void give_up_challenge(od_leg_t *leg, int status, const char *phrase, const sip_t *sip) {
    od_leg_event_t ev = event_of(OD_LEG_FAILED, status, phrase, sip);
    ev.auth_failed = 1;
    fail(leg, &ev);
}

static int is_stale(const msg_auth_t *au) {
    for (; au; au = au->au_next)
        for (const msg_param_t *p = au->au_params; p && *p; p++)
            if (!strncasecmp(*p, "stale=", 6) && !strncasecmp(*p + 6, "true", 4)) return 1;
    return 0;
}

/* Sends (or sends again) the leg's INVITE, with credentials if it has them. */
static void send_invite(od_leg_t *leg) {
    /* made here, not in the tag list: TAG_IF evaluates its value always */
    sip_cseq_t *cseq = leg->auth && leg->cseq && leg->home
                           ? sip_cseq_create(leg->home, leg->cseq + 1, SIP_METHOD_INVITE)
                           : NULL;
    leg->sends++;
    nua_invite(leg->nh, NUTAG_URL(leg->to), TAG_IF(*leg->contact, SIPTAG_CONTACT_STR(leg->contact)),
               TAG_IF(leg->proxy, NUTAG_PROXY(leg->proxy)),
               TAG_IF(leg->sdp, SIPTAG_CONTENT_TYPE_STR("application/sdp")),
               TAG_IF(leg->sdp, SIPTAG_PAYLOAD_STR(leg->sdp)),
               TAG_IF(leg->headers, SIPTAG_HEADER_STR(leg->headers)),
               TAG_IF(leg->auth, SIPTAG_HEADER_STR(leg->auth)),
               TAG_IF(leg->auth && *leg->call_id, SIPTAG_CALL_ID_STR(leg->call_id)),
               TAG_IF(leg->auth && leg->from, SIPTAG_FROM_STR(leg->from)),
               TAG_IF(cseq, SIPTAG_CSEQ(cseq)), TAG_END());
}

/* "Authorization: Digest ..." (or Proxy-) from sofia's credentials header,
 * written from its scheme and parameters: nua keeps no credentials given
 * as header objects on a new INVITE of the handle, and printing the header
 * object loses its last parameter (response=). NULL if out of memory. */
static char *credentials_line(int status, const msg_auth_t *cr) {
    size_t n = 64;
    for (const msg_param_t *p = cr->au_params; p && *p; p++)
        n += strlen(*p) + 2;
    char *line = cr->au_scheme ? malloc(n) : NULL;
    if (!line) return NULL;
    int o = snprintf(line, n, "%s: %s ", status == 401 ? "Authorization" : "Proxy-Authorization",
                     cr->au_scheme);
    for (const msg_param_t *p = cr->au_params; p && *p; p++)
        o += snprintf(line + o, n - (size_t)o, "%s%s", p == cr->au_params ? "" : ", ", *p);
    return line;
}

/* The credentials that answer `au` for this leg's Request-URI, exactly (its
 * uri=), as a header line; NULL if they cannot be made. */
static char *answer_challenge(od_leg_t *leg, int status, const msg_auth_t *au) {
    if (!leg->home) leg->home = su_home_new(sizeof *leg->home);
    url_t *url = leg->home ? url_make(leg->home, leg->to) : NULL;
    msg_header_t *h = NULL;
    if (!url ||
        auc_challenge(&leg->auc, leg->home, au,
                      status == 401 ? sip_authorization_class : sip_proxy_authorization_class) <
            0 ||
        auc_all_credentials(&leg->auc, NULL, NULL, leg->username,
                            leg->password ? leg->password : "") <= 0 ||
        auc_authorization_headers(&leg->auc, leg->home, "INVITE", url, NULL, &h) < 0 || !h)
        return NULL;
    return credentials_line(status, (const msg_auth_t *)h);
}

/* A 401/407: met with the credentials the first time, and again only
 * while the far end says the nonce was stale, MAX_SENDS INVITEs in all.
 * The INVITE goes again in the same call (Call-ID, From tag, CSeq + 1)
 * once nua has closed this one (send_invite, on terminated). */
static void on_challenge(od_leg_t *leg, int status, const char *phrase, const sip_t *sip) {
    const msg_auth_t *au = status == 401 ? sip->sip_www_authenticate : sip->sip_proxy_authenticate;
    char *line = leg->username && !leg->hangup && au && leg->sends < MAX_SENDS &&
                         (leg->auths == 0 || is_stale(au))
                     ? answer_challenge(leg, status, au)
                     : NULL;
    if (!line) {
        give_up_challenge(leg, status, phrase, sip);
        return;
    }
    free(leg->auth);
    leg->auth = line;
    leg->auths++;
    if (sip->sip_call_id) snprintf(leg->call_id, sizeof leg->call_id, "%s", sip->sip_call_id->i_id);
    leg->cseq = sip->sip_cseq ? sip->sip_cseq->cs_seq : 0;
    leg->from =
        sip->sip_from ? sip_header_as_string(leg->home, (sip_header_t *)sip->sip_from) : NULL;
    leg->resend = 1;
}

static void on_invite_response(od_leg_t *leg, int status, const char *phrase, const sip_t *sip) {
    if (leg->state == L_ENDING) return;
    if (leg->state != L_CALLING) { /* our re-INVITE */
        if (status < 200 || !leg->reinvite_out) return;
        leg->reinvite_out = 0;
        if (status < 300 && !is_local(sip)) ack_with(leg->nh, NULL);
        od_leg_event_t ev = event_of(OD_LEG_REANSWER, status, phrase, sip);
        if (status >= 300) ev.sdp = NULL, ev.sdp_len = 0;
        deliver(leg, &ev);
        return;
    }
    if (status < 200) {
        if (status <= 100 || is_local(sip)) return; /* 100, or nua's own restarts */
        od_leg_event_t ev = event_of(OD_LEG_PROVISIONAL, status, phrase, sip);
        if (ev.sdp) {
            free(leg->early_sdp);
            leg->early_sdp = strndup(ev.sdp, ev.sdp_len);
        }
        deliver(leg, &ev);
        return;
    }
    if (status < 300 && !is_local(sip)) {
        od_leg_event_t ev = event_of(OD_LEG_ANSWERED, status, phrase, sip);
        if (!ev.sdp && leg->early_sdp) {
            ev.sdp = leg->early_sdp;
            ev.sdp_len = strlen(leg->early_sdp);
        }
        leg->state = L_ANSWERED;
        if (ev.sdp) leg->offer = strndup(ev.sdp, ev.sdp_len);
        deliver(leg, &ev);
        return;
    }
    if ((status == 401 || status == 407) && !is_local(sip)) {
        on_challenge(leg, status, phrase, sip);
        return;
    }
    od_leg_event_t ev = event_of(OD_LEG_FAILED, status, phrase, sip);
    char contact[256];
    if (!ev.local && status < 400 && sip && sip->sip_contact &&
        url_e(contact, sizeof contact, sip->sip_contact->m_url) > 0) {
        contact[sizeof contact - 1] = 0;
        ev.contact = contact;
    }
    fail(leg, &ev);
}

static void on_nua(nua_event_t event, int status, char const *phrase, nua_t *nua, od_sip_t *s,
                   nua_handle_t *nh, od_leg_t *leg, sip_t const *sip, tagi_t tags[]) {
    (void)nua;
    switch (event) {
    case nua_r_shutdown:
        if (status >= 200) s->shutdown_done = 1;
        return;
    case nua_i_invite:
        if (!leg) { /* nobody calls a dialer */
            nua_respond(nh, 403, "outdial does not take calls", TAG_END());
            nua_handle_destroy(nh);
            return;
        }
        if (leg->reinvite_in || leg->reinvite_out || leg->state != L_UP) {
            nua_respond(nh, 491, sip_491_Request_pending, TAG_END());
            return;
        }
        leg->reinvite_in = 1;
        {
            od_leg_event_t ev = event_of(OD_LEG_REOFFER, 0, NULL, sip);
            deliver(leg, &ev);
        }
        return;
    default: break;
    }
    if (!leg) {
        if (event == nua_i_state) {
            int cs = -1;
            tl_gets(tags, NUTAG_CALLSTATE_REF(cs), TAG_END());
            if (cs == nua_callstate_terminated) nua_handle_destroy(nh);
        }
        return;
    }
    switch (event) {
    case nua_r_invite: on_invite_response(leg, status, phrase, sip); break;
    case nua_i_bye:
        if (leg->state != L_ENDING) {
            leg->state = L_ENDING;
            od_leg_event_t ev = event_of(OD_LEG_BYE, 0, NULL, sip);
            deliver(leg, &ev);
        }
        break;
    case nua_i_state: {
        int cs = -1;
        tl_gets(tags, NUTAG_CALLSTATE_REF(cs), TAG_END());
        if (cs != nua_callstate_terminated) break;
        if (leg->resend && !leg->hangup) { /* the challenge is met: INVITE again */
            leg->resend = 0;
            send_invite(leg);
            break;
        }
        leg_gone(leg);
        break;
    }
    default: break;
    }
}

/* sofia-sip's own output (transport errors, garbage received) into the
 * process's JSON log, one line each, instead of raw text on stderr. Its
 * modules print through su_log_default unless redirected themselves. A
 * line may come in several calls, and a line that starts with a tab
 * continues the one before ("\treported by ..."): a line is logged once
 * the next one starts, or when the loop turns (od_sip_step). */
static char sofia_line[1024];
static size_t sofia_len;
static int sofia_done; /* sofia_line holds a whole line, not logged yet */

static void sofia_flush(void) {
    if (sofia_done && sofia_len) {
        sofia_line[sofia_len] = 0;
        od_logkv(OD_LOG_WARN, sofia_line, "source", "sofia-sip", (const char *)NULL);
    }
    if (sofia_done) sofia_len = 0, sofia_done = 0;
}

__attribute__((format(printf, 2, 0))) static void sofia_log(void *stream, char const *fmt,
                                                            va_list ap) {
    (void)stream;
    char chunk[1024];
    int n = fmt ? vsnprintf(chunk, sizeof chunk, fmt, ap) : 0;
    for (int i = 0; i < n && chunk[i]; i++) {
        char ch = chunk[i];
        if (sofia_done && ch == '\t') { /* a continuation: one line with the last */
            sofia_done = 0;
            ch = ' ';
        }
        sofia_flush();
        if (ch == '\n')
            sofia_done = 1;
        else if (sofia_len < sizeof sofia_line - 1) /* the rest of an over-long line is dropped */
            sofia_line[sofia_len++] = ch;
    }
}

od_sip_t *od_sip_new(const char *bind_url, char *errstr, size_t errstr_size) {
    od_sip_t *s = calloc(1, sizeof *s);
    if (!s || su_init() != 0) {
        snprintf(errstr, errstr_size, "sip: cannot initialise sofia-sip");
        free(s);
        return NULL;
    }
    su_home_init(s->home);
    su_log_redirect(su_log_default, sofia_log, NULL);
    /* "sip:host:port" of the bind URL, for a Contact that names a transport
     * (nua's own default names none); not for a wildcard address. */
    if (!strchr(bind_url, '*') && !strstr(bind_url, "0.0.0.0") && !strchr(bind_url, ';'))
        snprintf(s->contact, sizeof s->contact, "%s", bind_url);
    s->root = su_root_create(s);
    if (s->root) su_root_threading(s->root, 0);
    /* A large INVITE stays on UDP (to a UDP-only agent, the context
     * headers can be kilobytes): nta would otherwise move anything over
     * 1,300 bytes to TCP on its own. */
    if (s->root)
        s->nua =
            nua_create(s->root, on_nua, s, NUTAG_URL(bind_url), NTATAG_UDP_MTU(65535), TAG_END());
    if (!s->nua) {
        snprintf(errstr, errstr_size, "sip: cannot listen on %s", bind_url);
        if (s->root) su_root_destroy(s->root);
        su_home_deinit(s->home);
        su_deinit();
        free(s);
        return NULL;
    }
    /* Signaling only: no media engine, ACKs sent by us with the relayed
     * answer, no session timers or 100rel we would have to honour, no
     * INVITE re-sent by the library after a 503 with Retry-After. */
    nua_set_params(s->nua, NUTAG_MEDIA_ENABLE(0), NUTAG_AUTOACK(0), NUTAG_AUTOANSWER(0),
                   NUTAG_MAX_RETRY_AFTER(0), NUTAG_RETRY_COUNT(0), NUTAG_SESSION_TIMER(0),
                   NUTAG_EARLY_MEDIA(0), SIPTAG_SUPPORTED_STR(""), NUTAG_ENABLEMESSAGE(0),
                   TAG_END());
    return s;
}

void od_sip_step(od_sip_t *s, long timeout_ms) {
    su_root_step(s->root, timeout_ms);
    sofia_flush();
    reap(s);
}

void od_sip_destroy(od_sip_t *s, long timeout_ms) {
    if (!s) return;
    nua_shutdown(s->nua);
    for (long waited = 0; !s->shutdown_done && waited < timeout_ms; waited += 50)
        od_sip_step(s, 50);
    nua_destroy(s->nua);
    reap(s);
    su_root_destroy(s->root);
    su_home_deinit(s->home);
    su_deinit();
    free(s);
}

static int on_fd(od_sip_t *s, su_wait_t *w, struct od_watch *watch) {
    (void)s;
    (void)w;
    watch->fn(watch->arg);
    return 0;
}

int od_sip_watch_fd(od_sip_t *s, int fd, void (*fn)(void *), void *arg) {
    struct od_watch *watch = su_zalloc(s->home, sizeof *watch);
    su_wait_t w[1];
    if (!watch || su_wait_create(w, fd, SU_WAIT_IN) != 0) return -1;
    watch->fn = fn;
    watch->arg = arg;
    int id = su_root_register(s->root, w, on_fd, watch, 0);
    return id > 0 ? id : -1;
}

void od_sip_unwatch(od_sip_t *s, int id) {
    if (id > 0) su_root_deregister(s->root, id);
}

od_sip_timer_t *od_sip_timer_new(od_sip_t *s) {
    od_sip_timer_t *t = calloc(1, sizeof *t);
    if (t && !(t->t = su_timer_create(su_root_task(s->root), 0))) {
        free(t);
        return NULL;
    }
    return t;
}

static void on_timer(od_sip_t *s, su_timer_t *st, od_sip_timer_t *t) {
    (void)s;
    (void)st;
    t->fn(t->arg);
}

void od_sip_timer_set(od_sip_timer_t *t, long ms, void (*fn)(void *), void *arg) {
    t->fn = fn;
    t->arg = arg;
    su_timer_set_interval(t->t, on_timer, t, ms);
}

void od_sip_timer_stop(od_sip_timer_t *t) {
    if (t) su_timer_reset(t->t);
}

void od_sip_timer_free(od_sip_timer_t *t) {
    if (!t) return;
    su_timer_destroy(t->t);
    free(t);
}

/* "transport=tcp" (or tls) if the request URI asks for it: our Contact
 * then says so too, so that the far end's in-dialog requests come back
 * over the same transport. NULL for UDP. */
static const char *contact_transport(const char *uri) {
    if (strstr(uri, ";transport=tcp")) return "transport=tcp";
    if (strstr(uri, ";transport=tls")) return "transport=tls";
    return NULL;
}

od_leg_t *od_leg_invite(od_sip_t *s, const od_leg_invite_t *inv, od_leg_cb *cb, void *owner) {
    const char *transport = contact_transport(inv->to);
    od_leg_t *leg = calloc(1, sizeof *leg);
    if (!leg) return NULL;
    leg->s = s;
    leg->cb = cb;
    leg->owner = owner;
    leg->username = inv->username && *inv->username ? strdup(inv->username) : NULL;
    leg->password = inv->password ? strdup(inv->password) : NULL;
    leg->to = strdup(inv->to);
    leg->proxy = inv->proxy && *inv->proxy ? strdup(inv->proxy) : NULL;
    leg->sdp = inv->sdp ? strdup(inv->sdp) : NULL;
    leg->headers = inv->headers ? strdup(inv->headers) : NULL;
    if (transport && *s->contact)
        snprintf(leg->contact, sizeof leg->contact, "<%s;%s>", s->contact, transport);
    leg->nh = leg->to ? nua_handle(s->nua, leg, SIPTAG_TO_STR(inv->to), SIPTAG_FROM_STR(inv->from),
                                   TAG_END())
                      : NULL;
    if (!leg->nh) {
        leg_free(leg);
        return NULL;
    }
    send_invite(leg);
    return leg;
}

void od_leg_ack(od_leg_t *leg, const char *sdp) {
    if (leg->gone || leg->state != L_ANSWERED) return;
    leg->state = L_UP;
    free(leg->offer);
    leg->offer = NULL;
    ack_with(leg->nh, sdp);
}

void od_leg_respond(od_leg_t *leg, int status, const char *phrase, const char *sdp) {
    if (leg->gone || !leg->reinvite_in) return;
    leg->reinvite_in = 0;
    if (sdp && status < 300)
        nua_respond(leg->nh, status, phrase, SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                    SIPTAG_PAYLOAD_STR(sdp), TAG_END());
    else
        nua_respond(leg->nh, status, phrase, TAG_END());
}

void od_leg_reinvite(od_leg_t *leg, const char *sdp) {
    if (leg->gone || leg->state != L_UP || leg->reinvite_out) return;
    leg->reinvite_out = 1;
    nua_invite(leg->nh, TAG_IF(sdp, SIPTAG_CONTENT_TYPE_STR("application/sdp")),
               TAG_IF(sdp, SIPTAG_PAYLOAD_STR(sdp)), TAG_END());
}

void od_leg_hangup(od_leg_t *leg) {
    if (leg->gone) return;
    switch (leg->state) {
    case L_CALLING:
        if (!leg->hangup) nua_cancel(leg->nh, TAG_END());
        leg->hangup = 1;
        return;
    case L_ANSWERED: {
        char *refused = leg->offer ? refuse_sdp(leg->offer) : NULL;
        ack_with(leg->nh, refused);
        free(refused);
        break;
    }
    case L_UP:
        if (leg->reinvite_in) od_leg_respond(leg, 487, "Request Terminated", NULL);
        break;
    case L_ENDING: return;
    }
    leg->state = L_ENDING;
    nua_bye(leg->nh, TAG_END());
}
