/*
 * pool — a fixed set of worker threads for blocking plugin calls
 * (retrieval, storage, cache, history). FIFO queue, no per-job allocation
 * beyond one small node.
 */
#ifndef RK_CORE_POOL_H
#define RK_CORE_POOL_H

#include <ragkernel/error.h>

typedef struct pool pool;

pool *pool_new(int threads, rk_err *err);
/* any: RK_OK, or RK_ERR_UNAVAILABLE once the pool is shutting down. */
int pool_submit(pool *p, void (*fn)(void *ud), void *ud);
/* Run what is queued, then join the threads and free. */
void pool_free(pool *p);
int pool_threads(const pool *p);

#endif
