/* The ops listener, liveness loops and readiness checks (see ops.h), and
 * the standard process_* metrics read from /proc at scrape time. */
#include "ops/ops.h"
#include "core/clock.h"
#include "core/log.h"
#include "httpd/httpd.h"
#include "ops/metrics.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define SLOTS 32
#define NAME_MAX_ 64
#define WHY_MAX 160

struct od_ops_loop {
    char name[NAME_MAX_];
    atomic_llong beat_ms; /* monotonic */
    atomic_int active;
};

struct od_ops_check {
    char name[NAME_MAX_];
    int max_age_ms;
    atomic_int active, ok;
    atomic_llong set_ms; /* monotonic; 0: never set */
    pthread_mutex_t mu;  /* why */
    char why[WHY_MAX];
};

static struct {
    pthread_mutex_t mu; /* registration */
    od_ops_loop_t loops[SLOTS];
    atomic_int nloops;
    od_ops_check_t checks[SLOTS];
    atomic_int nchecks;
    atomic_long stale_ms;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .stale_ms = 60000};

struct od_ops {
    od_httpd_t *http;
};

/* ---- loops ---- */

od_ops_loop_t *od_ops_loop_register(const char *name) {
    pthread_mutex_lock(&g.mu);
    od_ops_loop_t *l = NULL;
    int n = atomic_load(&g.nloops);
    for (int i = 0; i < n && !l; i++) /* a loop started again reuses its slot */
        if (!strcmp(g.loops[i].name, name) && !atomic_load(&g.loops[i].active)) l = &g.loops[i];
    if (!l && n < SLOTS) {
        l = &g.loops[n];
        snprintf(l->name, sizeof l->name, "%s", name);
        atomic_store(&g.nloops, n + 1);
    }
    if (l) {
        atomic_store(&l->beat_ms, (long long)od_clock_mono_ms());
        atomic_store(&l->active, 1);
    }
    pthread_mutex_unlock(&g.mu);
    return l;
}

void od_ops_loop_beat(od_ops_loop_t *l) {
    if (l) atomic_store_explicit(&l->beat_ms, (long long)od_clock_mono_ms(), memory_order_relaxed);
}

void od_ops_loop_done(od_ops_loop_t *l) {
    if (l) atomic_store(&l->active, 0);
}

/* ---- checks ---- */

od_ops_check_t *od_ops_check_register(const char *name, int max_age_ms) {
    pthread_mutex_lock(&g.mu);
    od_ops_check_t *c = NULL;
    int n = atomic_load(&g.nchecks);
    for (int i = 0; i < n; i++) /* registered already (ahead of its loop): that one */
        if (!strcmp(g.checks[i].name, name) && atomic_load(&g.checks[i].active)) {
            pthread_mutex_unlock(&g.mu);
            return &g.checks[i];
        }
    for (int i = 0; i < n && !c; i++)
        if (!strcmp(g.checks[i].name, name) && !atomic_load(&g.checks[i].active)) c = &g.checks[i];
    if (!c && n < SLOTS) {
        c = &g.checks[n];
        snprintf(c->name, sizeof c->name, "%s", name);
        pthread_mutex_init(&c->mu, NULL);
        atomic_store(&g.nchecks, n + 1);
    }
    if (c) {
        c->max_age_ms = max_age_ms;
        atomic_store(&c->ok, 0);
        atomic_store(&c->set_ms, 0);
        pthread_mutex_lock(&c->mu);
        snprintf(c->why, sizeof c->why, "not known yet");
        pthread_mutex_unlock(&c->mu);
        atomic_store(&c->active, 1);
    }
    pthread_mutex_unlock(&g.mu);
    return c;
}

void od_ops_check_set(od_ops_check_t *c, int ok, const char *why) {
    if (!c) return;
    if (!ok || atomic_load_explicit(&c->ok, memory_order_relaxed) != ok) {
        pthread_mutex_lock(&c->mu);
        snprintf(c->why, sizeof c->why, "%s", ok ? "" : why ? why : "failing");
        pthread_mutex_unlock(&c->mu);
    }
    atomic_store_explicit(&c->ok, ok, memory_order_relaxed);
    atomic_store_explicit(&c->set_ms, (long long)od_clock_mono_ms(), memory_order_relaxed);
}

int od_ops_check_ok(od_ops_check_t *c) {
    return !c || atomic_load_explicit(&c->ok, memory_order_relaxed);
}

