/* HTTP server over libmicrohttpd (see httpd.h). Each request's state (its
 * body so far) lives in the connection's per-request pointer from the
 * first call of the access handler (headers complete) to the completion
 * notice; `inflight` counts those, so that a graceful stop knows when the
 * requests in progress have been answered.
 *
 * Threads: libmicrohttpd's internal thread pool with poll(), and
 * suspend/resume for deferred answers. Not epoll: in libmicrohttpd 0.9.75
 * (Debian 12) epoll mode left the first request of connections accepted
 * in a burst unread (256 wrk connections, each with its GET in the
 * socket, and the thread asleep) until some other event woke the thread.
 *
 * A deferred request's connection is
 * suspended when the callback returns (unless its answer already came);
 * od_httpd_complete stores the answer and resumes it, and libmicrohttpd
 * then calls the access handler again, which queues the stored answer. A
 * suspended connection is neither polled nor timed out nor freed, so the
 * completer may touch it until it has resumed it, and not after. */
#include "httpd/httpd.h"
#include "core/clock.h"
#include "core/log.h"

#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct od_httpd {
    struct MHD_Daemon *d;
    od_httpd_conf_t conf;
    atomic_int inflight;
    atomic_int deferred; /* deferred requests not completed yet */
    int port;
};

/* A request's state; also the handle of a deferred answer. */
typedef struct od_httpd_later {
    od_httpd_t *server;
    struct MHD_Connection *conn;
    od_buf_t body;
    size_t discarded;   /* bytes of a body over the limit, read and dropped */
    int64_t started_ms; /* when its headers were in (od_httpd_conf_t.on_answer) */
    int answered;       /* a response is queued (413 before the body was read) */
    /* Deferred answers: `deferred` and the rest are set on the
     * connection's thread; `mu` guards `ready`, `suspended` and `resp`
     * between it and the completer. */
    int deferred;
    pthread_mutex_t mu;
    int ready, suspended;
    od_httpd_resp_t resp;
} req_state_t;

/* A body over the limit whose length was not announced (chunked) is read
 * and dropped up to this many times the limit, to answer 413 at its end;
 * past that the connection is closed without an answer. */
#define DISCARD_FACTOR 4

static const char *field(const od_httpd_field_t *f, int n, const char *name, int nocase) {
    for (int i = 0; i < n; i++)
        if (f[i].name && (nocase ? !strcasecmp(f[i].name, name) : !strcmp(f[i].name, name)))
            return f[i].value;
    return NULL;
}

