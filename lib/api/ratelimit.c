/* The per-key request rate of outdial-api (OUTDIAL_API_RATE_PER_KEY): one
 * token bucket per API key, `rate` tokens a second up to one second's
 * worth, a request takes one or is answered 429 with Retry-After. Per
 * process: N replicas let a key through N times the rate (docs/api.md).
 * Keys are told apart by their SHA-256, so no key is kept in memory. The
 * table is small and fixed; when full, the bucket idle longest is reused
 * (it would have refilled anyway unless it was used within a second). */
#include "api/api_int.h"
#include "core/clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 1024

typedef struct {
    char hash[65]; /* "" when free */
    double tokens;
    int64_t at_ms; /* last refill */
} bucket_t;

struct od_api_limiter {
    pthread_mutex_t mu;
    double rate;
    bucket_t b[SLOTS];
};

od_api_limiter_t *od_api_limiter_new(double rate) {
    if (rate <= 0) return NULL;
    od_api_limiter_t *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    pthread_mutex_init(&l->mu, NULL);
    l->rate = rate;
    return l;
}

void od_api_limiter_destroy(od_api_limiter_t *l) {
    if (!l) return;
    pthread_mutex_destroy(&l->mu);
    free(l);
}

static unsigned slot_of(const char *hash) {
    unsigned h = 0;
    for (int i = 0; i < 8 && hash[i]; i++)
        h = h * 16 + (unsigned)(hash[i] <= '9' ? hash[i] - '0' : (hash[i] | 0x20) - 'a' + 10);
    return h % SLOTS;
}

int od_api_limiter_take(od_api_limiter_t *l, const char *hash) {
    if (!l) return 0;
    int64_t now = od_clock_mono_ms();
    int wait = 0;
    pthread_mutex_lock(&l->mu);
    /* Open addressing: the key's slot or the next ones; else the idlest. */
    unsigned start = slot_of(hash), idlest = start;
    bucket_t *b = NULL;
    for (unsigned i = 0; i < 64 && !b; i++) {
        bucket_t *x = &l->b[(start + i) % SLOTS];
        if (!strcmp(x->hash, hash))
            b = x;
        else if (!x->hash[0]) {
            b = x;
            snprintf(b->hash, sizeof b->hash, "%s", hash);
            b->tokens = l->rate < 1 ? 1 : l->rate;
            b->at_ms = now;
        } else if (x->at_ms < l->b[idlest].at_ms)
            idlest = (start + i) % SLOTS;
    }
    if (!b) {
        b = &l->b[idlest];
        snprintf(b->hash, sizeof b->hash, "%s", hash);
        b->tokens = l->rate < 1 ? 1 : l->rate;
        b->at_ms = now;
    }
    double cap = l->rate < 1 ? 1 : l->rate;
    b->tokens += (double)(now - b->at_ms) * l->rate / 1000.0;
    if (b->tokens > cap) b->tokens = cap;
    b->at_ms = now;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
    } else {
        double secs = (1.0 - b->tokens) / l->rate;
        wait = (int)secs;
        if (wait < secs || wait < 1) wait++; /* rounded up, at least 1 */
    }
    pthread_mutex_unlock(&l->mu);
    return wait;
}
