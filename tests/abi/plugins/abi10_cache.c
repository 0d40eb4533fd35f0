/*
 * abi10_cache — a cache plugin built against the frozen ABI 1.0 headers
 * (tests/abi/1.0): get/set/del over a small table, no rate_take. The
 * current host must load it and use it as the answer cache; test_abi.c
 * checks both.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

#define SLOTS 64
#define MAXK 512
#define MAXV 8192

typedef struct entry {
    size_t klen, vlen;
    char key[MAXK], val[MAXV];
} entry;

typedef struct c10 {
    pthread_mutex_t mu;
    entry e[SLOTS];
    size_t next;
} c10;

static entry *find(c10 *c, const void *key, size_t klen)
{
    for (size_t i = 0; i < SLOTS; i++)
        if (c->e[i].klen == klen && klen && memcmp(c->e[i].key, key, klen) == 0)
            return &c->e[i];
    return NULL;
}

static int c_get(void *ctx, const void *key, size_t klen,
                 void (*on_value)(void *ud, const void *data, size_t len), void *ud,
                 rk_err *err)
{
    c10 *c = ctx;
    pthread_mutex_lock(&c->mu);
    entry *e = find(c, key, klen);
    if (e) on_value(ud, e->val, e->vlen);
    pthread_mutex_unlock(&c->mu);
    return e ? RK_OK : RK_ERR_NOT_FOUND;
}

static int c_set(void *ctx, const void *key, size_t klen, const void *data, size_t len,
                 int64_t ttl_ms, rk_err *err)
{
    c10 *c = ctx;
    if (klen > MAXK || len > MAXV) return rk_fail(err, RK_ERR_TOO_LARGE, "entry too large");
    pthread_mutex_lock(&c->mu);
    entry *e = find(c, key, klen);
    if (!e) e = &c->e[c->next++ % SLOTS];
    memcpy(e->key, key, klen);
    memcpy(e->val, data, len);
    e->klen = klen;
    e->vlen = len;
    pthread_mutex_unlock(&c->mu);
    return RK_OK;
}

static int c_del(void *ctx, const void *key, size_t klen, rk_err *err)
{
    c10 *c = ctx;
    pthread_mutex_lock(&c->mu);
    entry *e = find(c, key, klen);
    if (e) e->klen = 0;
    pthread_mutex_unlock(&c->mu);
    return RK_OK;
}

static int c_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    c10 *c = calloc(1, sizeof *c);
    if (!c) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&c->mu, NULL);
    *ctx = c;
    return RK_OK;
}

static void c_destroy(void *ctx)
{
    c10 *c = ctx;
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static const rk_cache_vtable vt = {sizeof vt, c_get, c_set, c_del};

static const rk_plugin desc = {
    .struct_size = sizeof(rk_plugin),
    .abi_major = RK_ABI_MAJOR,
    .abi_minor = RK_ABI_MINOR, /* 0: these are the 1.0 headers */
    .kind = RK_KIND_CACHE,
    .name = "abi10_cache",
    .version = "1.0.0",
    .description = "cache built against the ABI 1.0 headers",
    .create = c_create,
    .destroy = c_destroy,
    .vtable = &vt,
};

RK_PLUGIN_DEFINE(desc)
