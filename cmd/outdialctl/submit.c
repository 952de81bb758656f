/* outdialctl submit: publish call requests to calls.requests, one from
 * flags or one per line of a JSONL file (or stdin), with a progress bar on
 * a terminal. Each message is keyed "org_id:request_id", so a request and
 * its cancel land on the same partition, in order. Lines that are not JSON
 * objects are refused here, by line number. Exits 1 and says how many were
 * not delivered if any were not. */
#include "ctl.h"
#include "core/clock.h"
#include "core/id.h"
#include "kafka/kafka.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    od_kafka_producer_t *p;
    const char *topic;
    od_kafka_batch_t batch;
    long sent, refused;
    int progress;
    int64_t started, last_draw;
} submit_t;

static void draw(submit_t *s, long total, int final) {
    int64_t now = od_clock_mono_ms();
    if (!s->progress || (!final && now - s->last_draw < 100)) return;
    s->last_draw = now;
    double secs = (double)(now - s->started) / 1000.0;
    long done = s->batch.delivered + s->batch.failed;
    int width = 30, fill = total > 0 ? (int)(width * done / total) : width;
    if (fill > width) fill = width;
    fprintf(stderr, "\r[%.*s%*s] %d/%ld delivered, %d failed, %.0f/s ", fill,
            "==============================", width - fill, "", s->batch.delivered,
            total > 0 ? total : s->sent, s->batch.failed, secs > 0 ? (double)done / secs : 0.0);
    if (final) fputc('\n', stderr);
}

static int send_one(submit_t *s, json_t *req) {
    char key[300];
    const char *org = json_string_value(json_object_get(req, "org_id"));
    const char *rid = json_string_value(json_object_get(req, "request_id"));
    snprintf(key, sizeof key, "%s:%s", org ? org : "", rid ? rid : "");
    char *text = json_dumps(req, JSON_COMPACT);
    int rc =
        od_kafka_produce(s->p, s->topic, key, strlen(key), text, strlen(text), NULL, 0, &s->batch);
    free(text);
    if (rc) return rc;
    s->sent++;
    od_kafka_producer_wait(s->p, NULL, 0);
    return 0;
}

static int add_json(json_t *req, const char *key, const char *text) {
    if (!text) return 0;
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!json_is_object(v)) {
        json_decref(v);
        return od_ctl_fail(-1, "--%s must be a JSON object", key);
    }
    json_object_set_new(req, key, v);
    return 0;
}

static json_t *request_from_flags(const od_ctl_conf_t *c) {
    char rid[OD_UUID_STRLEN];
    json_t *r = json_object();
    if (!c->request_id) od_uuid_v4(rid);
    if (c->cancel) json_object_set_new(r, "action", json_string("cancel"));
    json_object_set_new(r, "request_id", json_string(c->request_id ? c->request_id : rid));
    if (c->org) json_object_set_new(r, "org_id", json_string(c->org));
    if (c->cancel) return r;
    const struct {
        const char *key, *val;
    } strs[] = {{"agent_id", c->agent},         {"to_number", c->to},
                {"from_number", c->from},       {"instructions", c->instructions},
                {"not_before", c->not_before},  {"expires_at", c->expires_at},
                {"webhook_url", c->webhook_url}};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
        if (strs[i].val) json_object_set_new(r, strs[i].key, json_string(strs[i].val));
    if (c->ringing_timeout)
        json_object_set_new(r, "ringing_timeout_seconds", json_integer(c->ringing_timeout));
    if (c->max_duration)
        json_object_set_new(r, "max_duration_seconds", json_integer(c->max_duration));
    if (add_json(r, "metadata", c->metadata) || add_json(r, "context", c->context) ||
        add_json(r, "retry", c->retry)) {
        json_decref(r);
        return NULL;
    }
    return r;
}

/* Reads requests line by line; blank lines are skipped. */
static int submit_lines(submit_t *s, FILE *in, const char *name, long total) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = 0;
    while ((len = getline(&line, &cap, in)) > 0) {
        lineno++;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (!len) continue;
        json_error_t e;
        json_t *req = json_loadb(line, (size_t)len, 0, &e);
        if (!json_is_object(req)) {
            fprintf(stderr, "%s%s:%ld: not a JSON object: %s\n", s->progress ? "\n" : "", name,
                    lineno, req ? "wrong type" : e.text);
            s->refused++;
            json_decref(req);
            continue;
        }
        rc = send_one(s, req);
        json_decref(req);
        if (rc) break;
        draw(s, total, 0);
    }
    free(line);
    return rc;
}

static long count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    long n = 0;
    int ch, last = '\n';
    while ((ch = getc(f)) != EOF) {
        if (ch == '\n' && last != '\n') n++;
        last = ch;
    }
    if (last != '\n') n++;
    fclose(f);
    return n;
}

int od_ctl_submit(const od_ctl_conf_t *c, int argc, char **argv) {
    char err[512];
    submit_t s = {
        .topic = c->common.topic_requests, .progress = isatty(2), .started = od_clock_mono_ms()};
    if (argc > 1) return od_ctl_fail(2, "usage: outdialctl submit [FILE.jsonl|-] or flags");
    json_t *one = NULL;
    FILE *in = NULL;
    long total = 1;
    if (argc == 0) {
        if (!c->org || (!c->cancel && (!c->agent || !c->to)) || (c->cancel && !c->request_id))
            return od_ctl_fail(2, "submit needs --org, --agent and --to (or --cancel with --org and"
                                  " --request-id), or a JSONL file");
        if (!(one = request_from_flags(c))) return 2;
    } else if (!strcmp(argv[0], "-")) {
        in = stdin;
        total = 0;
    } else {
        if (!(in = fopen(argv[0], "r"))) return od_ctl_fail(1, "cannot open %s", argv[0]);
        total = count_lines(argv[0]);
    }
    s.p = od_kafka_producer_new(c->common.brokers, "outdialctl", c->common.kafka_extra, err,
                                sizeof err);
    if (!s.p) {
        if (in && in != stdin) fclose(in);
        json_decref(one);
        return od_ctl_fail(1, "%s", err);
    }
    int rc = one ? send_one(&s, one) : submit_lines(&s, in, argc ? argv[0] : "-", total);
    while (od_kafka_producer_wait(s.p, &s.batch, 200) > 0)
        draw(&s, total, 0);
    draw(&s, total, 1);
    od_kafka_producer_destroy(s.p, 5000);
    if (in && in != stdin) fclose(in);
    long lost = s.batch.failed + s.batch.pending + s.refused;
    if (c->json) {
        json_t *doc = json_pack("{s:I, s:I, s:s?}", "delivered", (json_int_t)s.batch.delivered,
                                "not_delivered", (json_int_t)(lost + (rc ? 1 : 0)), "request_id",
                                one ? json_string_value(json_object_get(one, "request_id")) : NULL);
        char *text = json_dumps(doc, JSON_COMPACT);
        puts(text);
        free(text);
        json_decref(doc);
        json_decref(one);
    } else if (one) {
        if (!lost && !rc)
            printf("submitted request_id=%s\n",
                   json_string_value(json_object_get(one, "request_id")));
        json_decref(one);
    } else if (!s.progress) {
        printf("%ld delivered\n", (long)s.batch.delivered);
    }
    if (lost || rc)
        return od_ctl_fail(1, "%ld of %ld not delivered%s%s", lost + (rc ? 1 : 0),
                           s.sent + s.refused + (rc ? 1 : 0), s.batch.last_error[0] ? ": " : "",
                           s.batch.last_error);
    return 0;
}
