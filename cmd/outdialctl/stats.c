/* outdialctl stats: per org and overall, from the database: calls by
 * status, answer rate, average talk time, cost, errors, webhook deliveries
 * and a per-minute timeline. Tables by default, the JSON document with
 * --json (docs/stats.md). */
#include "ctl.h"
#include "core/clock.h"
#include "db/db.h"
#include "db/repo.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIMELINE_ROWS 60 /* the table shows the last hour with activity */

static const char *const statuses[] = {"queued",      "initiated", "ringing",   "answered",
                                       "in_progress", "completed", "no_answer", "busy",
                                       "failed",      "canceled",  "rejected",  "expired"};
#define NSTATUSES (sizeof statuses / sizeof *statuses)

/* "15m", "2h", "7d", "90s" before now, or an RFC 3339 time, as RFC 3339. */
static int parse_time(const char *name, const char *in, char *out, size_t cap) {
    char *end;
    int64_t ms;
    long n = strtol(in, &end, 10);
    /* digits then one unit, at most about 100 years back */
    if (end != in && n >= 0 && n <= 3153600000L && end[0] && !end[1] && strchr("smhd", end[0]) &&
        (end[0] == 's' || n <= 52560000L) && (end[0] != 'h' || n <= 876000L) &&
        (end[0] != 'd' || n <= 36500L)) {
        int64_t unit = end[0] == 's'   ? 1000
                       : end[0] == 'm' ? 60000
                       : end[0] == 'h' ? 3600000
                                       : 86400000;
        ms = od_clock_now_ms() - n * unit;
    } else if (od_clock_parse_rfc3339(in, &ms)) {
        return od_ctl_fail(
            2, "--%s: \"%s\" is neither a duration (15m, 2h, 7d) nor an RFC 3339 time", name, in);
    }
    od_clock_format_rfc3339(ms, out, cap);
    return 0;
}

