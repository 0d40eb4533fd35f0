/*
 * hostapi — the rk_host table handed to every instance. The generation its
 * services act on is hostgen's; the auth and limits slots are hostauth's;
 * the role services (host->service) are hostsvc's.
 */
#ifndef RK_CORE_HOSTAPI_H
#define RK_CORE_HOSTAPI_H

#include <ragkernel/host.h>

#include "hostgen.h"
#include "loop.h"
#include "pipeline.h"
#include "pool.h"
#include "registry.h"

const rk_host *hostapi_table(void);

/* Runtime the services run on (set once at start-up, before any create):
 * one loop (loopset_set) and the worker pool. */
void hostapi_set_runtime(loop *l, pool *p);
/* Several loops: loopset_set (loopset.h) after this; plugins see them as
 * rk_host.loop_count / run_on_loop_n. */

/* SIGTERM arrived: /ready answers 503 "shutting down" from now on (the
 * listener keeps accepting for server.shutdown_delay, so balancers see it
 * and stop sending first). Any thread. */
void hostapi_set_draining(int on);

#endif
