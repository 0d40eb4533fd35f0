/*
 * pool — the per-thread workers of a retriever_sqlite instance, borrowed
 * for one call. Any thread: get/put lock c->pool_mu.
 */
#ifndef RK_RETRIEVER_SQLITE_POOL_H
#define RK_RETRIEVER_SQLITE_POOL_H

#include "rs.h"

/* A free worker, or a new one; NULL on out of memory. Give it back with
 * rs_worker_put. */
rs_worker *rs_worker_get(rs_ctx *c);
void rs_worker_put(rs_ctx *c, rs_worker *w);
void rs_worker_free(rs_worker *w);
/* Teardown, no call running: free every worker on the list. */
void rs_pool_drain(rs_ctx *c);

#endif
