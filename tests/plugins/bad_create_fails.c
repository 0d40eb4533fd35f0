/*
 * bad_create_fails — a plugin that loads fine but whose create() always
 * fails with a message, so tests can check that the registry reports it at
 * the instance's config line and tears down what it already created.
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

static int c_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    const char *why = host->cfg_string(self, "reason");
    return rk_fail(err, RK_ERR_UNAVAILABLE, "backend refused: %s", why ? why : "no reason");
}

static void c_destroy(void *ctx) {}

static const rk_cache_vtable vt = {
    .struct_size = sizeof(rk_cache_vtable),
    .get = c_get,
    .set = c_set,
    .del = c_del,
};

static const rk_config_key schema[] = {
    {"reason", RK_CFG_STRING, "intentional failure", 0, "text of the create() error"},
    {NULL, 0, NULL, 0, NULL},
};

static const rk_plugin desc = {
    .struct_size = sizeof(rk_plugin),
    .abi_major = RK_ABI_MAJOR,
    .abi_minor = RK_ABI_MINOR,
    .kind = RK_KIND_CACHE,
    .name = "bad_create_fails",
    .version = "0.0.1",
    .description = "create() always fails",
    .config = schema,
    .create = c_create,
    .destroy = c_destroy,
    .vtable = &vt,
};

RK_PLUGIN_DEFINE(desc)
