/* webhook_receiver: a local webhook endpoint for tests and the demo. It
 * listens on 127.0.0.1:PORT, verifies each POST's Standard Webhooks
 * signature (webhook-id, webhook-timestamp, webhook-signature) with the
 * secret: one of the header's signatures must be the secret's. It keeps
 * connections alive, and answers by path:
 *   /ok     200
 *   /flaky  503 to the first two attempts of each event, then 200
 *   /stall  the first attempt of each event waits 3 s before answering
 *           (longer than the sender's time-out), later ones get 200
 *   /gone   410 (final)
 *   /slow   200 after 2 s, every time
 *   /hang   never answers: holds the connection until the sender closes it
 *           (logged with status 0 when the request has been read)
 * One line per request on stdout:
 *   <unix ms> <path> <event_id> <call_id> <seq> <type> sig=<ok|bad|none> <status> conn=<n>
 * and each body is saved as DIR/<event_id>.json with its three webhook-*
 * headers, as received, in DIR/<event_id>.hdr when --dir is given (for
 * verifiers of their own: the openssl CLI, Python's standardwebhooks). */
#define _GNU_SOURCE /* memmem */
#include "webhook/sign.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *secret = "", *dir;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char id[40];
    int n;
} seen[65536];
static int nseen, nconn;

static int attempts_of(const char *id) { /* counts this attempt; under mu */
    for (int i = 0; i < nseen; i++)
        if (!strcmp(seen[i].id, id)) return ++seen[i].n;
    if (nseen < 65536) {
        snprintf(seen[nseen].id, sizeof seen[0].id, "%s", id);
        seen[nseen++].n = 1;
    }
    return 1;
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *header(const char *head, const char *name, char *out, size_t cap) {
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n"))
        if (!strncasecmp(p + 2, name, n) && p[2 + n] == ':') {
            const char *v = p + 3 + n, *e = strstr(v, "\r\n");
            if (!e) e = v + strlen(v); /* the last line: the blank line's CR is a NUL */
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%.*s", (int)(e - v), v);
            return out;
        }
    return NULL;
}

static void save(const char *id, const char *hdr, const char *body, size_t len) {
    char path[512];
    if (!dir) return;
    snprintf(path, sizeof path, "%s/%s.json", dir, id);
    FILE *f = fopen(path, "w");
    if (f) fwrite(body, 1, len, f), fclose(f);
    snprintf(path, sizeof path, "%s/%s.hdr", dir, id);
    if ((f = fopen(path, "w"))) fputs(hdr, f), fclose(f);
}

/* "ok" if one of the space-separated signatures in sig is the one the
 * secret makes for (wid, t, body); "bad" otherwise. */
static const char *verify(const char *wid, const char *ts, const char *sig, const char *body,
                          size_t len) {
    const char *secrets[] = {secret};
    od_buf_t want = {0};
    od_webhook_signature(secrets, 1, wid, atoll(ts), body, len, &want);
    const char *v = "bad";
    for (const char *p = sig; want.len && (p = strstr(p, want.data)); p++)
        if ((p == sig || p[-1] == ' ') && (p[want.len] == ' ' || !p[want.len])) {
            v = "ok";
            break;
        }
    od_buf_free(&want);
    return v;
}

static void *serve(void *arg) {
    int fd = (int)(long)arg, conn;
    char buf[1 << 16];
    size_t have = 0;
    pthread_mutex_lock(&mu);
    conn = ++nconn;
    pthread_mutex_unlock(&mu);
    for (;;) {
        char *end;
        while (!(end = memmem(buf, have, "\r\n\r\n", 4))) {
            ssize_t r = have < sizeof buf - 1 ? read(fd, buf + have, sizeof buf - 1 - have) : -1;
            if (r <= 0) goto out;
            have += (size_t)r;
        }
        *end = 0;
        char path[256] = "", cl[32] = "0", sig[512] = "", wid[128] = "", ts[32] = "", hdr[800] = "";
        sscanf(buf, "%*s %255s", path);
        size_t len = (size_t)atol(header(buf, "Content-Length", cl, sizeof cl) ? cl : "0");
        size_t body_at = (size_t)(end - buf) + 4;
        if (body_at + len > sizeof buf - 1) goto out;
        while (have < body_at + len) {
            ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
            if (r <= 0) goto out;
            have += (size_t)r;
        }
        char *body = buf + body_at;
        const char *verdict = "none";
        header(buf, "webhook-id", wid, sizeof wid);
        header(buf, "webhook-timestamp", ts, sizeof ts);
        if (header(buf, "webhook-signature", sig, sizeof sig))
            verdict = verify(wid, ts, sig, body, len);
        snprintf(hdr, sizeof hdr, "webhook-id: %s\nwebhook-timestamp: %s\nwebhook-signature: %s\n",
                 wid, ts, sig);
        json_t *ev = json_loadb(body, len, 0, NULL);
        const char *id = json_string_value(json_object_get(ev, "event_id"));
        const char *call = json_string_value(json_object_get(ev, "call_id"));
        const char *type = json_string_value(json_object_get(ev, "type"));
        int seq = (int)json_integer_value(json_object_get(ev, "seq"));
        pthread_mutex_lock(&mu);
        int n = attempts_of(id ? id : "-");
        if (id) save(id, hdr, body, len);
        pthread_mutex_unlock(&mu);
        if (!strcmp(path, "/hang")) {
            pthread_mutex_lock(&mu);
            printf("%lld %s %s %s %d %s sig=%s 0 conn=%d\n", now_ms(), path, id ? id : "-",
                   call ? call : "-", seq, type ? type : "-", verdict, conn);
            fflush(stdout);
            pthread_mutex_unlock(&mu);
            json_decref(ev);
            while (read(fd, buf, sizeof buf) > 0) {
            }
            goto out;
        }
        int status = 200, wait_ms = 0;
        if (!strcmp(path, "/flaky") && n <= 2) status = 503;
        if (!strcmp(path, "/stall") && n == 1) wait_ms = 3000;
        if (!strcmp(path, "/gone")) status = 410;
        if (!strcmp(path, "/slow")) wait_ms = 2000;
        if (wait_ms) usleep((useconds_t)wait_ms * 1000);
        pthread_mutex_lock(&mu);
        printf("%lld %s %s %s %d %s sig=%s %d conn=%d\n", now_ms(), path, id ? id : "-",
               call ? call : "-", seq, type ? type : "-", verdict, status, conn);
        fflush(stdout);
        pthread_mutex_unlock(&mu);
        json_decref(ev);
        char resp[128];
        int rl = snprintf(resp, sizeof resp, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\n\r\n", status,
                          status == 200 ? "OK" : "Not OK");
        if (write(fd, resp, (size_t)rl) != rl) goto out;
        memmove(buf, buf + body_at + len, have - body_at - len);
        have -= body_at + len;
    }
out:
    close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    int port = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--secret")) secret = argv[i + 1];
        if (!strcmp(argv[i], "--dir")) dir = argv[i + 1];
    }
    if (port <= 0) {
        fprintf(stderr, "usage: webhook_receiver --port N [--secret S] [--dir D]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 128)) {
        perror("webhook_receiver");
        return 1;
    }
    fprintf(stderr, "listening on 127.0.0.1:%d\n", port);
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) continue;
        pthread_t t;
        if (pthread_create(&t, NULL, serve, (void *)(long)c) == 0)
            pthread_detach(t);
        else
            close(c);
    }
}
