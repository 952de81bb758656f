/* libcurl multi behind od_http_*. */
#include "webhook/http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct od_http {
    CURLM *multi;
    int allow_private, running;
    long timeout_ms;
    od_http_done_cb *done;
    void *arg;
};

typedef struct {
    void *ctx;
    struct curl_slist *headers;
    char *body;
    int refused;
    char error[CURL_ERROR_SIZE];
} xfer_t;

/* Whether an IPv4 address (host order) is one a webhook may not reach. */
static int private_v4(uint32_t a) {
    return (a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 || (a >> 16) == 0xa9fe ||
           (a >> 20) == 0xac1 || (a >> 16) == 0xc0a8 || (a >> 22) == (100u << 2 | 1) ||
           (a >> 28) >= 0xe || (a >> 8) == 0xc00000 /* 192.0.0.0/24, IETF */ ||
           (a >> 17) == (0xc612u >> 1) /* 198.18.0.0/15, benchmarking */;
}

/* Whether an address is one a webhook may not reach by default. */
static int private_addr(const struct sockaddr *sa) {
    if (sa->sa_family == AF_INET)
        return private_v4(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        static const unsigned char nat64[12] = {0, 0x64, 0xff, 0x9b};            /* 64:ff9b::/96 */
        static const unsigned char nat64_local[6] = {0, 0x64, 0xff, 0x9b, 0, 1}; /* /48 */
        /* Addresses that carry an IPv4 address (NAT64 reaches it, and
         * ::a.b.c.d is the deprecated IPv4-compatible form some stacks
         * still route to it): refused, whatever the IPv4 address. */
        if (!memcmp(a->s6_addr, nat64, 12) || !memcmp(a->s6_addr, nat64_local, 6) ||
            IN6_IS_ADDR_V4COMPAT(a))
            return 1;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            uint32_t v4;
            memcpy(&v4, &a->s6_addr[12], 4);
            return private_v4(ntohl(v4));
        }
        return IN6_IS_ADDR_LOOPBACK(a) || IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LINKLOCAL(a) ||
               IN6_IS_ADDR_SITELOCAL(a) || IN6_IS_ADDR_MULTICAST(a) ||
               (a->s6_addr[0] & 0xfe) == 0xfc;
    }
    return 1;
}

static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr) {
    xfer_t *x = clientp;
    (void)purpose;
    if (private_addr(&addr->addr)) {
        x->refused = 1;
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype, addr->protocol);
}

static size_t discard(char *p, size_t size, size_t n, void *u) {
    (void)p;
    (void)u;
    return size * n;
}

od_http_t *od_http_new(int allow_private, long timeout_ms, od_http_done_cb *done, void *arg) {
    static int inited;
    if (!inited++) curl_global_init(CURL_GLOBAL_DEFAULT);
    od_http_t *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->multi = curl_multi_init();
    h->allow_private = allow_private;
    h->timeout_ms = timeout_ms;
    h->done = done;
    h->arg = arg;
    /* no per-host cap: orgs sharing a host (a webhook relay service) must not
     * wait behind each other; the loop caps what each org has in flight */
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 256L);
    return h;
}

int od_http_post(od_http_t *h, const char *url, const char *const *headers, int nheaders,
                 const char *body, size_t len, void *ctx) {
    xfer_t *x = calloc(1, sizeof *x);
    CURL *e = curl_easy_init();
    if (!x || !e || !(x->body = malloc(len + 1))) {
        free(x);
        curl_easy_cleanup(e);
        return -1;
    }
    memcpy(x->body, body, len);
    x->ctx = ctx;
    for (int i = 0; i < nheaders; i++)
        x->headers = curl_slist_append(x->headers, headers[i]);
    x->headers = curl_slist_append(x->headers, "Expect:"); /* no 100-continue round trip */
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "outdial-webhooks/1");
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, h->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, h->timeout_ms < 5000 ? h->timeout_ms : 5000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->error);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    if (!h->allow_private) {
        curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
        curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x);
    }
    curl_multi_add_handle(h->multi, e);
    h->running++;
    return 0;
}

int od_http_run(od_http_t *h, int wait_ms) {
    int running = 0, left;
    curl_multi_perform(h->multi, &running);
    if (running) {
        curl_multi_poll(h->multi, NULL, 0, wait_ms, NULL);
        curl_multi_perform(h->multi, &running);
    }
    CURLMsg *m;
    while ((m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        CURL *e = m->easy_handle;
        xfer_t *x = NULL;
        long status = 0;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        od_http_result_t r = {(int)status, m->data.result == CURLE_OPERATION_TIMEDOUT, x->refused,
                              ""};
        char why[CURL_ERROR_SIZE + 64];
        if (x->refused) {
            r.error = "refused: the destination is a private or loopback address";
        } else if (m->data.result != CURLE_OK) {
            snprintf(why, sizeof why, "%s%s%s", curl_easy_strerror(m->data.result),
                     x->error[0] ? ": " : "", x->error);
            r.error = why;
        }
        h->done(x->ctx, &r, h->arg);
        curl_multi_remove_handle(h->multi, e);
        curl_easy_cleanup(e);
        curl_slist_free_all(x->headers);
        free(x->body);
        free(x);
        h->running--;
    }
    return h->running;
}

void od_http_free(od_http_t *h) {
    if (!h) return;
    while (h->running)
        od_http_run(h, 100); /* what is in flight finishes or times out */
    curl_multi_cleanup(h->multi);
    free(h);
}
