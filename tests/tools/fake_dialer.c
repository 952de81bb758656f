/* fake_dialer: a scripted stand-in for outdial-dialer in tests. It takes
 * dial work like a dialer (a consumer group on the dial topic) and answers
 * with reports and heartbeats on the reports topic, as the scenario in the
 * call's metadata says:
 *
 *   "test": {"outcome": "completed|busy|no_answer|failed|declined",
 *            "outcomes": ["busy", "completed"],  (or one per attempt)
 *            "ring_ms": 0, "talk_ms": 1000,    (answer after ring_ms; talk)
 *            "hold_ms": 0,                     (wall time the call stays live)
 *            "silent": false,                  (never report: a lost dialer)
 *            "dup": false}                     (send every report twice)
 *
 * Without "test" the call rings 0 ms, talks 1 s, completes at once. Live
 * calls get heartbeats every 2 s and end early on a cancel. It logs one
 * line per call to stdout: "<call_id> <attempt> dialed|canceled". */
#include "core/clock.h"
#include "core/config.h"
#include "core/signals.h"
#include "kafka/kafka.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    od_common_conf_t common;
    const char *group, *id;
} conf_t;

static const od_opt_t opts[] = {
    {"group", NULL, OD_OPT_STRING, "outdial-dialer", "consumer group", offsetof(conf_t, group)},
    {"dialer-id", NULL, OD_OPT_STRING, "fake-1", "dialer_id in reports", offsetof(conf_t, id)},
    OD_OPT_END,
};

typedef struct {
    char call_id[40];
    int attempt;
    int64_t end_at_ms; /* wall clock: when to send "ended" */
    json_t *ended;     /* the report to send then */
    int silent, dup;
} live_t;

static od_kafka_producer_t *producer;
static const conf_t *cf;
static live_t *live;
static int nlive, caplive;

static void send_json(json_t *rep, int dup) {
    char *text = json_dumps(rep, JSON_COMPACT);
    const char *key = json_string_value(json_object_get(rep, "call_id"));
    if (!key) key = cf->id;
    for (int i = 0; i <= dup; i++)
        if (od_kafka_produce(producer, cf->common.topic_reports, key, strlen(key), text,
                             strlen(text), NULL, 0, NULL))
            fprintf(stderr, "fake_dialer: produce failed\n");
    free(text);
}

static json_t *report(const char *type, const char *call_id, int attempt) {
    return json_pack("{s:s,s:s,s:i,s:s}", "type", type, "call_id", call_id, "attempt", attempt,
                     "dialer_id", cf->id);
}

static void set_time(json_t *o, const char *k, int64_t ms) {
    char buf[40];
    od_clock_format_rfc3339(ms, buf, sizeof buf);
    json_object_set_new(o, k, json_string(buf));
}

static void dial(json_t *work) {
    const char *call_id = json_string_value(json_object_get(work, "call_id"));
    int attempt = (int)json_integer_value(json_object_get(work, "attempt"));
    json_t *t = json_object_get(json_object_get(work, "metadata"), "test");
    const char *outcome = json_string_value(json_object_get(t, "outcome"));
    json_t *per_attempt = json_object_get(t, "outcomes"); /* ["busy", "completed"]: by attempt */
    if (json_array_size(per_attempt) >= (size_t)attempt)
        outcome = json_string_value(json_array_get(per_attempt, (size_t)attempt - 1));
    if (!outcome) outcome = "completed";
    json_int_t ring = json_integer_value(json_object_get(t, "ring_ms"));
    json_int_t talk =
        json_object_get(t, "talk_ms") ? json_integer_value(json_object_get(t, "talk_ms")) : 1000;
    json_int_t hold = json_integer_value(json_object_get(t, "hold_ms"));
    int silent = json_is_true(json_object_get(t, "silent"));
    int dup = json_is_true(json_object_get(t, "dup"));
    int64_t now = od_clock_now_ms();
    printf("%s %d dialed\n", call_id, attempt);
    fflush(stdout);

    json_t *ended = report("ended", call_id, attempt);
    set_time(ended, "ringing_at", now);
    if (!strcmp(outcome, "completed")) {
        json_t *r = report("ringing", call_id, attempt);
        set_time(r, "at", now);
        json_object_set_new(r, "sip_status", json_integer(180));
        if (!silent) send_json(r, dup);
        json_decref(r);
        r = report("answered", call_id, attempt);
        set_time(r, "at", now + ring);
        set_time(r, "answered_at", now + ring);
        json_object_set_new(r, "sip_status", json_integer(200));
        if (!silent) send_json(r, dup);
        json_decref(r);
        r = report("bridged", call_id, attempt);
        set_time(r, "at", now + ring);
        if (!silent) send_json(r, dup);
        json_decref(r);
        set_time(ended, "answered_at", now + ring);
        set_time(ended, "ended_at", now + ring + talk);
        json_object_set_new(ended, "outcome", json_string("completed"));
        json_object_set_new(ended, "sip_status", json_integer(200));
        json_object_set_new(ended, "hangup_by", json_string("callee"));
    } else {
        int sip = !strcmp(outcome, "busy")        ? 486
                  : !strcmp(outcome, "no_answer") ? 487
                  : !strcmp(outcome, "declined")  ? 603
                                                  : 503;
        const char *o = !strcmp(outcome, "declined") ? "failed" : outcome;
        json_object_set_new(ended, "outcome", json_string(o));
        json_object_set_new(ended, "sip_status", json_integer(sip));
        if (!strcmp(outcome, "declined"))
            json_object_set_new(ended, "error_code", json_string("DECLINED"));
        if (!strcmp(outcome, "failed"))
            json_object_set_new(ended, "error_code", json_string("CARRIER_REJECTED"));
        set_time(ended, "ended_at", now + ring);
    }
    if (nlive == caplive) {
        caplive = caplive ? caplive * 2 : 64;
        live = realloc(live, (size_t)caplive * sizeof *live);
    }
    live_t *l = &live[nlive++];
    snprintf(l->call_id, sizeof l->call_id, "%s", call_id);
    l->attempt = attempt;
    l->end_at_ms = now + hold;
    l->ended = ended;
    l->silent = silent;
    l->dup = dup;
}

