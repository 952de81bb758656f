/* outdial-api: parse settings, serve HTTP until SIGTERM/SIGINT. */
#include "api/api.h"
#include "core/log.h"
#include "core/signals.h"

#include <stdio.h>

static volatile sig_atomic_t stop;

int main(int argc, char **argv) {
    od_api_conf_t conf = {0};
    const od_opt_t *tables[] = {od_common_opts, od_api_opts, NULL};
    char err[512], *pos[1];
    int npos;
    int rc = od_config_parse(tables, &conf, argc, argv, pos, 0, &npos, err, sizeof err);
    if (rc == 1) return 0;
    if (rc < 0 || od_log_set_level(conf.log_level)) {
        fprintf(stderr, "outdial-api: %s\n", rc < 0 ? err : "--log-level: unknown level");
        return 2;
    }
    if (!conf.common.pg_dsn) {
        fprintf(stderr, "outdial-api: set OUTDIAL_PG_DSN or --pg-dsn\n");
        return 2;
    }
    if (conf.body_max < 1 || conf.timeout_s < 1 || conf.max_connections < 1 ||
        conf.kafka_wait_ms < 1 || conf.db_pool < 0 || conf.drain_s < 0) {
        fprintf(stderr, "outdial-api: sizes, limits and timeouts must be positive\n");
        return 2;
    }
    od_log_set_component("api");
    od_signals_install(&stop);
    return od_api_run(&conf, &stop);
}
