/* HTTP POSTs with libcurl's multi interface, many at once on one thread,
 * connections reused per host. The only code that includes libcurl.
 * Destinations that resolve to loopback, private, link-local or other
 * non-public addresses are refused unless allowed (SSRF): the check runs
 * on the address curl is about to connect to, so DNS tricks do not pass. */
#ifndef OD_WEBHOOK_HTTP_H
#define OD_WEBHOOK_HTTP_H

#include <stddef.h>

typedef struct od_http od_http_t;

typedef struct {
    int status;        /* HTTP status, 0 if there was no response */
    int timed_out;     /* no complete response within the time-out */
    int refused;       /* not sent: the destination is not allowed */
    const char *error; /* "" if a response came */
} od_http_result_t;

typedef void od_http_done_cb(void *ctx, const od_http_result_t *r, void *arg);

od_http_t *od_http_new(int allow_private, long timeout_ms, od_http_done_cb *done, void *arg);
void od_http_free(od_http_t *h);

/* Queues a POST of body (copied) with the header lines (copied); `ctx` comes
 * back to the done callback. Returns 0, or -1 (then done is not called). */
int od_http_post(od_http_t *h, const char *url, const char *const *headers, int nheaders,
                 const char *body, size_t len, void *ctx);

/* Moves transfers on for up to wait_ms, calling done for each finished one.
 * Returns how many are still in flight. */
int od_http_run(od_http_t *h, int wait_ms);

#endif
