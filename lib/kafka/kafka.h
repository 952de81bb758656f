/* Kafka adapter: the only code that includes librdkafka. A consumer in a
 * group with at-least-once offsets (stored by the caller after its own
 * commit), and an idempotent producer whose deliveries are counted per
 * batch. Settings follow what was checked of librdkafka 2.0 (docs/
 * architecture.md): the eager assignor, offsets stored explicitly, no
 * consume_batch_queue. */
#ifndef OD_KAFKA_H
#define OD_KAFKA_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

typedef struct od_kafka_consumer od_kafka_consumer_t;
typedef struct od_kafka_producer od_kafka_producer_t;

/* One consumed message; `raw` belongs to the adapter until
 * od_kafka_msgs_release(). */
typedef struct {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms; /* the broker's record timestamp, -1 if none */
    const char *value;
    size_t len;
    const char *key;
    size_t key_len;
    int stored; /* od_kafka_consumer_store stored its offset: its partition was still ours */
    void *raw;
} od_kafka_msg_t;

typedef struct {
    const char *name, *value;
} od_kafka_header_t;

/* What librdkafka's statistics say, every OD_KAFKA_STATS_MS, for metrics
 * and readiness. */
typedef struct {
    const char *topic; /* the consumer's */
    int brokers_up;    /* brokers with a connection up now */
    int64_t lag;       /* messages behind the high watermarks, summed over
                          the partitions this member owns; -1: not known */
} od_kafka_stats_t;
#define OD_KAFKA_STATS_MS 1000

typedef struct {
    const char *brokers;
    const char *group; /* NULL: no group, read every partition (watch) */
    const char *topic;
    int from_beginning; /* where a group without offsets starts */
    const char *client_id;
    const char *extra;  /* "k=v,k=v" librdkafka settings, may be NULL */
    int track_progress; /* for od_kafka_consumer_progress (partition ends) */
    /* Optional: called with the statistics, from inside
     * od_kafka_consumer_poll_batch() (the polling thread). */
    void (*on_stats)(void *arg, const od_kafka_stats_t *s);
    void *stats_arg;
} od_kafka_consumer_conf_t;

/* Creates a consumer subscribed to conf->topic. Returns NULL with a message
 * in errstr. @locality: then use from one thread only. */
od_kafka_consumer_t *od_kafka_consumer_new(const od_kafka_consumer_conf_t *conf, char *errstr,
                                           size_t errstr_size);

/* Waits up to timeout_ms for the first message, then takes whatever else
 * is ready, up to `max` messages or batch_ms in all. Returns how many were
 * put in `out` (0 on time-out). Consumer errors are logged, not returned.
 * While paused, this keeps the member in its group and returns 0. */
int od_kafka_consumer_poll_batch(od_kafka_consumer_t *c, od_kafka_msg_t *out, int max,
                                 int timeout_ms, int batch_ms);

/* Stores offset+1 of the highest message per partition in msgs, so the next
 * automatic commit includes them. Call after their effects are durable.
 * Partitions no longer assigned (a rebalance served while polling) are
 * skipped: their new owner reads those messages again; each message's
 * `stored` says which. */
void od_kafka_consumer_store(od_kafka_consumer_t *c, od_kafka_msg_t *msgs, int n);

/* 1 if librdkafka's last word was that no broker can be reached (nothing
 * read since). */
int od_kafka_consumer_brokers_down(const od_kafka_consumer_t *c);

/* How many times partitions were given up in a rebalance without their
 * stored offsets committed (the commit before letting go failed): their
 * next owner reads again what was stored. A caller that must know work is
 * its own compares this before storing and after its commit. */
unsigned od_kafka_consumer_uncommitted_revokes(const od_kafka_consumer_t *c);

/* Commits every stored offset now, without blocking: for a caller that
 * must know work is durably its own before acting on it (a dialer dials
 * nothing that the partition's next owner could read again after a
 * crash). Returns 0 if the commit is on its way (then poll), 1 if there
 * was nothing to commit, -1 if it could not be sent. One at a time. */
int od_kafka_consumer_commit_start(od_kafka_consumer_t *c);
/* The outcome of the commit started last: 1 committed, -1 failed (logged),
 * 0 not known yet. Never blocks. */
int od_kafka_consumer_commit_poll(od_kafka_consumer_t *c);

/* Frees the messages' buffers. */
void od_kafka_msgs_release(od_kafka_msg_t *msgs, int n);

/* Pauses (1) or resumes (0) fetching on every assigned partition, also
 * across rebalances, e.g. while the database is away. */
void od_kafka_consumer_pause(od_kafka_consumer_t *c, int paused);

/* The partition count of `topic` (from metadata; -1 if unknown). */
int od_kafka_consumer_topic_partitions(od_kafka_consumer_t *c, const char *topic);

/* How far this member has read the partitions it owns (needs
 * track_progress): every message produced before through_ms[i] (ms since
 * the epoch) in partition parts[i] has been returned by a poll. Fills up
 * to max, for the owned partitions whose progress is known: one read to
 * its high watermark is read through now; one with a backlog, through the
 * timestamp of the last message polled from it; each less
 * OD_KAFKA_PROGRESS_MARGIN_MS for fetch latency and producers' clocks.
 * A high watermark counts only once this assignment has fetched the
 * partition to its end (a cached one may predate the assignment). Call it
 * when everything polled has been handled. Returns the count. */
