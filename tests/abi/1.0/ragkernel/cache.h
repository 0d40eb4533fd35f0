/*
 * ragkernel SDK — cache plugins (kind RK_KIND_CACHE): bytes -> bytes with a
 * time to live.
 *
 * Threading: blocking calls on host worker threads, concurrently unless
 * RK_PLUGIN_SERIALIZE. A cache is an optimisation: when its backend is down
 * it returns RK_ERR_UNAVAILABLE quickly (bounded by its own timeout) and the
 * host carries on without it.
 *
 * Keys are opaque byte strings built by the host (already tenant-scoped).
 */
#ifndef RAGKERNEL_CACHE_H
#define RAGKERNEL_CACHE_H

#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rk_cache_vtable {
    RK_VTABLE_HEAD;
    /* Required. On a hit calls on_value once (data valid during the call
     * only) and returns RK_OK; on a miss returns RK_ERR_NOT_FOUND. */
    int (*get)(void *ctx, const void *key, size_t klen,
               void (*on_value)(void *ud, const void *data, size_t len),
               void *ud, rk_err *err);
    /* Required. Store a copy; ttl_ms <= 0 means the instance's default. */
    int (*set)(void *ctx, const void *key, size_t klen, const void *data,
               size_t len, int64_t ttl_ms, rk_err *err);
    /* Required. RK_OK also when the key was absent. */
    int (*del)(void *ctx, const void *key, size_t klen, rk_err *err);
} rk_cache_vtable;

#ifdef __cplusplus
}
#endif
#endif
