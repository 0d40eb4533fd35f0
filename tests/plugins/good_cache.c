/*
 * good_cache — a minimal in-memory cache plugin used by the loader,
 * registry and conformance tests as the reference "well-behaved" plugin.
 * A mutex-protected list with TTLs and a size bound is enough: it only has
 * to honour the cache contract, not be fast. max_entries is read from the
 * instance config so tests can tell two instances of it apart.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

typedef struct entry {
    struct entry *next;
    void *key, *val;
    size_t klen, vlen;
    int64_t expires_ms;
} entry;

typedef struct gc {
    const rk_host *host;
    pthread_mutex_t mu;
    entry *head;
    size_t n, max;
    int64_t ttl_ms;
} gc;

static void entry_free(entry *e)
{
    free(e->key);
    free(e->val);
    free(e);
}

/* Caller holds mu. Returns the link that points at the entry, or NULL. */
static entry **find(gc *c, const void *key, size_t klen)
{
    int64_t now = c->host->now_ms();
    for (entry **pp = &c->head; *pp;) {
        entry *e = *pp;
        if (e->expires_ms <= now) { /* drop stale entries as we pass */
            *pp = e->next;
            entry_free(e);
            c->n--;
            continue;
        }
        if (e->klen == klen && memcmp(e->key, key, klen) == 0) return pp;
        pp = &e->next;
    }
    return NULL;
}

static int gc_get(void *ctx, const void *key, size_t klen,
                  void (*on_value)(void *ud, const void *data, size_t len),
                  void *ud, rk_err *err)
{
    gc *c = ctx;
    pthread_mutex_lock(&c->mu);
    entry **pp = find(c, key, klen);
    if (pp) on_value(ud, (*pp)->val, (*pp)->vlen);
    pthread_mutex_unlock(&c->mu);
    return pp ? RK_OK : RK_ERR_NOT_FOUND;
}

static void evict_last(gc *c)
{
    entry **pp = &c->head;
    while (*pp && (*pp)->next) pp = &(*pp)->next;
    if (*pp) {
        entry_free(*pp);
        *pp = NULL;
        c->n--;
    }
}

static int gc_set(void *ctx, const void *key, size_t klen, const void *data,
                  size_t len, int64_t ttl_ms, rk_err *err)
{
    gc *c = ctx;
    entry *e = calloc(1, sizeof *e);
    if (!e || !(e->key = malloc(klen ? klen : 1)) || !(e->val = malloc(len ? len : 1))) {
        if (e) entry_free(e);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    memcpy(e->key, key, klen);
    memcpy(e->val, data, len);
    e->klen = klen;
    e->vlen = len;
    e->expires_ms = c->host->now_ms() + (ttl_ms > 0 ? ttl_ms : c->ttl_ms);
    pthread_mutex_lock(&c->mu);
    entry **old = find(c, key, klen);
    if (old) {
        entry *o = *old;
        *old = o->next;
        entry_free(o);
        c->n--;
    }
    if (c->n >= c->max) evict_last(c);
    e->next = c->head;
    c->head = e;
    c->n++;
    pthread_mutex_unlock(&c->mu);
    return RK_OK;
}

static int gc_del(void *ctx, const void *key, size_t klen, rk_err *err)
{
    gc *c = ctx;
    pthread_mutex_lock(&c->mu);
    entry **pp = find(c, key, klen);
    if (pp) {
        entry *e = *pp;
        *pp = e->next;
        entry_free(e);
        c->n--;
    }
    pthread_mutex_unlock(&c->mu);
    return RK_OK;
}

static int gc_create(const rk_host *host, rk_instance *self, void **ctx,
                     rk_err *err)
{
    gc *c = calloc(1, sizeof *c);
    if (!c) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    c->host = host;
    int64_t max = host->cfg_int(self, "max_entries");
    if (max < 1) {
        free(c);
        return rk_fail(err, RK_ERR_CONFIG, "max_entries must be at least 1");
    }
    c->max = (size_t)max;
    c->ttl_ms = host->cfg_int(self, "default_ttl");
    pthread_mutex_init(&c->mu, NULL);
    *ctx = c;
    return RK_OK;
}

static void gc_destroy(void *ctx)
{
    gc *c = ctx;
    while (c->head) {
        entry *e = c->head;
        c->head = e->next;
        entry_free(e);
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static const rk_cache_vtable vt = {
    .struct_size = sizeof(rk_cache_vtable),
    .get = gc_get,
    .set = gc_set,
    .del = gc_del,
};

static const rk_config_key schema[] = {
    {"max_entries", RK_CFG_INT, "1000", 0, "most entries kept"},
    {"default_ttl", RK_CFG_DURATION, "60s", 0, "TTL when set() passes 0"},
    {NULL, 0, NULL, 0, NULL},
};

static const rk_plugin desc = {
    .struct_size = sizeof(rk_plugin),
    .abi_major = RK_ABI_MAJOR,
    .abi_minor = RK_ABI_MINOR,
    .kind = RK_KIND_CACHE,
    .name = "good_cache",
    .version = "1.0.0",
    .description = "in-memory test cache",
    .config = schema,
    .create = gc_create,
    .destroy = gc_destroy,
    .vtable = &vt,
};

RK_PLUGIN_DEFINE(desc)