#define OD_KAFKA_PROGRESS_MARGIN_MS 1000
/* After trouble (an error from librdkafka: a broker down, a request timed
 * out; or a rebalance), progress is held at the time the trouble began
 * until this long after its last sign or after messages flowed again,
 * whichever is later: a broker back from an outage is read to its end
 * before the producers, reconnecting (OD_KAFKA_RECONNECT_MAX_MS apart at
 * most), have delivered what they queued meanwhile. Read to the end "as of
 * now", a live dialer's queued heartbeats would look like silence. */
#define OD_KAFKA_RECOVERY_GRACE_MS 10000
/* The longest wait between two attempts to reach a broker (librdkafka's
 * reconnect.backoff.max.ms; its default is 10 s). */
#define OD_KAFKA_RECONNECT_MAX_MS 1000
int od_kafka_consumer_progress(od_kafka_consumer_t *c, int32_t *parts, int64_t *through_ms,
                               int max);

/* A descriptor that becomes readable when messages arrive, for callers
 * that run their own event loop (the dialer). It signals only the change
 * from empty to not empty: after it fires, call
 * od_kafka_consumer_wake_clear(), then poll with timeout 0 until a poll
 * returns nothing. Returns -1 on failure. */
int od_kafka_consumer_wake_fd(od_kafka_consumer_t *c);
void od_kafka_consumer_wake_clear(od_kafka_consumer_t *c);

/* Commits stored offsets, leaves the group and frees. NULL is a no-op. */
void od_kafka_consumer_destroy(od_kafka_consumer_t *c);

/* ---- producer ---- */

/* How long librdkafka may take to deliver, or give up on, a message:
 * every message produced gets its delivery report within this. */
#define OD_KAFKA_MESSAGE_TIMEOUT_MS 30000
/* od_kafka_producer_wait(): until every message of the batch is settled. */
#define OD_KAFKA_WAIT_ALL (-1)

/* Counts the deliveries of a group of messages.
 *
 * Lifetime: librdkafka keeps a pointer to the batch with every message
 * produced into it and writes through it when that message's delivery
 * report is served, up to OD_KAFKA_MESSAGE_TIMEOUT_MS later. A batch must
 * therefore live until `pending` is 0: wait for it with
 * od_kafka_producer_wait(p, batch, OD_KAFKA_WAIT_ALL) (or with a timeout,
 * in a loop, until it returns 0) before it goes out of scope or is reused.
 * od_kafka_producer_destroy() settles whatever is left, so a batch must
 * also outlive the producer's destruction if that comes first. */
typedef struct {
    int pending;
    int delivered;
    int failed;
    char last_error[256];
    /* Optional: called after each report of the batch is counted, on the
     * thread that served it, for a producer shared by threads (one serves
     * the reports while others wait for their own batch: outdial-api). The
     * batch must still be alive then; `pending` is counted up before the
     * message is handed to librdkafka, so its report never finds it 0. */
    void (*on_report)(void *arg);
    void *on_report_arg;
} od_kafka_batch_t;

/* Creates an idempotent producer (acks=all). `extra` as above. */
od_kafka_producer_t *od_kafka_producer_new(const char *brokers, const char *client_id,
                                           const char *extra, char *errstr, size_t errstr_size);

/* Queues one message. `batch` (may be NULL) counts its delivery. Blocks
 * while the local queue is full. Returns OD_OK or OD_ERR_KAFKA. */
int od_kafka_produce(od_kafka_producer_t *p, const char *topic, const char *key, size_t key_len,
                     const char *value, size_t len, const od_kafka_header_t *headers, int nheaders,
                     od_kafka_batch_t *batch) OD_MUSTCHECK;

/* Serves delivery reports for up to timeout_ms, or until batch->pending
 * is 0 (timeout_ms OD_KAFKA_WAIT_ALL: until then, which is at most
 * OD_KAFKA_MESSAGE_TIMEOUT_MS after the last produce). batch may be NULL:
 * serve once. Returns batch->pending. */
int od_kafka_producer_wait(od_kafka_producer_t *p, od_kafka_batch_t *batch, int timeout_ms);

/* 1 if a broker answered a metadata request within timeout_ms (blocks). */
int od_kafka_producer_reachable(od_kafka_producer_t *p, int timeout_ms);

/* Flushes (up to timeout_ms); what is still undelivered then is purged and
 * counted as failed in its batch; then frees. NULL is a no-op. */
void od_kafka_producer_destroy(od_kafka_producer_t *p, int timeout_ms);

/* Creates `topic` with `partitions` if it does not exist (replication
 * factor -1: the broker's default). Returns OD_OK if it exists afterwards. */
int od_kafka_ensure_topic(const char *brokers, const char *topic, int partitions, char *errstr,
                          size_t errstr_size) OD_MUSTCHECK;

/* Deletes `topic` and waits (up to about 5 s) for the controller to accept
 * it; the topic's data is gone, and a topic of the same name made later
 * starts again at offset 0. Tests use it. Returns OD_OK or OD_ERR_KAFKA. */
int od_kafka_delete_topic(const char *brokers, const char *topic, char *errstr,
                          size_t errstr_size) OD_MUSTCHECK;

#endif
