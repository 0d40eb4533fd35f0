/*
 * server — the process lifecycle around one configuration file:
 * load → build generation (registry + pipeline) → start → serve signals →
 * reload on SIGHUP (new generation swapped in, old one drained) → graceful
 * stop on SIGTERM/SIGINT.
 */
#ifndef RK_CORE_SERVER_H
#define RK_CORE_SERVER_H

#include "cfg.h"

typedef struct server server;

/* Load and validate the config, start the runtime (loop + workers), build
 * and start the first generation. NULL with diagnostics in d. */
server *server_new(const char *config_path, cfg_diag *d);
/* Re-read the config file. A valid one is built and started beside the
 * running generation, swapped in, and the old one drained in the
 * background of this call (up to shutdown_grace). An invalid one leaves the
 * running generation untouched. 0 or -1 with diagnostics. */
int server_reload(server *s, cfg_diag *d);
/* Block until SIGTERM/SIGINT (reloading on SIGHUP). The signals must be
 * blocked in every thread first: call server_block_signals() before
 * server_new(). */
void server_wait_signals(server *s);
void server_block_signals(void);
/* Stop transports, drain in-flight chats up to the grace period, stop
 * everything and free. */
void server_free(server *s);

#endif
