/*
 * hostapi — the rk_host table handed to every instance, and the current
 * "generation" (registry + pipeline) that transport-facing calls use.
 * Swapping the generation is how SIGHUP reload works: new chats go to the
 * new pipeline, old chats finish on the one they started with.
 */
#ifndef RK_CORE_HOSTAPI_H
#define RK_CORE_HOSTAPI_H

#include <ragkernel/host.h>

#include "docs.h"
#include "keystore.h"
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

/* Install a new generation; returns the previous pipeline (caller drains and
 * frees it with its registry). Thread-safe against concurrent chat_start. */
typedef struct generation {
    registry *reg;
    pipeline *pl;
    docs *docs;          /* NULL when no storage is configured */
    rk_instance *limiter; /* auth.limiter instance, or NULL (in-process buckets) */
    keystore *keys;       /* keys stored in pipeline.history (one reference), or NULL */
} generation;
generation hostapi_swap(generation g);
/* The registry whose instances are starting: its keys apply to requests
 * (and to the transports' start-up checks) before it is swapped in. NULL
 * clears it. */
void hostapi_set_starting(registry *r);
/* SIGTERM arrived: /ready answers 503 "shutting down" from now on (the
 * listener keeps accepting for server.shutdown_delay, so balancers see it
 * and stop sending first). Any thread. */
void hostapi_set_draining(int on);
generation hostapi_current(void);
/* fn(the current generation, the worker pool, arg, err) under the
 * generation's read lock, so a reload cannot retire it meanwhile; fn must
 * only hand work over (pin the registry with registry_ref for work that
 * outlives the call). RK_ERR_UNAVAILABLE before the first generation. */
int hostapi_gen_call(int (*fn)(const generation *g, pool *p, void *arg, rk_err *err),
                     void *arg, rk_err *err);
/* A reference to the current generation's stored keys (NULL: none; the
 * caller keystore_unref's it), and whether config_id names a config key
 * of the generation answering requests (is_config may be NULL). */
keystore *hostapi_keys_ref(const char *config_id, int *is_config);
/* The config keys of the generation answering requests, to fn. */
void hostapi_config_keys(const char *tenant, void (*fn)(void *ud, const rk_api_key *k), void *ud);

#endif
