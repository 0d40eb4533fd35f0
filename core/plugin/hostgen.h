/*
 * hostgen — the current "generation" (registry + pipeline + documents +
 * keys) that the host's services act on, and the worker pool they hand
 * work to. Swapping the generation is how SIGHUP reload works: new calls
 * go to the new generation, calls already made finish on the one they
 * started with. Readers hold a read lock only while they hand work over.
 */
#ifndef RK_CORE_HOSTGEN_H
#define RK_CORE_HOSTGEN_H

#include "docs.h"
#include "keystore.h"
#include "pipeline.h"
#include "pool.h"
#include "registry.h"

typedef struct generation {
    registry *reg;
    pipeline *pl;
    docs *docs;           /* NULL when no storage is configured */
    rk_instance *limiter; /* auth.limiter instance, or NULL (in-process buckets) */
    keystore *keys;       /* keys stored in pipeline.history (one reference), or NULL */
} generation;

/* The worker pool (set once at start-up, before any create). */
void hostgen_set_pool(pool *p);
pool *hostgen_pool(void);

/* Install a new generation; returns the previous one (the caller drains
 * and frees it). Thread-safe against concurrent readers. */
generation hostgen_swap(generation g);
generation hostgen_current(void);
/* The registry whose instances are starting: its keys apply to requests
 * (and to the transports' start-up checks) before it is swapped in. NULL
 * clears it. */
void hostgen_set_starting(registry *r);

/* The current generation under the read lock (fields NULL before the
 * first one), until hostgen_done. Hand work over only; never block. */
const generation *hostgen_read(void);
/* With hostgen_read held: the registry whose keys answer requests (the
 * starting one, else the current one), or NULL. */
const registry *hostgen_keys_registry(void);
/* With hostgen_read held: 1 while a generation is starting. */
int hostgen_starting(void);
void hostgen_done(void);

/* fn(the current generation, the worker pool, arg, err) under the read
 * lock, so a reload cannot retire it meanwhile; fn must only hand work over
 * (pin the registry with registry_ref for work that outlives the call).
 * RK_ERR_UNAVAILABLE before the first generation. */
int hostgen_call(int (*fn)(const generation *g, pool *p, void *arg, rk_err *err), void *arg,
                 rk_err *err);

#endif
