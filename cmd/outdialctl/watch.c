/* outdialctl watch: tail calls.events. A table on a terminal (or without
 * --json), raw JSON lines with --json. --count and --timeout make it end by
 * itself, for scripts and tests. */
#include "ctl.h"
#include "core/clock.h"
#include "kafka/kafka.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig) { stop = sig; }

static const char *s(json_t *e, const char *k) {
    const char *v = json_string_value(json_object_get(e, k));
    return v ? v : "";
}

static void print_row(json_t *e) {
    char sip[16] = "", ts[16] = "";
    const char *at = s(e, "occurred_at");
    if (strlen(at) >= 23) snprintf(ts, sizeof ts, "%.12s", at + 11);
    json_t *st = json_object_get(e, "sip_status");
    if (st) snprintf(sip, sizeof sip, "%lld", (long long)json_integer_value(st));
    printf("%-12s %-36s %-12s %-16s %-11s %3lld %-22s %s\n", ts, s(e, "call_id"), s(e, "org_id"),
           s(e, "to_number"), s(e, "status"),
           (long long)json_integer_value(json_object_get(e, "seq")), s(e, "error_code"), sip);
    fflush(stdout);
}

#define WATCH_BROKERS_DOWN_MS 5000

int od_ctl_watch(const od_ctl_conf_t *c, int argc, char **argv) {
    char err[512];
    if (argc) return od_ctl_fail(2, "watch takes no arguments");
    od_kafka_consumer_conf_t cc = {.brokers = c->common.brokers,
                                   .topic = c->common.topic_events,
                                   .from_beginning = c->from_beginning,
                                   .client_id = "outdialctl-watch",
                                   .extra = c->common.kafka_extra};
    od_kafka_consumer_t *k = od_kafka_consumer_new(&cc, err, sizeof err);
    if (!k) return od_ctl_fail(1, "%s", err);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (!c->json)
        printf("%-12s %-36s %-12s %-16s %-11s %3s %-22s %s\n", "TIME", "CALL_ID", "ORG", "TO",
               "STATUS", "SEQ", "ERROR", "SIP");
    long seen = 0;
    int64_t idle_since = od_clock_mono_ms(), down_since = 0;
    od_kafka_msg_t msgs[256];
    while (!stop && (!c->count || seen < c->count)) {
        int n = od_kafka_consumer_poll_batch(k, msgs, 256, 200, 10);
        /* no broker for this long: say so rather than wait in silence */
        if (!od_kafka_consumer_brokers_down(k))
            down_since = 0;
        else if (!down_since)
            down_since = od_clock_mono_ms();
        else if (od_clock_mono_ms() - down_since > WATCH_BROKERS_DOWN_MS) {
            od_kafka_consumer_destroy(k);
            return od_ctl_fail(1, "cannot reach the Kafka brokers at %s (--kafka-brokers)",
                               c->common.brokers);
        }
        if (n == 0 && c->timeout && od_clock_mono_ms() - idle_since > c->timeout * 1000) break;
        if (n) idle_since = od_clock_mono_ms();
        for (int i = 0; i < n && (!c->count || seen < c->count); i++) {
            json_t *e = json_loadb(msgs[i].value, msgs[i].len, 0, NULL);
            if (!e) continue;
            int keep = (!c->org || !strcmp(s(e, "org_id"), c->org)) &&
                       (!c->call || !strcmp(s(e, "call_id"), c->call));
            if (keep) {
                seen++;
                if (c->json)
                    printf("%.*s\n", (int)msgs[i].len, msgs[i].value), fflush(stdout);
                else
                    print_row(e);
            }
            json_decref(e);
        }
        od_kafka_msgs_release(msgs, n);
    }
    od_kafka_consumer_destroy(k);
    if (c->count && seen < c->count)
        return od_ctl_fail(1, "saw %ld of %ld events before the timeout", seen, c->count);
    return 0;
}
