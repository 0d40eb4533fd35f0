/*
 * cache_test — a cache that misbehaves on purpose, to test that the
 * pipeline treats a broken cache as a miss and never as a failed request:
 *   mode: down     every call fails with RK_ERR_UNAVAILABLE
 *   mode: garbage  every get "hits" with bytes that are not a cache entry
 * Calls are counted in cache_test_calls_total{op="get|set"}.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

typedef struct ct {
    const rk_host *host;
    int garbage;
    rk_metric *gets, *sets;
} ct;

static int ct_get(void *ctx, const void *key, size_t klen,
                  void (*on_value)(void *ud, const void *data, size_t len), void *ud,
                  rk_err *err)
{
    ct *c = ctx;
    (void)key, (void)klen;
    c->host->metric_add(c->gets, 1);
    if (!c->garbage) return rk_fail(err, RK_ERR_UNAVAILABLE, "connection refused");
    on_value(ud, "\x01not json{", 10);
    return RK_OK;
}

static int ct_set(void *ctx, const void *key, size_t klen, const void *data, size_t len,
                  int64_t ttl_ms, rk_err *err)
{
    ct *c = ctx;
    (void)key, (void)klen, (void)data, (void)len, (void)ttl_ms;
    c->host->metric_add(c->sets, 1);
    return c->garbage ? RK_OK : rk_fail(err, RK_ERR_UNAVAILABLE, "connection refused");
}

static int ct_del(void *ctx, const void *key, size_t klen, rk_err *err)
{
    ct *c = ctx;
    (void)key, (void)klen;
    return c->garbage ? RK_OK : rk_fail(err, RK_ERR_UNAVAILABLE, "connection refused");
}

static int ct_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    ct *c = calloc(1, sizeof *c);
    if (!c) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    const char *mode = host->cfg_string(self, "mode");
    if (strcmp(mode, "down") != 0 && strcmp(mode, "garbage") != 0) {
        free(c);
        return rk_fail(err, RK_ERR_CONFIG, "mode must be down or garbage");
    }
    c->host = host;
    c->garbage = strcmp(mode, "garbage") == 0;
    const char *help = "calls of the misbehaving test cache";
    c->gets = host->metric(RK_METRIC_COUNTER, "cache_test_calls_total", help, "op=\"get\"");
    c->sets = host->metric(RK_METRIC_COUNTER, "cache_test_calls_total", help, "op=\"set\"");
    *ctx = c;
    return RK_OK;
}

static void ct_destroy(void *ctx) { free(ctx); }

static const rk_cache_vtable vt = {
    .struct_size = sizeof(rk_cache_vtable),
    .get = ct_get,
    .set = ct_set,
    .del = ct_del,
};

static const rk_config_key schema[] = {
    {"mode", RK_CFG_STRING, "down", 0, "down or garbage"},
    {NULL, 0, NULL, 0, NULL},
};

static const rk_plugin desc = {
    .struct_size = sizeof(rk_plugin),
    .abi_major = RK_ABI_MAJOR,
    .abi_minor = RK_ABI_MINOR,
    .kind = RK_KIND_CACHE,
    .name = "cache_test",
    .version = "1.0.0",
    .description = "misbehaving cache for pipeline tests",
    .config = schema,
    .create = ct_create,
    .destroy = ct_destroy,
    .vtable = &vt,
};

RK_PLUGIN_DEFINE(desc)
