/* outdial-dialer: parse settings, run until SIGTERM/SIGINT, then drain. */
#include "core/log.h"
#include "core/signals.h"
#include "dialer/dialer.h"

#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

int main(int argc, char **argv) {
    od_dialer_conf_t conf = {0};
    const od_opt_t *tables[] = {od_dialer_common_opts, od_dialer_opts, NULL};
    char err[512], *pos[1], id[300];
    int npos;
    int rc = od_config_parse(tables, &conf, argc, argv, pos, 0, &npos, err, sizeof err);
    if (rc == 1) return 0;
    if (rc < 0 || od_log_set_level(conf.log_level)) {
        fprintf(stderr, "outdial-dialer: %s\n", rc < 0 ? err : "--log-level: unknown level");
        return 2;
    }
    if (conf.heartbeat_ms < 100 || conf.stale_seconds < 1 || conf.agent_answer_ms < 100 ||
        conf.drain_seconds < 0 || conf.max_calls < 1) {
        fprintf(stderr, "outdial-dialer: heartbeat-ms and agent-answer-ms must be at least 100, "
                        "stale-seconds and max-calls at least 1, drain-seconds not negative\n");
        return 2;
    }
    if (!conf.dialer_id) {
        char host[256] = "dialer";
        gethostname(host, sizeof host - 1);
        snprintf(id, sizeof id, "%s-%d", host, (int)getpid());
        conf.dialer_id = id;
    }
    od_log_set_component("dialer");
    od_signals_install(&stop);
    return od_dialer_run(&conf, &stop);
}
