/*
 * housekeep — background upkeep of a generation: idle conversations expire
 * in batches (pipeline.history_ttl, checked every
 * pipeline.history_expire_interval), off every request path.
 */
#ifndef RK_CORE_HOUSEKEEP_H
#define RK_CORE_HOUSEKEEP_H

#include <ragkernel/ragkernel.h>

typedef struct housekeep housekeep;

/* history may be NULL (then NULL is returned: nothing to do). ttl_ms <= 0
 * disables expiry. */
housekeep *housekeep_new(rk_instance *history, int64_t ttl_ms, int64_t interval_ms,
                         int64_t batch);
/* Runs one expiry pass now, on the calling thread; returns conversations
 * removed or <0. Exposed for tests. */
int64_t housekeep_run_once(housekeep *h);
void housekeep_free(housekeep *h); /* stops and joins its thread; NULL ok */

#endif
