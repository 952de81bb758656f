/* outdial-scheduler: parse settings, run until SIGTERM/SIGINT. */
#include "core/log.h"
#include "core/signals.h"
#include "scheduler/scheduler.h"

#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t stop;

int main(int argc, char **argv) {
    od_scheduler_conf_t conf = {0};
    const od_opt_t *tables[] = {od_common_opts, od_scheduler_opts, NULL};
    char err[512], *pos[1];
    int npos;
    int rc = od_config_parse(tables, &conf, argc, argv, pos, 0, &npos, err, sizeof err);
    if (rc == 1) return 0;
    if (rc < 0 || od_log_set_level(conf.log_level)) {
        fprintf(stderr, "outdial-scheduler: %s\n", rc < 0 ? err : "--log-level: unknown level");
        return 2;
    }
    if (!conf.common.pg_dsn) {
        fprintf(stderr, "outdial-scheduler: set OUTDIAL_PG_DSN or --pg-dsn\n");
        return 2;
    }
    static const char *const roles[] = {"intake", "admission", "reports", "relay", "webhooks"};
    int known = 0;
    for (int i = 0; i < 5; i++)
        known += od_scheduler_has_role(&conf, roles[i]);
    if (!known) {
        fprintf(
            stderr,
            "outdial-scheduler: --roles must list intake, admission, reports, relay or webhooks\n");
        return 2;
    }
    if (conf.batch_max < 1 || conf.batch_ms < 0 || conf.relay_batch < 1 ||
        conf.topic_partitions < 1 || conf.webhook_timeout_ms < 100 || conf.webhook_retry_s < 0 ||
        conf.webhook_concurrency < 1) {
        fprintf(stderr, "outdial-scheduler: batch and partition settings must be positive\n");
        return 2;
    }
    od_log_set_component("scheduler");
    od_signals_install(&stop);
    return od_scheduler_run(&conf, &stop);
}
