/*
 * bad_null_create — a deliberately broken plugin: its create slot is NULL.
 * The loader must refuse it with one line naming the file, the plugin and
 * both ABI versions; tests/unit/core/test_loader.c checks that line.
 */
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

static void c_destroy(void *ctx) {}

static const rk_cache_vtable vt = {
    .struct_size = sizeof(rk_cache_vtable),
    .get = c_get,
    .set = c_set,
    .del = c_del,
};

static const rk_plugin desc = {
    .struct_size = sizeof(rk_plugin),
    .abi_major = RK_ABI_MAJOR,
    .abi_minor = RK_ABI_MINOR,
    .kind = RK_KIND_CACHE,
    .name = "bad_null_create",
    .version = "0.0.1",
    .description = "its create slot is NULL",
    .create = NULL,
    .destroy = c_destroy,
    .vtable = &vt,
};

RK_PLUGIN_DEFINE(desc)
