/*
 * cache_memory — the embedded cache: an in-process, sharded LRU with a TTL
 * per entry (see lru.c for one shard). This file owns the plugin
 * descriptor, the config, the choice of shard (a hash seeded per instance so
 * keys derived from user input cannot be steered into one chain) and the
 * metrics. Limits are split evenly across shards, so with several shards an
 * entry can be evicted slightly before the global limit is reached; that is
 * the price of not having one lock for the whole cache. Rate-limit buckets
 * (rate_take) live in a table of their own (buckets.c), apart from the LRU,
 * so cache pressure can never evict a caller's debt.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <ragkernel/ragkernel.h>

#include "buckets.h"
#include "lru.h"

#define MAX_SHARDS 1024

typedef struct cache_ctx {
    const rk_host *host;
    rk_instance *self;
    lru_shard *shards;
    size_t n_shards;
    int64_t default_ttl_ms; /* 0: entries without a TTL never expire */
    uint64_t seed;
    bucket_table buckets;
    int have_buckets;
    rk_metric *m_entries, *m_bytes, *m_evicted, *m_expired;
} cache_ctx;

static const rk_config_key cache_keys[] = {
    {"max_bytes", RK_CFG_SIZE, "64MB", 0,
     "memory budget: keys + values + per-entry overhead"},
    {"max_entries", RK_CFG_INT, "100000", 0, "most entries kept"},
    {"shards", RK_CFG_INT, "16", 0,
     "independently locked partitions (1..1024); more = less contention"},
    {"default_ttl", RK_CFG_DURATION, "300s", 0,
     "TTL when the caller gives none; 0 = keep until evicted"},
    {NULL, 0, NULL, 0, NULL}};

/* FNV-1a over the key from a random basis, then a 64-bit finaliser so both
 * the low bits (bucket) and the high bits (shard) are well mixed. */
