/*
 * rate — token buckets kept in Redis and updated by one Lua script, so a
 * take is atomic across every host that shares the server.
 */
#ifndef RK_CACHE_REDIS_RATE_H
#define RK_CACHE_REDIS_RATE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "rpool.h"

typedef struct rrate {
    pthread_mutex_t mu;
    char sha[41]; /* the script's SHA1 once SCRIPT LOAD told us; "" before */
} rrate;

int rrate_init(rrate *r);
void rrate_destroy(rrate *r);

/* The rk_cache_vtable.rate_take contract on bucket `key` (the full Redis
 * key). rate_per_min must be > 0, burst and cost >= 0, all finite, else
 * RK_ERR_INVALID. Errors of the pool pass through. */
int rrate_take(rrate *r, rpool *p, const char *key, size_t klen, double rate_per_min,
               double burst, double cost, int force, int64_t *retry_after_ms, rk_err *err);

#endif
