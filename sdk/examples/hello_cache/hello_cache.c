/*
 * hello_cache — the smallest complete ragkernel plugin worth copying: an
 * in-memory cache (kind "cache") built out of tree against the installed
 * SDK, using nothing but <ragkernel/ragkernel.h> and libc.
 *
 * What it shows: one static descriptor returned by the only exported
 * symbol; a config schema the host validates before create() (so create
 * only reads typed values); a private context per instance, so two
 * instances of this one .so never share state; a mutex because the host
 * calls cache slots from several worker threads at once; every error as a
 * status code plus a message, never an exit. The file must be named after
 * the plugin: hello_cache.so holds plugin "hello_cache".
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

typedef struct entry {
    struct entry *next;
    unsigned char *key, *val; /* one allocation: key bytes then value bytes */
    size_t klen, vlen;
    int64_t expires_ms;
} entry;

typedef struct hello {
    const rk_host *host;
    pthread_mutex_t mu;
    entry **buckets;
    size_t n_buckets, count, max_entries;
    int64_t default_ttl_ms;
} hello;

static size_t hash(const void *key, size_t len) /* FNV-1a */
{
    const unsigned char *p = key;
    size_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* Caller holds mu. Finds key's link in its bucket, dropping expired
 * entries on the way so the table never fills with dead ones. */
static entry **lookup(hello *c, const void *key, size_t klen)
{
    int64_t now = c->host->now_ms();
    for (entry **pp = &c->buckets[hash(key, klen) % c->n_buckets]; *pp;) {
        entry *e = *pp;
        if (e->expires_ms <= now) {
            *pp = e->next;
            free(e);
            c->count--;
        } else if (e->klen == klen && memcmp(e->key, key, klen) == 0) {
            return pp;
        } else {
            pp = &e->next;
        }
    }
    return NULL;
}

static int hello_get(void *ctx, const void *key, size_t klen,
                     void (*on_value)(void *ud, const void *data, size_t len),
                     void *ud, rk_err *err)
{
    hello *c = ctx;
    (void)err;
    pthread_mutex_lock(&c->mu);
    entry **pp = lookup(c, key, klen);
    if (pp) on_value(ud, (*pp)->val, (*pp)->vlen); /* valid during the call only */
    pthread_mutex_unlock(&c->mu);
    return pp ? RK_OK : RK_ERR_NOT_FOUND;
}

static int hello_del(void *ctx, const void *key, size_t klen, rk_err *err)
{
    hello *c = ctx;
    (void)err;
    pthread_mutex_lock(&c->mu);
    entry **pp = lookup(c, key, klen);
    if (pp) {
        entry *e = *pp;
        *pp = e->next;
        free(e);
        c->count--;
    }
    pthread_mutex_unlock(&c->mu);
    return RK_OK; /* deleting an absent key is not an error */
}

static int hello_set(void *ctx, const void *key, size_t klen, const void *data,
                     size_t len, int64_t ttl_ms, rk_err *err)
{
    hello *c = ctx;
    entry *e = malloc(sizeof *e + klen + len);
    if (!e) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    e->key = (unsigned char *)(e + 1);
    e->val = e->key + klen;
    memcpy(e->key, key, klen);
    memcpy(e->val, data, len);
    e->klen = klen;
    e->vlen = len;
    e->expires_ms = c->host->now_ms() + (ttl_ms > 0 ? ttl_ms : c->default_ttl_ms);
    pthread_mutex_lock(&c->mu);
    entry **old = lookup(c, key, klen); /* replace under the same lock */
    if (old) {
        entry *o = *old;
        *old = o->next;
        free(o);
        c->count--;
    }
    if (c->count >= c->max_entries) {
        /* A real cache would evict the least recently used entry; refusing
         * keeps the example short and is allowed: a cache may forget. */
        pthread_mutex_unlock(&c->mu);
        free(e);
        return rk_fail(err, RK_ERR_TOO_LARGE, "hello_cache is full (%zu entries)",
                       c->max_entries);
    }
    size_t b = hash(key, klen) % c->n_buckets;
    e->next = c->buckets[b];
    c->buckets[b] = e;
    c->count++;
    pthread_mutex_unlock(&c->mu);
    return RK_OK;
}

static int hello_create(const rk_host *host, rk_instance *self, void **ctx,
                        rk_err *err)
{
    /* The host table only grows; check a slot exists before relying on it. */
    if (!RK_HAS_FIELD(host, rk_host, now_ms))
        return rk_fail(err, RK_ERR_ABI, "host too old: no now_ms");
    int64_t max = host->cfg_int(self, "max_entries");
    if (max < 1)
        return rk_fail(err, RK_ERR_CONFIG, "max_entries must be at least 1");
    hello *c = calloc(1, sizeof *c);
    if (!c) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    c->host = host;
    c->max_entries = (size_t)max;
    c->n_buckets = c->max_entries / 4 + 1;
    c->default_ttl_ms = host->cfg_int(self, "default_ttl");
    c->buckets = calloc(c->n_buckets, sizeof *c->buckets);
    if (!c->buckets) {
        free(c);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&c->mu, NULL);
    host->log(self, RK_LOG_INFO, "hello_cache ready: %zu entries, ttl %lld ms",
              c->max_entries, (long long)c->default_ttl_ms);
    *ctx = c;
    return RK_OK;
}

static void hello_destroy(void *ctx)
{
    hello *c = ctx;
    for (size_t b = 0; b < c->n_buckets; b++)
        while (c->buckets[b]) {
            entry *e = c->buckets[b];
            c->buckets[b] = e->next;
            free(e);
        }
    free(c->buckets);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static const rk_cache_vtable hello_vtable = {
    .struct_size = sizeof(rk_cache_vtable),
    .get = hello_get,
    .set = hello_set,
    .del = hello_del,
};

static const rk_config_key hello_config[] = {
    {"max_entries", RK_CFG_INT, "10000", 0, "most entries held; set() fails beyond"},
    {"default_ttl", RK_CFG_DURATION, "5m", 0, "TTL when set() is given none"},
    {NULL, 0, NULL, 0, NULL},
};

static const rk_plugin hello_plugin = {
    /* uses only 1.0 host slots (get/set/del, log, cfg, now_ms), so it
     * also loads on a 1.0 host; RK_PLUGIN_HEADER would ask for 1.1 */
    RK_PLUGIN_HEADER_NEEDS(0),
    .kind = RK_KIND_CACHE,
    .name = "hello_cache",
    .version = "1.0.0",
    .description = "example in-memory cache from the ragkernel SDK",
    .flags = 0, /* thread-safe itself: no RK_PLUGIN_SERIALIZE needed */
    .config = hello_config,
    .create = hello_create,
    .destroy = hello_destroy, /* start/stop: nothing to do, left NULL */
    .vtable = &hello_vtable,
};

RK_PLUGIN_DEFINE(hello_plugin)