static uint64_t key_hash(uint64_t seed, const void *key, size_t klen)
{
    const unsigned char *p = key;
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (size_t i = 0; i < klen; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static uint64_t random_seed(void)
{
    uint64_t s = 0;
    if (getrandom(&s, sizeof s, GRND_NONBLOCK) != (ssize_t)sizeof s) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        s = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec;
    }
    return s;
}

static lru_shard *shard_of(cache_ctx *c, uint64_t h)
{
    return &c->shards[(h >> 40) % c->n_shards];
}

static void publish(cache_ctx *c, const lru_delta *d)
{
    if (d->entries)
        c->host->metric_add(c->m_entries, (double)d->entries);
    if (d->bytes)
        c->host->metric_add(c->m_bytes, (double)d->bytes);
    if (d->evicted)
        c->host->metric_add(c->m_evicted, (double)d->evicted);
    if (d->expired)
        c->host->metric_add(c->m_expired, (double)d->expired);
}

/* Labels carry the instance name so two caches keep separate series; the
 * name is copied with anything that could break the label syntax replaced. */
static void make_metrics(cache_ctx *c)
{
    const char *name = c->host->instance_name(c->self);
    char safe[128], labels[256];
    size_t i = 0;
    for (; name && name[i] && i < sizeof safe - 1; i++)
        safe[i] = (name[i] == '"' || name[i] == '\\' || name[i] == '\n') ? '_' : name[i];
    safe[i] = '\0';
    const rk_host *h = c->host;
    snprintf(labels, sizeof labels, "instance=\"%s\"", safe);
    c->m_entries = h->metric(RK_METRIC_GAUGE, "ragkernel_cache_memory_entries",
                             "Entries held by the memory cache", labels);
    c->m_bytes = h->metric(RK_METRIC_GAUGE, "ragkernel_cache_memory_bytes",
                           "Bytes charged to the memory cache", labels);
    snprintf(labels, sizeof labels, "instance=\"%s\",reason=\"capacity\"", safe);
    c->m_evicted = h->metric(RK_METRIC_COUNTER, "ragkernel_cache_memory_evictions_total",
                             "Entries removed by the memory cache", labels);
    snprintf(labels, sizeof labels, "instance=\"%s\",reason=\"expired\"", safe);
    c->m_expired = h->metric(RK_METRIC_COUNTER, "ragkernel_cache_memory_evictions_total",
                             "Entries removed by the memory cache", labels);
}

static int read_config(const rk_host *h, rk_instance *self, int64_t v[4],
                       rk_err *err)
{
    static const char *const names[4] = {"max_bytes", "max_entries", "shards",
                                         "default_ttl"};
    static const int64_t lo[4] = {1, 1, 1, 0};
    static const int64_t hi[4] = {INT64_MAX, INT64_MAX, MAX_SHARDS, INT64_MAX};
    for (int i = 0; i < 4; i++) {
        v[i] = h->cfg_int(self, names[i]);
        if (v[i] < lo[i] || v[i] > hi[i]) {
            char where[128];
            return rk_fail(err, RK_ERR_CONFIG, "%s: %s must be in %" PRId64 "..%" PRId64,
                           h->cfg_where(self, names[i], where, sizeof where),
                           names[i], lo[i], hi[i]);
        }
    }
    return RK_OK;
}

static void cache_destroy(void *ctxp)
{
    cache_ctx *c = ctxp;
    if (!c)
        return;
    lru_delta d = {0};
    for (size_t i = 0; i < c->n_shards; i++)
        lru_shard_destroy(&c->shards[i], &d);
    if (c->have_buckets)
        buckets_destroy(&c->buckets);
    if (c->m_entries)
        publish(c, &d); /* the gauges return to where this instance found them */
    free(c->shards);
    free(c);
}

static int cache_create(const rk_host *host, rk_instance *self, void **ctx,
                        rk_err *err)
{
    int64_t v[4];
    int rc = read_config(host, self, v, err);
    if (rc != RK_OK)
        return rc;
    cache_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    c->host = host;
    c->self = self;
    c->default_ttl_ms = v[3];
    c->seed = random_seed();
    size_t n = (size_t)v[2];
    size_t per_bytes = (size_t)((v[0] + v[2] - 1) / v[2]);
    size_t per_entries = (size_t)((v[1] + v[2] - 1) / v[2]);
    c->shards = calloc(n, sizeof *c->shards);
    if (!c->shards) {
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (; c->n_shards < n; c->n_shards++) {
        if (lru_shard_init(&c->shards[c->n_shards], per_entries, per_bytes) != 0) {
            rc = rk_fail(err, RK_ERR_NOMEM, "cannot initialise cache shard");
            goto fail;
        }
    }
    if (buckets_init(&c->buckets) != 0) {
        rc = rk_fail(err, RK_ERR_NOMEM, "cannot initialise rate-limit buckets");
        goto fail;
    }
    c->have_buckets = 1;
    make_metrics(c);
    *ctx = c;
    return RK_OK;
fail:
    cache_destroy(c);
    return rc;
}

static int cache_get(void *ctxp, const void *key, size_t klen,
                     void (*on_value)(void *ud, const void *data, size_t len),
                     void *ud, rk_err *err)
{
    cache_ctx *c = ctxp;
    if (!key && klen)
        return rk_fail(err, RK_ERR_INVALID, "NULL key");
    if (!key)
        key = "";
    uint64_t h = key_hash(c->seed, key, klen);
    lru_delta d = {0};
    void *val = NULL;
    size_t len = 0;
    int r = lru_get(shard_of(c, h), h, key, klen, c->host->now_ms(), &val, &len, &d);
    publish(c, &d);
    if (r == -1)
        return RK_ERR_NOT_FOUND;
    if (r != 0)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory copying a cached value");
    on_value(ud, val, len);
    free(val);
    return RK_OK;
}

static int cache_set(void *ctxp, const void *key, size_t klen, const void *data,
                     size_t len, int64_t ttl_ms, rk_err *err)
{
    cache_ctx *c = ctxp;
    if ((!key && klen) || (!data && len))
        return rk_fail(err, RK_ERR_INVALID, "NULL key or value");
    if (!key)
        key = "";
    int64_t now = c->host->now_ms();
    int64_t ttl = ttl_ms > 0 ? ttl_ms : c->default_ttl_ms;
    int64_t expires = ttl > 0 ? (ttl > INT64_MAX - now ? INT64_MAX : now + ttl) : 0;
    uint64_t h = key_hash(c->seed, key, klen);
    lru_delta d = {0};
    int r = lru_set(shard_of(c, h), h, key, klen, data, len, expires, now, &d);
    publish(c, &d);
    if (r == -1)
        return rk_fail(err, RK_ERR_TOO_LARGE,
                       "entry of %zu bytes exceeds the shard budget", lru_entry_cost(klen, len));
    if (r != 0)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory storing a cache entry");
    return RK_OK;
}

static int cache_del(void *ctxp, const void *key, size_t klen, rk_err *err)
{
    cache_ctx *c = ctxp;
    if (!key && klen)
        return rk_fail(err, RK_ERR_INVALID, "NULL key");
    if (!key)
        key = "";
    uint64_t h = key_hash(c->seed, key, klen);
    lru_delta d = {0};
    lru_del(shard_of(c, h), h, key, klen, &d);
    publish(c, &d);
    return RK_OK;
}

static int cache_rate_take(void *ctxp, const void *key, size_t klen, double rate_per_min,
                           double burst, double cost, int force, int64_t *retry_after_ms,
                           rk_err *err)
{
    cache_ctx *c = ctxp;
    if (!key && klen)
        return rk_fail(err, RK_ERR_INVALID, "NULL key");
    if (!isfinite(rate_per_min) || !isfinite(burst) || !isfinite(cost) || rate_per_min <= 0 ||
        burst < 0 || cost < 0)
        return rk_fail(err, RK_ERR_INVALID,
                       "rate_take: need rate_per_min > 0, burst >= 0, cost >= 0");
    if (!key)
        key = "";
    uint64_t h = key_hash(c->seed, key, klen);
    int r = buckets_take(&c->buckets, h, key, klen, c->host->now_ms(), rate_per_min, burst,
                         cost, force, retry_after_ms);
    if (r < 0)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory for a rate-limit bucket");
    return r ? RK_OK : RK_ERR_RATE_LIMITED;
}

static const rk_cache_vtable cache_vtable = {
    .struct_size = sizeof(rk_cache_vtable),
    .get = cache_get,
    .set = cache_set,
    .del = cache_del,
    .rate_take = cache_rate_take,
};

static const rk_plugin cache_memory_plugin = {
    RK_PLUGIN_HEADER,
    .kind = RK_KIND_CACHE,
    .name = "cache_memory",
    .version = "1.0.0",
    .description = "in-process sharded LRU cache with TTL",
    .flags = RK_PLUGIN_NONBLOCKING, /* memory only: called on the loops */
    .config = cache_keys,
    .create = cache_create,
    .destroy = cache_destroy,
    .vtable = &cache_vtable,
};

RK_PLUGIN_DEFINE(cache_memory_plugin)