void od_ops_check_done(od_ops_check_t *c) {
    if (c) atomic_store(&c->active, 0);
}

/* ---- the probes ---- */

/* Appends a line per loop ("ok NAME" or "fail NAME: ..."); returns how
 * many fail. `out` may be NULL. */
static int loops_report(od_buf_t *out) {
    int64_t now = od_clock_mono_ms(), stale = atomic_load(&g.stale_ms), bad = 0;
    int n = atomic_load(&g.nloops);
    for (int i = 0; i < n; i++) {
        od_ops_loop_t *l = &g.loops[i];
        if (!atomic_load(&l->active)) continue;
        int64_t age = now - atomic_load(&l->beat_ms);
        if (age > stale) {
            bad++;
            if (out) od_buf_printf(out, "fail %s: no turn for %lld ms\n", l->name, (long long)age);
        } else if (out) {
            od_buf_printf(out, "ok %s\n", l->name);
        }
    }
    return (int)bad;
}

/* 1 if check c holds now; its reason in why (cap WHY_MAX) if not. */
static int check_holds(od_ops_check_t *c, char *why) {
    long long set = atomic_load(&c->set_ms);
    int64_t age = set ? od_clock_mono_ms() - set : 0;
    if (set && c->max_age_ms > 0 && age > c->max_age_ms) {
        snprintf(why, WHY_MAX, "not confirmed for %lld ms", (long long)age);
        return 0;
    }
    if (atomic_load(&c->ok)) return 1;
    pthread_mutex_lock(&c->mu);
    snprintf(why, WHY_MAX, "%s", c->why);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static int checks_report(od_buf_t *out, od_metric_t *gauge) {
    int bad = 0, n = atomic_load(&g.nchecks);
    for (int i = 0; i < n; i++) {
        od_ops_check_t *c = &g.checks[i];
        if (!atomic_load(&c->active)) continue;
        char why[WHY_MAX];
        int ok = check_holds(c, why);
        bad += !ok;
        od_metric_set(gauge, c->name, ok);
        if (!out) continue;
        if (ok)
            od_buf_printf(out, "ok %s\n", c->name);
        else
            od_buf_printf(out, "fail %s: %s\n", c->name, why);
    }
    return bad;
}

int od_ops_healthy(void) { return loops_report(NULL) == 0; }
int od_ops_ready(void) { return checks_report(NULL, NULL) == 0; }

/* ---- process metrics ---- */

static struct {
    od_metric_t *cpu, *rss, *vsize, *fds, *max_fds, *start, *ready, *check, *healthy;
    long ticks, page;
    double boot_time;
} pm;

static double boot_time(void) {
    FILE *f = fopen("/proc/stat", "r");
    char line[256];
    double bt = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "btime ", 6)) bt = strtod(line + 6, NULL);
    if (f) fclose(f);
    return bt;
}

static void collect_process(void *arg) {
    (void)arg;
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command may hold spaces and parentheses */
    if (p) {
        /* after ")": state(3) ... utime(14) stime(15) ... starttime(22) vsize(23) rss(24) */
        unsigned long long v[25] = {0};
        int field = 3;
        char *save = NULL;
        for (char *tok = strtok_r(p + 2, " ", &save); tok && field <= 24;
             tok = strtok_r(NULL, " ", &save), field++)
            v[field] = strtoull(tok, NULL, 10);
        od_metric_set(pm.cpu, NULL, (double)(v[14] + v[15]) / (double)pm.ticks);
        od_metric_set(pm.vsize, NULL, (double)v[23]);
        od_metric_set(pm.rss, NULL, (double)v[24] * (double)pm.page);
        od_metric_set(pm.start, NULL, pm.boot_time + (double)v[22] / (double)pm.ticks);
    }
    int fds = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d && (e = readdir(d));)
        fds += e->d_name[0] != '.';
    if (d) closedir(d);
    od_metric_set(pm.fds, NULL, fds - 1); /* less the one reading the directory */
    struct rlimit rl;
    if (!getrlimit(RLIMIT_NOFILE, &rl))
        od_metric_set(pm.max_fds, NULL, rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur);
    od_metric_set(pm.ready, NULL, checks_report(NULL, pm.check) == 0);
    od_metric_set(pm.healthy, NULL, loops_report(NULL) == 0);
}