static void end_live(int i, const char *outcome) {
    if (outcome) {
        json_object_set_new(live[i].ended, "outcome", json_string(outcome));
        json_object_set_new(live[i].ended, "hangup_by", json_string("system"));
        set_time(live[i].ended, "ended_at", od_clock_now_ms());
        printf("%s %d canceled\n", live[i].call_id, live[i].attempt);
        fflush(stdout);
    }
    if (!live[i].silent) send_json(live[i].ended, live[i].dup);
    json_decref(live[i].ended);
    live[i] = live[--nlive];
}

int main(int argc, char **argv) {
    static volatile sig_atomic_t stop;
    conf_t conf = {0};
    const od_opt_t *tables[] = {od_common_opts, opts, NULL};
    char err[512], *pos[1];
    int npos;
    if (od_config_parse(tables, &conf, argc, argv, pos, 0, &npos, err, sizeof err)) {
        fprintf(stderr, "fake_dialer: %s\n", err);
        return 2;
    }
    cf = &conf;
    od_signals_install(&stop);
    od_kafka_consumer_conf_t cc = {.brokers = conf.common.brokers,
                                   .group = conf.group,
                                   .topic = conf.common.topic_dial,
                                   .from_beginning = 1,
                                   .client_id = "fake-dialer"};
    od_kafka_consumer_t *k = od_kafka_consumer_new(&cc, err, sizeof err);
    producer = od_kafka_producer_new(conf.common.brokers, "fake-dialer", NULL, err, sizeof err);
    if (!k || !producer) {
        fprintf(stderr, "fake_dialer: %s\n", err);
        return 1;
    }
    od_kafka_msg_t msgs[256];
    int64_t last_hb = 0;
    while (!stop) {
        int n = od_kafka_consumer_poll_batch(k, msgs, 256, 20, 5);
        for (int i = 0; i < n; i++) {
            json_t *w = json_loadb(msgs[i].value, msgs[i].len, 0, NULL);
            const char *type = json_string_value(json_object_get(w, "type"));
            if (type && !strcmp(type, "dial")) {
                dial(w);
            } else if (type && !strcmp(type, "cancel")) {
                const char *id = json_string_value(json_object_get(w, "call_id"));
                for (int j = 0; j < nlive; j++)
                    if (id && !strcmp(live[j].call_id, id)) {
                        end_live(j, "canceled");
                        break;
                    }
            }
            json_decref(w);
        }
        od_kafka_msgs_release(msgs, n);
        int64_t now = od_clock_now_ms();
        for (int i = 0; i < nlive;)
            if (live[i].end_at_ms <= now)
                end_live(i, NULL);
            else
                i++;
        if (now - last_hb >= 2000) {
            json_t *calls = json_array();
            for (int i = 0; i < nlive; i++)
                if (!live[i].silent)
                    json_array_append_new(calls, json_pack("{s:s,s:i}", "call_id", live[i].call_id,
                                                           "attempt", live[i].attempt));
            json_t *hb = json_pack("{s:s,s:s,s:o}", "type", "heartbeat", "dialer_id", conf.id,
                                   "calls", calls);
            send_json(hb, 0);
            json_decref(hb);
            last_hb = now;
        }
        od_kafka_producer_wait(producer, NULL, 0);
    }
    od_kafka_consumer_destroy(k);
    od_kafka_producer_destroy(producer, 5000);
    return 0;
}
