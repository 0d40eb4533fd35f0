/*
 * stub_cache.h — the body shared by the deliberately broken test plugins:
 * a cache that stores nothing, complete and valid, so that each bad_*.c
 * differs from a loadable plugin only in the one defect it is named after.
 * Included by exactly one .c per .so (everything here is static).
 */
#ifndef RK_TEST_STUB_CACHE_H
#define RK_TEST_STUB_CACHE_H

#include <stddef.h>

#include <ragkernel/ragkernel.h>

static int c_get(void *ctx, const void *key, size_t klen,
                 void (*on_value)(void *ud, const void *data, size_t len),
                 void *ud, rk_err *err)
{
    return RK_ERR_NOT_FOUND;
}

static int c_set(void *ctx, const void *key, size_t klen, const void *data,
                 size_t len, int64_t ttl_ms, rk_err *err)
{
    return RK_OK;
}

static int c_del(void *ctx, const void *key, size_t klen, rk_err *err)
{
    return RK_OK;
}

static int c_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    *ctx = NULL;
    return RK_OK;
}

static void c_destroy(void *ctx) {}

static const rk_cache_vtable vt = {
    .struct_size = sizeof(rk_cache_vtable),
    .get = c_get,
    .set = c_set,
    .del = c_del,
};

#endif