const char *od_httpd_header(const od_httpd_req_t *req, const char *name) {
    if (!req->conn) return field(req->headers, req->nheaders, name, 1);
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *od_httpd_query(const od_httpd_req_t *req, const char *name) {
    if (!req->conn) return field(req->args, req->nargs, name, 0);
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

void od_httpd_resp_header(od_httpd_resp_t *resp, const char *name, const char *value) {
    if (resp->nheaders >= OD_HTTPD_RESP_HEADERS) return;
    resp->headers[resp->nheaders].name = strdup(name);
    resp->headers[resp->nheaders].value = strdup(value);
    resp->nheaders++;
}

static void resp_free(od_httpd_resp_t *r) {
    for (int i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    r->nheaders = 0;
    od_buf_free(&r->body);
}

od_httpd_later_t *od_httpd_defer(const od_httpd_req_t *req) {
    req_state_t *st = req->state;
    if (!st->deferred) {
        st->deferred = 1;
        atomic_fetch_add(&st->server->deferred, 1);
    }
    return st;
}

void od_httpd_complete(od_httpd_later_t *st, od_httpd_resp_t *resp) {
    od_httpd_t *s = st->server;
    pthread_mutex_lock(&st->mu);
    st->resp = *resp;
    memset(resp, 0, sizeof *resp);
    st->ready = 1;
    struct MHD_Connection *conn = st->suspended ? st->conn : NULL;
    pthread_mutex_unlock(&st->mu);
    /* From here st may be freed by the connection's thread: only conn,
     * still suspended, is used. */
    if (conn) MHD_resume_connection(conn);
    atomic_fetch_sub(&s->deferred, 1);
}

static enum MHD_Result send_resp(req_state_t *st, od_httpd_resp_t *r) {
    struct MHD_Connection *conn = st->conn;
    const od_httpd_conf_t *c = &st->server->conf;
    if (c->on_answer)
        c->on_answer(c->ctx, r->status, (double)(od_clock_mono_ms() - st->started_ms) / 1000.0);
    struct MHD_Response *m = MHD_create_response_from_buffer(
        r->body.len, r->body.data ? r->body.data : (void *)"", MHD_RESPMEM_MUST_COPY);
    enum MHD_Result rc = MHD_NO;
    if (m) {
        for (int i = 0; i < r->nheaders; i++)
            MHD_add_response_header(m, r->headers[i].name, r->headers[i].value);
        rc = MHD_queue_response(conn, (unsigned)r->status, m);
        MHD_destroy_response(m);
    }
    resp_free(r);
    return rc;
}

/* 413, with Connection: close; on the first call (Content-Length over the
 * limit) before any of the body is read. */
static enum MHD_Result too_large(od_httpd_t *s, struct MHD_Connection *conn, req_state_t *st) {
    od_httpd_resp_t r = {.status = 413};
    const char *ct = s->conf.error_content_type ? s->conf.error_content_type : "text/plain";
    od_httpd_resp_header(&r, "Content-Type", ct);
    od_httpd_resp_header(&r, "Connection", "close");
    od_buf_puts(&r.body,
                s->conf.error_body_413 ? s->conf.error_body_413 : "request body too large\n");
    st->answered = 1;
    od_buf_free(&st->body);
    return send_resp(st, &r);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls) {
    od_httpd_t *s = cls;
    req_state_t *st = *con_cls;
    if (!st) { /* headers complete, body not read yet */
        st = calloc(1, sizeof *st);
        if (!st) return MHD_NO;
        st->server = s;
        st->conn = conn;
        st->started_ms = od_clock_mono_ms();
        pthread_mutex_init(&st->mu, NULL);
        *con_cls = st;
        atomic_fetch_add(&s->inflight, 1);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > s->conf.body_max) return too_large(s, conn, st);
        return MHD_YES;
    }
    if (st->deferred) { /* resumed: the answer has come */
        if (st->answered) return MHD_YES;
        st->answered = 1;
        return send_resp(st, &st->resp);
    }
    if (st->answered) { /* the rest of a body already refused */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* libmicrohttpd takes no response while a body is coming in (but
         * on the first call, above): what is over the limit is dropped and
         * 413 answered at its end. */
        if (st->discarded || st->body.len + *upload_data_size > s->conf.body_max) {
            st->discarded += *upload_data_size;
            od_buf_free(&st->body);
            *upload_data_size = 0;
            return st->discarded > DISCARD_FACTOR * s->conf.body_max ? MHD_NO : MHD_YES;
        }
        od_buf_append(&st->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (st->discarded) return too_large(s, conn, st);
    od_httpd_req_t req = {.method = method,
                          .path = url,
                          .body = st->body.data ? st->body.data : "",
                          .body_len = st->body.len,
                          .conn = conn,
                          .state = st};
    od_httpd_resp_t resp = {.status = 500};
    s->conf.handler(s->conf.ctx, &req, &resp);
    if (!st->deferred) {
        st->answered = 1;
        return send_resp(st, &resp);
    }
    resp_free(&resp);
    pthread_mutex_lock(&st->mu);
    if (!st->ready) { /* park the connection until od_httpd_complete */
        st->suspended = 1;
        MHD_suspend_connection(conn);
        pthread_mutex_unlock(&st->mu);
        return MHD_YES;
    }
    pthread_mutex_unlock(&st->mu);
    st->answered = 1; /* answered before the callback returned */
    return send_resp(st, &st->resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    od_httpd_t *s = cls;
    req_state_t *st = *con_cls;
    if (!st) return;
    od_buf_free(&st->body);
    resp_free(&st->resp);
    pthread_mutex_destroy(&st->mu);
    free(st);
    *con_cls = NULL;
    atomic_fetch_sub(&s->inflight, 1);
}

/* libmicrohttpd's own messages: its format strings, checked as such. */
__attribute__((format(printf, 2, 0))) static void on_log(void *cls, const char *fmt, va_list ap) {
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    od_logkv(OD_LOG_WARN, "http server", "err", msg, (const char *)NULL);
}

/* Splits "host:port" or "[v6]:port". */
static int split_listen(const char *listen, char *host, size_t hcap, char *port, size_t pcap) {
    const char *colon;
    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');
        if (!end || end[1] != ':') return -1;
        snprintf(host, hcap, "%.*s", (int)(end - listen - 1), listen + 1);
        colon = end + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon) return -1;
        snprintf(host, hcap, "%.*s", (int)(colon - listen), listen);
    }
    snprintf(port, pcap, "%s", colon + 1);
    return *host && *port ? 0 : -1;
}

od_httpd_t *od_httpd_start(const od_httpd_conf_t *conf, char *errstr, size_t n) {
    char host[256], port[16];
    if (!conf->listen || split_listen(conf->listen, host, sizeof host, port, sizeof port)) {
        snprintf(errstr, n, "listen address \"%s\" is not host:port",
                 conf->listen ? conf->listen : "");
        return NULL;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV},
                    *ai = NULL;
    int gai = getaddrinfo(host, port, &hints, &ai);
    if (gai) {
        snprintf(errstr, n, "listen address %s: %s", conf->listen, gai_strerror(gai));
        return NULL;
    }
    od_httpd_t *s = calloc(1, sizeof *s);
    s->conf = *conf;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    s->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, s, MHD_OPTION_EXTERNAL_LOGGER, on_log, s,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(conf->timeout_s > 0 ? conf->timeout_s : 10),
        MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(conf->max_connections > 0 ? conf->max_connections : 1024),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)OD_HTTPD_HEADERS_MAX + 4096,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(conf->threads > 0 ? conf->threads : 2),
        MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024), MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->d) {
        snprintf(errstr, n, "cannot listen on %s (in use? not an address of this host?)",
                 conf->listen);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : atoi(port);
    return s;
}

int od_httpd_port(const od_httpd_t *s) { return s->port; }

void od_httpd_stop(od_httpd_t *s, int drain_ms) {
    if (!s) return;
    MHD_socket fd = MHD_quiesce_daemon(s->d); /* no new connections from here on */
    if (fd != MHD_INVALID_SOCKET) close(fd);
    int64_t deadline = od_clock_mono_ms() + drain_ms;
    while (atomic_load(&s->inflight) > 0 && od_clock_mono_ms() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&s->inflight) > 0)
        od_logkv(OD_LOG_WARN, "http server: requests still in progress at stop",
                 (const char *)NULL);
    /* A deferred request's owner will complete it: wait, or the completer
     * would touch a freed connection. */
    for (int i = 0; atomic_load(&s->deferred) > 0; i++) {
        if (i % 500 == 499)
            od_logkv(OD_LOG_WARN, "http server: waiting for deferred answers", (const char *)NULL);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(s->d);
    free(s);
}
