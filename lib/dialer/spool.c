/* Reports kept until delivered (spool.h). A singly linked list in the
 * order sent; each entry is its own batch, so the delivery report of one
 * message says what became of it. */
#include "dialer/spool.h"

#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    od_kafka_batch_t batch; /* librdkafka writes here until pending is 0 */
    struct entry *next;
    size_t key_len, len;
    char data[]; /* key, then text */
} entry_t;

struct od_spool {
    od_kafka_producer_t *p;
    const char *topic;
    entry_t *head, *tail;
    od_spool_stats_t stats;
};

od_spool_t *od_spool_new(od_kafka_producer_t *p, const char *topic) {
    od_spool_t *s = calloc(1, sizeof *s);
    if (!s) abort(); /* as od_buf does: no way on without memory */
    s->p = p, s->topic = topic;
    return s;
}

/* Hands e to librdkafka; a message it refuses outright (not queued) counts
 * as a failed delivery, tried again at the next sweep. */
static void produce(od_spool_t *s, entry_t *e) {
    memset(&e->batch, 0, sizeof e->batch);
    if (od_kafka_produce(s->p, s->topic, e->data, e->key_len, e->data + e->key_len, e->len, NULL, 0,
                         &e->batch) != OD_OK)
        e->batch.failed = 1;
}

void od_spool_send(od_spool_t *s, const char *key, const char *text) {
    size_t kl = strlen(key), len = strlen(text);
    entry_t *e = malloc(sizeof *e + kl + len);
    if (!e) abort();
    e->next = NULL, e->key_len = kl, e->len = len;
    memcpy(e->data, key, kl);
    memcpy(e->data + kl, text, len);
    if (s->tail)
        s->tail->next = e;
    else
        s->head = e;
    s->tail = e;
    s->stats.pending++;
    produce(s, e);
}

size_t od_spool_sweep(od_spool_t *s) {
    size_t resent = 0;
    char why[sizeof s->head->batch.last_error] = "";
    /* Failed ones are moved to the end, in order, and produced again there. */
    entry_t *again = NULL, *again_tail = NULL, *prev = NULL;
    for (entry_t *e = s->head, *next; e; e = next) {
        next = e->next;
        if (e->batch.pending > 0) {
            prev = e;
            continue;
        }
        /* settled: unlink it */
        if (prev)
            prev->next = next;
        else
            s->head = next;
        if (s->tail == e) s->tail = prev;
        if (e->batch.delivered) {
            free(e);
            s->stats.pending--;
            continue;
        }
        if (!why[0]) snprintf(why, sizeof why, "%s", e->batch.last_error);
        e->next = NULL;
        if (again_tail)
            again_tail->next = e;
        else
            again = e;
        again_tail = e;
    }
    for (entry_t *e = again, *next; e; e = next) {
        next = e->next;
        e->next = NULL;
        if (s->tail)
            s->tail->next = e;
        else
            s->head = e;
        s->tail = e;
        produce(s, e);
        resent++;
    }
    if (resent) {
        char n[24];
        snprintf(n, sizeof n, "%zu", resent);
        od_logkv(OD_LOG_WARN, "reports not delivered, produced again", "#count", n, "kafka_error",
                 why[0] ? why : "not queued", (const char *)NULL);
        s->stats.resent += resent;
    }
    return s->stats.pending;
}

od_spool_stats_t od_spool_stats(const od_spool_t *s) { return s->stats; }

size_t od_spool_free(od_spool_t *s) {
    if (!s) return 0;
    size_t lost = 0;
    for (entry_t *e = s->head, *next; e; e = next) {
        next = e->next;
        if (!e->batch.delivered) lost++;
        free(e);
    }
    free(s);
    return lost;
}
