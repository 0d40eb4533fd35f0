/*
 * housekeep — background upkeep of a generation: idle conversations expire
 * in batches (pipeline.history_ttl, checked every
 * pipeline.history_expire_interval), and a history store whose writes fail
 * is probed until they work again; off every request path.
 */
#ifndef RK_CORE_HOUSEKEEP_H
#define RK_CORE_HOUSEKEEP_H

#include <ragkernel/ragkernel.h>

typedef struct housekeep housekeep;

/* history may be NULL (then NULL is returned: nothing to do). ttl_ms <= 0
 * disables expiry (the probe still runs). */
housekeep *housekeep_new(rk_instance *history, int64_t ttl_ms, int64_t interval_ms,
                         int64_t batch);
/* Runs one expiry pass now, on the calling thread; returns conversations
 * removed or <0. Exposed for tests. */
int64_t housekeep_run_once(housekeep *h);
/* While the history instance is marked failing: its probe slot, once; a
 * success clears the mark (and /ready recovers). RK_OK when not failing,
 * RK_ERR_UNSUPPORTED without a probe slot. Exposed for tests. */
int housekeep_probe(housekeep *h);
void housekeep_free(housekeep *h); /* stops and joins its thread; NULL ok */

#endif
