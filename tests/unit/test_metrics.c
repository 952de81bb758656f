/* lib/ops/metrics: the exact text exposition of each metric type, label
 * escaping, the overflow series, counters that never go down; and the
 * readiness checks and liveness loops of lib/ops/ops. When promtool is on
 * the PATH, the output also passes `promtool check metrics`. */
#include "check.h"
#include "core/clock.h"
#include "ops/metrics.h"
#include "ops/ops.h"

#include <stdlib.h>

static void test_exposition(void) {
    od_metrics_t *r = od_metrics_new();
    od_metric_t *c = od_metrics_counter(r, "outdial_things_total", "Things.\nDone \\ here.", NULL);
    od_metric_t *l = od_metrics_counter(r, "outdial_by_code_total", "By code.", "code");
    od_metric_t *g = od_metrics_gauge(r, "outdial_level", "A level.", NULL);
    static const double b[] = {0.1, 0.5, 2.5};
    od_metric_t *h = od_metrics_histogram(r, "outdial_wait_seconds", "Waits.", "leg", b, 3);
    CHECK(od_metrics_counter(r, "outdial_things_total", "again", NULL) == c, "same family");
    CHECK(!od_metrics_gauge(r, "outdial_things_total", "again", NULL), "other type refused");
    CHECK(!od_metrics_counter(r, "9bad", "x", NULL), "bad name");
    CHECK(!od_metrics_counter(r, "outdial_x_total", "x", "le"), "le is reserved");
    od_metric_add(c, NULL, 3);
    od_metric_add(c, NULL, -1); /* ignored */
    od_metric_declare(l, "B");
    od_metric_add(l, "A\"x\\\n", 2);
    od_metric_set(g, NULL, -1.5);
    od_metric_observe(h, "callee", 0.1);
    od_metric_observe(h, "callee", 0.3);
    od_metric_observe(h, "callee", 7);
    od_buf_t out = {0};
    od_metrics_write(r, &out);
    const char *want = "# HELP outdial_things_total Things.\\nDone \\\\ here.\n"
                       "# TYPE outdial_things_total counter\n"
                       "outdial_things_total 3\n"
                       "# HELP outdial_by_code_total By code.\n"
                       "# TYPE outdial_by_code_total counter\n"
                       "outdial_by_code_total{code=\"B\"} 0\n"
                       "outdial_by_code_total{code=\"A\\\"x\\\\\\n\"} 2\n"
                       "# HELP outdial_level A level.\n"
                       "# TYPE outdial_level gauge\n"
                       "outdial_level -1.5\n"
                       "# HELP outdial_wait_seconds Waits.\n"
                       "# TYPE outdial_wait_seconds histogram\n"
                       "outdial_wait_seconds_bucket{leg=\"callee\",le=\"0.1\"} 1\n"
                       "outdial_wait_seconds_bucket{leg=\"callee\",le=\"0.5\"} 2\n"
                       "outdial_wait_seconds_bucket{leg=\"callee\",le=\"2.5\"} 2\n"
                       "outdial_wait_seconds_bucket{leg=\"callee\",le=\"+Inf\"} 3\n"
                       "outdial_wait_seconds_sum{leg=\"callee\"} 7.4\n"
                       "outdial_wait_seconds_count{leg=\"callee\"} 3\n";
    CHECK_STR(out.data, want, "exposition");
    CHECK(od_metric_value(h, "callee") == 3, "histogram count");

    /* promtool, if installed, agrees */
    char path[] = "/tmp/od_metrics_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f) {
        fwrite(out.data, 1, out.len, f);
        fclose(f);
        char cmd[256];
        snprintf(cmd, sizeof cmd, "command -v promtool >/dev/null && promtool check metrics < %s",
                 path);
        if (system("command -v promtool >/dev/null") == 0)
            CHECK(system(cmd) == 0, "promtool check metrics");
        remove(path);
    }
    od_buf_free(&out);

    /* counters copied from elsewhere never go down */
    od_metric_set(c, NULL, 10);
    od_metric_set(c, NULL, 4);
    CHECK(od_metric_value(c, NULL) == 10, "counter set: %g", od_metric_value(c, NULL));

    /* past the cap, one "other" series */
    for (int i = 0; i < OD_METRIC_SERIES_MAX + 10; i++) {
        char v[16];
        snprintf(v, sizeof v, "t%d", i);
        od_metric_add(l, v, 1);
    }
    CHECK(od_metric_value(l, "other") == 12, "overflow: %g", od_metric_value(l, "other"));
    od_metrics_free(r);

    /* NULL metrics are no-ops */
    od_metric_add(NULL, "x", 1);
    od_metric_observe(NULL, "x", 1);
}

static void test_probes(void) {
    CHECK(od_ops_healthy() && od_ops_ready(), "nothing registered: healthy and ready");
    od_ops_conf_t conf = {.listen = "", .stale_s = 1};
    char err[128];
    od_ops_t *o = od_ops_start(&conf, "test", err, sizeof err);
    CHECK(o != NULL, "start without a listener: %s", err);
    od_ops_loop_t *l = od_ops_loop_register("main");
    od_ops_check_t *db = od_ops_check_register("database:test", 0);
    od_ops_check_t *k = od_ops_check_register("kafka:test", 300);
    CHECK(od_ops_healthy(), "a loop just registered has beaten");
    CHECK(!od_ops_ready(), "checks not known yet");
    od_ops_check_set(db, 1, NULL);
    od_ops_check_set(k, 1, NULL);
    CHECK(od_ops_ready(), "both hold");
    od_ops_check_set(db, 0, "unreachable");
    CHECK(!od_ops_ready(), "database down");
    od_ops_check_set(db, 1, NULL);
    od_clock_sleep_ms(400);
    CHECK(!od_ops_ready(), "kafka check not confirmed within its max age");
    od_ops_check_set(k, 1, NULL);
    CHECK(od_ops_ready(), "confirmed again");
    od_clock_sleep_ms(1100);
    CHECK(!od_ops_healthy(), "a loop silent past the threshold");
    od_ops_loop_beat(l);
    CHECK(od_ops_healthy(), "it turned again");
    od_ops_loop_done(l);
    od_ops_check_done(k);
    od_ops_check_done(db);
    CHECK(od_ops_healthy() && od_ops_ready(), "done: no longer watched");
    od_ops_stop(o);
}

int main(void) {
    test_exposition();
    test_probes();
    return CHECK_DONE();
}
