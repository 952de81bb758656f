/* Stop-flag signal handling (see signals.h). */
#include "core/signals.h"

#include <string.h>

static volatile sig_atomic_t *stop_flag;

static void on_stop(int sig) { *stop_flag = sig; }

void od_signals_install(volatile sig_atomic_t *stop) {
    struct sigaction sa;
    stop_flag = stop;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}
