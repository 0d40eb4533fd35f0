/*
 * ratelimit — per-key token buckets for requests/min and tokens/min. The
 * buckets live in a cache instance that implements rate_take (shared by
 * every host, e.g. cache_redis) or, without one, in this process.
 */
#ifndef RK_CORE_RATELIMIT_H
#define RK_CORE_RATELIMIT_H

#include <ragkernel/ragkernel.h>

/* Take `cost` from bucket `name` refilling at per_min a minute (burst =
 * per_min). limiter may be NULL (in-process buckets). RK_OK or
 * RK_ERR_RATE_LIMITED with *retry_after_ms. A limiter that fails lets the
 * request through (logged once a minute, counted in
 * ragkernel_ratelimit_backend_errors_total). */
int ratelimit_take(rk_instance *limiter, const char *name, double per_min,
                   double cost, int force, int64_t *retry_after_ms);

void ratelimit_reset(void); /* tests: forget every in-process bucket */

#endif
