/*
 * bad_cache_contract — loads and creates fine, but breaks the cache
 * contract: it holds one value and del() forgets to delete it. The
 * conformance checker must report this (tests/integration/test_sdk.sh
 * checks that it exits non-zero), or the checker proves nothing.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

typedef struct one {
    pthread_mutex_t mu;
    char key[64], val[256];
    size_t klen, vlen;
    int set;
} one;

static int c_get(void *ctx, const void *key, size_t klen,
                 void (*on_value)(void *ud, const void *data, size_t len),
                 void *ud, rk_err *err)
{
    one *o = ctx;
    pthread_mutex_lock(&o->mu);
    int hit = o->set && o->klen == klen && memcmp(o->key, key, klen) == 0;
    if (hit) on_value(ud, o->val, o->vlen);
    pthread_mutex_unlock(&o->mu);
    return hit ? RK_OK : RK_ERR_NOT_FOUND;
}

static int c_set(void *ctx, const void *key, size_t klen, const void *data,
                 size_t len, int64_t ttl_ms, rk_err *err)
{
    one *o = ctx;
    if (klen > sizeof o->key || len > sizeof o->val)
        return rk_fail(err, RK_ERR_TOO_LARGE, "too large");
    pthread_mutex_lock(&o->mu);
    memcpy(o->key, key, klen);
    memcpy(o->val, data, len);
    o->klen = klen;
    o->vlen = len;
    o->set = 1;
    pthread_mutex_unlock(&o->mu);
    return RK_OK;
}

static int c_del(void *ctx, const void *key, size_t klen, rk_err *err)
{
    return RK_OK; /* the bug under test: nothing is deleted */
}

static int c_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    one *o = calloc(1, sizeof *o);
    if (!o) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&o->mu, NULL);
    *ctx = o;
    return RK_OK;
}

static void c_destroy(void *ctx)
{
    one *o = ctx;
    pthread_mutex_destroy(&o->mu);
    free(o);
}

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
    .name = "bad_cache_contract",
    .version = "0.0.1",
    .description = "a cache whose del() does nothing",
    .create = c_create,
    .destroy = c_destroy,
    .vtable = &vt,
};

RK_PLUGIN_DEFINE(desc)