static pthread_once_t pm_once = PTHREAD_ONCE_INIT;
static void process_metrics_init(void) {
    od_metrics_t *r = od_metrics_default();
    pm.ticks = sysconf(_SC_CLK_TCK);
    pm.page = sysconf(_SC_PAGESIZE);
    pm.boot_time = boot_time();
    pm.cpu = od_metrics_counter(r, "process_cpu_seconds_total",
                                "Total user and system CPU time spent in seconds.", NULL);
    pm.rss = od_metrics_gauge(r, "process_resident_memory_bytes", "Resident memory size in bytes.",
                              NULL);
    pm.vsize =
        od_metrics_gauge(r, "process_virtual_memory_bytes", "Virtual memory size in bytes.", NULL);
    pm.fds = od_metrics_gauge(r, "process_open_fds", "Number of open file descriptors.", NULL);
    pm.max_fds =
        od_metrics_gauge(r, "process_max_fds", "Maximum number of open file descriptors.", NULL);
    pm.start = od_metrics_gauge(r, "process_start_time_seconds",
                                "Start time of the process since unix epoch in seconds.", NULL);
    pm.healthy =
        od_metrics_gauge(r, "outdial_healthy",
                         "1 while every main loop turns (what /healthz answers 200 to).", NULL);
    pm.ready = od_metrics_gauge(
        r, "outdial_ready", "1 while every readiness check holds (what /readyz answers 200 to).",
        NULL);
    pm.check = od_metrics_gauge(
        r, "outdial_ready_check",
        "1 while this readiness check holds (e.g. database:intake, kafka:intake).", "check");
    od_metrics_on_collect(r, collect_process, NULL);
}

/* ---- the listener ---- */

static void handle(void *ctx, const od_httpd_req_t *req, od_httpd_resp_t *resp) {
    (void)ctx;
    if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
        resp->status = 405;
        od_httpd_resp_header(resp, "Allow", "GET, HEAD");
        od_httpd_resp_header(resp, "Content-Type", "text/plain");
        od_buf_puts(&resp->body, "method not allowed\n");
        return;
    }
    if (!strcmp(req->path, "/metrics")) {
        resp->status = 200;
        od_httpd_resp_header(resp, "Content-Type", OD_METRICS_CONTENT_TYPE);
        od_metrics_write(od_metrics_default(), &resp->body);
        return;
    }
    od_httpd_resp_header(resp, "Content-Type", "text/plain; charset=utf-8");
    od_httpd_resp_header(resp, "Cache-Control", "no-store");
    if (!strcmp(req->path, "/healthz") || !strcmp(req->path, "/livez")) {
        int bad = loops_report(&resp->body);
        resp->status = bad ? 503 : 200;
        if (!resp->body.len) od_buf_puts(&resp->body, "ok\n");
        return;
    }
    if (!strcmp(req->path, "/readyz")) {
        int bad = checks_report(&resp->body, NULL);
        resp->status = bad ? 503 : 200;
        if (!resp->body.len) od_buf_puts(&resp->body, "ok\n");
        return;
    }
    resp->status = 404;
    od_buf_puts(&resp->body, "not found: /metrics, /healthz, /readyz\n");
}

od_ops_t *od_ops_start(const od_ops_conf_t *conf, const char *binary, char *errstr, size_t n) {
    pthread_once(&pm_once, process_metrics_init);
    if (conf->stale_s > 0) atomic_store(&g.stale_ms, conf->stale_s * 1000);
    od_ops_t *o = calloc(1, sizeof *o);
    if (!o) {
        snprintf(errstr, n, "out of memory");
        return NULL;
    }
    if (!conf->listen || !*conf->listen) return o;
    od_httpd_conf_t hc = {.listen = conf->listen,
                          .body_max = 1024,
                          .timeout_s = 10,
                          .max_connections = 16,
                          .handler = handle};
    char err[256];
    o->http = od_httpd_start(&hc, err, sizeof err);
    if (!o->http) {
        snprintf(errstr, n, "ops listener: %s", err);
        free(o);
        return NULL;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", od_httpd_port(o->http));
    od_logkv(OD_LOG_INFO, "ops listener up: /metrics /healthz /readyz", "listen", conf->listen,
             "#port", port, "binary", binary, (const char *)NULL);
    return o;
}

int od_ops_port(const od_ops_t *o) { return o && o->http ? od_httpd_port(o->http) : 0; }

void od_ops_stop(od_ops_t *o) {
    if (!o) return;
    od_httpd_stop(o->http, 1000);
    free(o);
}
