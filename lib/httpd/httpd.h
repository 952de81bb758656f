/* HTTP server adapter: the only code that includes libmicrohttpd. A server
 * on host:port that hands each complete request (method, path, headers,
 * query arguments, a body of bounded size) to one callback and sends what
 * it answers. Generic on purpose: the API (lib/api) uses it, and so will
 * /metrics and health probes in every binary.
 *
 * Threads: a small pool (conf.threads), each serving many connections
 * with epoll, so thousands of keep-alive clients cost no thread each. The
 * callback runs on the thread of its connection and must be thread-safe;
 * while it runs, the other connections of that thread wait, so it should
 * be quick (a short database query is fine). A callback that must wait
 * for something slow (a broker's acknowledgement) defers its answer:
 * od_httpd_defer() parks the connection without a thread, and
 * od_httpd_complete(), from any thread, answers it later.
 *
 * What the server guarantees before the callback runs: the
 * headers fit in OD_HTTPD_HEADERS_MAX bytes (else libmicrohttpd answers 431
 * by itself), the body is at most body_max bytes (else 413, without reading
 * or keeping the rest), and a client silent for timeout_s seconds is
 * disconnected (a slow or stalled client cannot hold a thread forever). */
#ifndef OD_HTTPD_H
#define OD_HTTPD_H

#include "core/buf.h"

#include <stddef.h>

#define OD_HTTPD_HEADERS_MAX (32 * 1024)
#define OD_HTTPD_RESP_HEADERS 8

typedef struct od_httpd od_httpd_t;

typedef struct {
    const char *name, *value;
} od_httpd_field_t;

/* One request, valid during the callback only. */
typedef struct {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* decoded, without the query string */
    const char *body;   /* NUL-terminated (the NUL is not counted); "" if none */
    size_t body_len;
    void *conn;  /* internal; NULL: a request built outside the server */
    void *state; /* internal */
    /* A request built outside the server (unit tests, fuzzing: conn NULL)
     * brings its headers and query arguments here; od_httpd_defer must not
     * be called on it. */
    const od_httpd_field_t *headers, *args;
    int nheaders, nargs;
} od_httpd_req_t;

/* A request header by name (case-insensitive), or NULL. */
const char *od_httpd_header(const od_httpd_req_t *req, const char *name);
/* A query argument (?name=value, decoded), or NULL. */
const char *od_httpd_query(const od_httpd_req_t *req, const char *name);

/* What the callback answers: status, headers, body. Starts as 500 with no
 * body, so a callback that forgets to answer fails loudly. */
typedef struct {
    int status;
    od_buf_t body;
    struct {
        char *name, *value;
    } headers[OD_HTTPD_RESP_HEADERS];
    int nheaders;
} od_httpd_resp_t;

/* Adds a response header (copied). Past OD_HTTPD_RESP_HEADERS it is dropped. */
void od_httpd_resp_header(od_httpd_resp_t *resp, const char *name, const char *value);

/* Called once per complete request, on the connection's thread. */
typedef void (*od_httpd_handler_t)(void *ctx, const od_httpd_req_t *req, od_httpd_resp_t *resp);

/* A request whose answer comes later. */
typedef struct od_httpd_later od_httpd_later_t;

/* From the callback only: the answer will come later, by
 * od_httpd_complete() on the returned handle; what the callback leaves in
 * its resp is then ignored (and freed). The connection waits without
 * holding a thread. The caller must complete every deferred request, and
 * soon: od_httpd_stop waits for them. @locality: the callback's thread. */
od_httpd_later_t *od_httpd_defer(const od_httpd_req_t *req);

/* Answers a deferred request with resp (its body and headers are taken;
 * resp is left empty). Exactly once per handle, which is invalid after
 * the call. Any thread, also before the callback has returned. */
void od_httpd_complete(od_httpd_later_t *later, od_httpd_resp_t *resp);

typedef struct {
    const char *listen;  /* "host:port", "[v6]:port"; port 0 picks a free one */
    size_t body_max;     /* larger bodies are answered 413 */
    int timeout_s;       /* a connection idle this long is closed */
    int max_connections; /* more are refused at accept */
    int threads;         /* server threads (each serves many connections); 0: 2 */
    od_httpd_handler_t handler;
    void *ctx;
    /* Optional: told of every answer as it is sent (its status and the
     * seconds since the request's headers were in), on a server thread. */
    void (*on_answer)(void *ctx, int status, double seconds);
    /* Sent with 413 and as the body of the server's own errors, e.g.
     * "application/json" and {"error":...}; NULL: text/plain. */
    const char *error_content_type;
    const char *error_body_413;
} od_httpd_conf_t;

/* Binds and starts serving. Returns NULL with a message in errstr. */
od_httpd_t *od_httpd_start(const od_httpd_conf_t *conf, char *errstr, size_t errstr_size);

/* The port listened on (useful with port 0). */
int od_httpd_port(const od_httpd_t *s);

/* Graceful stop: stops accepting connections at once, lets the requests in
 * progress finish and be answered for up to drain_ms, then closes every
 * connection and frees. Deferred requests are waited for past drain_ms,
 * since only their owner can answer them. NULL is a no-op. @locality: not
 * from a callback. */
void od_httpd_stop(od_httpd_t *s, int drain_ms);

#endif
