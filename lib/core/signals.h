/* Process signals for long-running binaries: SIGTERM and SIGINT set a stop
 * flag (the main loop finishes its work and returns), SIGPIPE is ignored
 * (a closed socket is an error to handle, not a reason to die). */
#ifndef OD_CORE_SIGNALS_H
#define OD_CORE_SIGNALS_H

#include <signal.h>

/* Installs the handlers; *stop becomes the signal number on SIGTERM/SIGINT.
 * Call once, from the main thread, before starting other threads. */
void od_signals_install(volatile sig_atomic_t *stop);

#endif