static long long num(json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

/* An integer with thousands separators. */
static const char *grouped(long long v, char *buf, size_t cap) {
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%lld", v < 0 ? -v : v), o = 0;
    if (v < 0 && o < (int)cap - 1) buf[o++] = '-';
    for (int i = 0; i < n && o < (int)cap - 1; i++) {
        if (i && (n - i) % 3 == 0 && o < (int)cap - 2) buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = 0;
    return buf;
}

static void print_figures(const char *org, int w, json_t *f) {
    char rate[16] = "-", talk[16] = "-", cost[32], hooks[48];
    json_t *r = json_object_get(f, "answer_rate"), *t = json_object_get(f, "avg_duration_seconds");
    if (json_is_number(r)) snprintf(rate, sizeof rate, "%.1f%%", json_number_value(r) * 100);
    if (json_is_number(t)) snprintf(talk, sizeof talk, "%.1f s", json_number_value(t));
    json_t *h = json_object_get(f, "webhooks");
    snprintf(hooks, sizeof hooks, "%lld/%lld/%lld", num(h, "delivered"), num(h, "pending"),
             num(h, "failed"));
    printf("%-*s %8lld %7lld %7lld %9lld %7s %8s %9lld %12s %s\n", w, org, num(f, "requests"),
           num(f, "in_flight"), num(f, "dialed"), num(f, "answered"), rate, talk,
           num(f, "billable_seconds"), grouped(num(f, "cost_millicents"), cost, sizeof cost),
           hooks);
}

static void print_statuses(json_t *orgs, json_t *overall, int w) {
    int used[NSTATUSES], any = 0;
    json_t *all = json_object_get(overall, "by_status"), *o;
    size_t i;
    for (size_t s = 0; s < NSTATUSES; s++)
        any |= used[s] = num(all, statuses[s]) > 0;
    if (!any) return;
    printf("\n%-*s", w, "STATUS BY ORG");
    for (size_t s = 0; s < NSTATUSES; s++)
        if (used[s]) printf(" %11s", statuses[s]);
    putchar('\n');
    json_array_foreach(orgs, i, o) {
        json_t *b = json_object_get(o, "by_status");
        printf("%-*s", w, json_string_value(json_object_get(o, "org_id")));
        for (size_t s = 0; s < NSTATUSES; s++)
            if (used[s]) printf(" %11lld", num(b, statuses[s]));
        putchar('\n');
    }
    printf("%-*s", w, "(all)");
    for (size_t s = 0; s < NSTATUSES; s++)
        if (used[s]) printf(" %11lld", num(all, statuses[s]));
    putchar('\n');
}

static void print_errors(json_t *orgs, int w) {
    size_t i;
    json_t *o, *n;
    const char *code;
    int header = 0;
    json_array_foreach(orgs, i, o) {
        json_object_foreach(json_object_get(o, "errors"), code, n) {
            if (!header++) printf("\n%-*s %-24s %8s\n", w, "ERRORS BY ORG", "ERROR_CODE", "CALLS");
            printf("%-*s %-24s %8lld\n", w, json_string_value(json_object_get(o, "org_id")), code,
                   (long long)json_integer_value(n));
        }
    }
}

static void print_timeline(json_t *tl) {
    size_t n = json_array_size(tl), from = n > TIMELINE_ROWS ? n - TIMELINE_ROWS : 0;
    char cost[32];
    if (!n) return;
    printf("\n%-18s %8s %8s %8s %12s\n", "MINUTE (UTC)", "RECEIVED", "ANSWERED", "FINISHED",
           "COST_MC");
    if (from) printf("(%zu earlier minutes: see --since or --json)\n", from);
    for (size_t i = from; i < n; i++) {
        json_t *m = json_array_get(tl, i);
        printf("%-18s %8lld %8lld %8lld %12s\n", json_string_value(json_object_get(m, "minute")),
               num(m, "received"), num(m, "answered"), num(m, "finished"),
               grouped(num(m, "cost_millicents"), cost, sizeof cost));
    }
}

static void print_tables(json_t *st) {
    json_t *orgs = json_object_get(st, "orgs"), *overall = json_object_get(st, "overall"), *o;
    json_t *win = json_object_get(st, "window");
    size_t i;
    int w = 13;
    json_array_foreach(orgs, i, o) {
        int len = (int)strlen(json_string_value(json_object_get(o, "org_id")));
        if (len > w) w = len;
    }
    const char *since = json_string_value(json_object_get(win, "since"));
    const char *until = json_string_value(json_object_get(win, "until"));
    printf("calls received %s%s%s%s, as of %s\n\n", since ? "from " : "", since ? since : "",
           until ? " until " : (since ? "" : "at any time"), until ? until : "",
           json_string_value(json_object_get(st, "generated_at")));
    printf("%-*s %8s %7s %7s %9s %7s %8s %9s %12s %s\n", w, "ORG", "REQUESTS", "LIVE", "DIALED",
           "ANSWERED", "ANSWER%", "AVG_TALK", "BILLED_S", "COST_MC", "WEBHOOKS(ok/pending/failed)");
    json_array_foreach(orgs, i, o) {
        const char *id = json_string_value(json_object_get(o, "org_id"));
        print_figures(*id ? id : "(no org)", w, o);
    }
    print_figures("(all)", w, overall);
    print_statuses(orgs, overall, w);
    print_errors(orgs, w);
    print_timeline(json_object_get(st, "timeline"));
}

int od_ctl_stats(const od_ctl_conf_t *c, int argc, char **argv) {
    char err[512], since[40], until[40];
    (void)argv;
    if (argc) return od_ctl_fail(2, "stats takes no arguments (see --org, --since, --until)");
    if (c->since && parse_time("since", c->since, since, sizeof since)) return 2;
    if (c->until && parse_time("until", c->until, until, sizeof until)) return 2;
    od_db_t *db = od_db_connect(c->common.pg_dsn, "outdialctl", err, sizeof err);
    if (!db) return od_ctl_fail(1, "%s", err);
    json_t *st = NULL, *org = NULL;
    if (c->org) { /* an org that does not exist is a mistake, not an empty table */
        if (od_repo_provisioning_load_org(db, c->org, &org)) {
            int rc = od_ctl_fail(1, "stats: %s", od_db_error(db));
            od_db_close(db);
            return rc;
        }
        int known = json_object_size(json_object_get(org, "orgs")) > 0;
        json_decref(org);
        if (!known) {
            od_db_close(db);
            return od_ctl_fail(1, "stats: no org \"%s\"", c->org);
        }
    }
    if (od_repo_stats(db, c->org, c->since ? since : NULL, c->until ? until : NULL, &st)) {
        int rc = od_ctl_fail(1, "stats: %s", od_db_error(db));
        od_db_close(db);
        return rc;
    }
    od_db_close(db);
    if (c->json) {
        char *text = json_dumps(st, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(6));
        puts(text);
        free(text);
    } else {
        print_tables(st);
    }
    json_decref(st);
    return 0;
}
