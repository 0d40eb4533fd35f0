/*
 * cache_redis — the shared cache: entries and rate-limit buckets in one
 * Redis server that every host of a deployment talks to. This file owns
 * the plugin descriptor, the config, the key layout (prefix + key for
 * entries, prefix + "rate:" + key for buckets, so a bucket never meets one
 * of the host's "answer:"/"retrieve:" entries), the mapping of replies to
 * rk statuses, and what an outage looks like from outside: one warning
 * when Redis goes away (a reminder at most once a minute while it stays
 * away, an info line when it is back), an up gauge and an error counter.
 * Connections and the fail-fast policy are rpool.c's; buckets are rate.c's.
 * A cache is optional, so start() succeeds with Redis down: requests then
 * bypass it at the cost of a mutex, not of a timeout.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

#include "rate.h"
#include "rpool.h"

#define REMINDER_MS 60000 /* repeat "still down" no more often than this */

typedef struct rcache {
    const rk_host *host;
    rk_instance *self;
    rpool *pool;
    rrate rate;
    int have_rate;
    const char *prefix; /* host-owned config string, valid until destroy */
    size_t prefix_len;
    char addr[300];     /* "host:port", for log lines */
    int64_t default_ttl_ms; /* 0: entries without a TTL never expire */
    int64_t retry_interval_ms;
    rk_metric *m_errors, *m_up;
    /* written by on_event only, which runs under the pool lock */
    int64_t last_warn_ms;
    int was_down;
} rcache;

static const rk_config_key redis_keys[] = {
    {"host", RK_CFG_STRING, "127.0.0.1", 0, "Redis server host name or address"},
    {"port", RK_CFG_INT, "6379", 0, "Redis server TCP port"},
    {"password", RK_CFG_STRING, NULL, 0, "sent with AUTH on connect when set"},
    {"db", RK_CFG_INT, "0", 0, "database number (SELECT)"},
    {"prefix", RK_CFG_STRING, "rk:", 0, "prepended to every key this instance writes"},
    {"pool_size", RK_CFG_INT, "8", 0, "connections (1..1024); commands beyond wait"},
    {"connect_timeout", RK_CFG_DURATION, "200ms", 0, "TCP connect (and handshake) limit"},
    {"timeout", RK_CFG_DURATION, "200ms", 0, "limit for one command's answer"},
    {"default_ttl", RK_CFG_DURATION, "300s", 0,
     "TTL when the caller gives none; 0 = keep until Redis evicts"},
    {"retry_interval", RK_CFG_DURATION, "1s", 0,
     "after a failure, fail fast and reconnect at most this often"},
    {NULL, 0, NULL, 0, NULL}};

/* ---- health: logs and metrics --------------------------------------------- */

static void on_event(void *ud, rpool_event ev, const char *why)
{
    rcache *c = ud;
    const rk_host *h = c->host;
    int64_t now = h->now_ms();
    int64_t every = c->retry_interval_ms > REMINDER_MS ? c->retry_interval_ms : REMINDER_MS;
    switch (ev) {
    case RPOOL_UP:
        h->metric_set(c->m_up, 1);
        h->log(c->self, RK_LOG_INFO, "redis %s %s", c->addr,
               c->was_down ? "reachable again" : "connected");
        c->was_down = 0;
        break;
    case RPOOL_DOWN:
        h->metric_set(c->m_up, 0);
        h->log(c->self, RK_LOG_WARN,
               "redis %s unavailable, requests bypass the cache (retry every %" PRId64
               " ms): %s", c->addr, c->retry_interval_ms, why);
        c->last_warn_ms = now;
        c->was_down = 1;
        break;
    case RPOOL_STILL_DOWN:
        if (now - c->last_warn_ms >= every) {
            h->log(c->self, RK_LOG_WARN, "redis %s still unavailable: %s", c->addr, why);
            c->last_warn_ms = now;
        }
        break;
    }
}

/* Failures that mean "the cache did not work", as opposed to answers. */
static int counted(rcache *c, int rc)
{
    if (rc == RK_ERR_UNAVAILABLE || rc == RK_ERR_UPSTREAM || rc == RK_ERR_NOMEM)
        c->host->metric_add(c->m_errors, 1);
    return rc;
}

/* Labels carry the instance name, copied with anything that could break the
 * label syntax replaced, so two caches keep separate series. */
static void make_metrics(rcache *c)
{
    const char *name = c->host->instance_name(c->self);
    char safe[128], labels[160];
    size_t i = 0;
    for (; name && name[i] && i < sizeof safe - 1; i++)
        safe[i] = (name[i] == '"' || name[i] == '\\' || name[i] == '\n') ? '_' : name[i];
    safe[i] = '\0';
    snprintf(labels, sizeof labels, "instance=\"%s\"", safe);
    c->m_errors = c->host->metric(RK_METRIC_COUNTER, "ragkernel_cache_redis_errors_total",
                                  "Redis cache operations that failed", labels);
    c->m_up = c->host->metric(RK_METRIC_GAUGE, "ragkernel_cache_redis_up",
                              "1 while the last contact with Redis succeeded", labels);
    c->host->metric_set(c->m_up, 0);
}

/* ---- config and lifecycle -------------------------------------------------- */

enum { V_PORT, V_DB, V_POOL, V_CONNECT, V_TIMEOUT, V_TTL, V_RETRY, V__N };

static int read_config(const rk_host *h, rk_instance *self, int64_t v[V__N], rk_err *err)
{
    static const char *const names[V__N] = {"port", "db", "pool_size", "connect_timeout",
                                            "timeout", "default_ttl", "retry_interval"};
    static const int64_t lo[V__N] = {1, 0, 1, 1, 1, 0, 0};
    static const int64_t hi[V__N] = {65535, INT32_MAX, 1024, 3600000, 3600000,
                                     INT64_MAX, 3600000};
    char where[128];
    for (int i = 0; i < V__N; i++) {
        v[i] = h->cfg_int(self, names[i]);
        if (v[i] < lo[i] || v[i] > hi[i])
            return rk_fail(err, RK_ERR_CONFIG, "%s: %s must be in %" PRId64 "..%" PRId64,
                           h->cfg_where(self, names[i], where, sizeof where), names[i],
                           lo[i], hi[i]);
    }
    const char *host = h->cfg_string(self, "host");
    if (!host || !*host)
        return rk_fail(err, RK_ERR_CONFIG, "%s: host must not be empty",
                       h->cfg_where(self, "host", where, sizeof where));
    return RK_OK;
}

static void redis_destroy(void *ctxp)
{
    rcache *c = ctxp;
    if (!c)
        return;
    rpool_free(c->pool);
    if (c->have_rate)
        rrate_destroy(&c->rate);
    free(c);
}

static int redis_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    int64_t v[V__N];
    int rc = read_config(host, self, v, err);
    if (rc != RK_OK)
        return rc;
    rcache *c = calloc(1, sizeof *c);
    if (!c)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    c->host = host;
    c->self = self;
    c->prefix = host->cfg_string(self, "prefix");
    if (!c->prefix)
        c->prefix = "";
    c->prefix_len = strlen(c->prefix);
    c->default_ttl_ms = v[V_TTL];
    c->retry_interval_ms = v[V_RETRY];
    const char *h = host->cfg_string(self, "host");
    snprintf(c->addr, sizeof c->addr, "%s:%d", h, (int)v[V_PORT]);
    if (rrate_init(&c->rate) != 0) {
        rc = rk_fail(err, RK_ERR_NOMEM, "cannot initialise the rate-limit state");
        goto fail;
    }
    c->have_rate = 1;
    make_metrics(c);
    rpool_conf pc = {
        .host = h, .port = (int)v[V_PORT], .password = host->cfg_string(self, "password"),
        .db = v[V_DB], .size = (size_t)v[V_POOL], .connect_timeout_ms = v[V_CONNECT],
        .timeout_ms = v[V_TIMEOUT], .retry_interval_ms = v[V_RETRY],
        .now_ms = host->now_ms, .on_event = on_event, .ud = c};
    c->pool = rpool_new(&pc, err);
    if (!c->pool) {
        rc = RK_ERR_NOMEM;
        goto fail;
    }
    *ctx = c;
    return RK_OK;
fail:
    redis_destroy(c);
    return rc;
}

/* One PING so the log says at start-up whether Redis is there; a failure
 * is reported by on_event and is not fatal. */
static int redis_start(void *ctxp, rk_err *err)
{
    (void)err;
    rcache *c = ctxp;
    const char *argv[] = {"PING"};
    size_t lens[] = {4};
    redisReply *r = NULL;
    rk_err e = {{0}};
    if (rpool_command(c->pool, 1, argv, lens, &r, &e) != RK_OK)
        return RK_OK;
    if (r->type == REDIS_REPLY_ERROR) { /* e.g. NOAUTH: reachable, but refusing */
        rpool_reply_error(c->pool, r, &e);
        c->host->log(c->self, RK_LOG_WARN, "%s; requests may bypass the cache", e.msg);
    }
    freeReplyObject(r);
    return RK_OK;
}

/* ---- operations ------------------------------------------------------------- */

/* prefix + ns + key in one malloc'd buffer the caller frees. */
static char *full_key(const rcache *c, const char *ns, const void *key, size_t klen,
                      size_t *len)
{
    size_t nl = strlen(ns);
    char *k = malloc(c->prefix_len + nl + klen + 1);
    if (!k)
        return NULL;
    memcpy(k, c->prefix, c->prefix_len);
    memcpy(k + c->prefix_len, ns, nl);
    if (klen)
        memcpy(k + c->prefix_len + nl, key, klen);
    *len = c->prefix_len + nl + klen;
    return k;
}

static int unexpected(rcache *c, const redisReply *r, const char *cmd, rk_err *err)
{
    if (r->type == REDIS_REPLY_ERROR)
        return rpool_reply_error(c->pool, r, err);
    return rk_fail(err, RK_ERR_UPSTREAM, "redis %s: unexpected reply type %d to %s", c->addr,
                   r->type, cmd);
}

/* Run argv with argv[1] = the full key of (ns, key). */
static int keyed(rcache *c, const char *ns, const void *key, size_t klen, int argc,
                 const char **argv, size_t *lens, redisReply **out, rk_err *err)
{
    if (!key && klen)
        return rk_fail(err, RK_ERR_INVALID, "NULL key");
    size_t kl = 0;
    char *k = full_key(c, ns, key, klen, &kl);
    if (!k)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    argv[1] = k;
    lens[1] = kl;
    int rc = rpool_command(c->pool, argc, argv, lens, out, err);
    free(k);
    return rc;
}

static int redis_get(void *ctxp, const void *key, size_t klen,
                     void (*on_value)(void *ud, const void *data, size_t len), void *ud,
                     rk_err *err)
{
    rcache *c = ctxp;
    const char *argv[2] = {"GET", NULL};
    size_t lens[2] = {3, 0};
    redisReply *r = NULL;
    int rc = keyed(c, "", key, klen, 2, argv, lens, &r, err);
    if (rc == RK_OK) {
        if (r->type == REDIS_REPLY_STRING)
            on_value(ud, r->str, r->len);
        else if (r->type == REDIS_REPLY_NIL)
            rc = RK_ERR_NOT_FOUND;
        else
            rc = unexpected(c, r, "GET", err);
    }
    freeReplyObject(r);
    return counted(c, rc);
}

static int redis_set(void *ctxp, const void *key, size_t klen, const void *data, size_t len,
                     int64_t ttl_ms, rk_err *err)
{
    rcache *c = ctxp;
    if (!data && len)
        return rk_fail(err, RK_ERR_INVALID, "NULL value");
    int64_t ttl = ttl_ms > 0 ? ttl_ms : c->default_ttl_ms;
    char px[24];
    snprintf(px, sizeof px, "%" PRId64, ttl);
    const char *argv[5] = {"SET", NULL, data ? data : "", "PX", px};
    size_t lens[5] = {3, 0, len, 2, strlen(px)};
    redisReply *r = NULL;
    int rc = keyed(c, "", key, klen, ttl > 0 ? 5 : 3, argv, lens, &r, err);
    if (rc == RK_OK && r->type != REDIS_REPLY_STATUS)
        rc = unexpected(c, r, "SET", err);
    freeReplyObject(r);
    return counted(c, rc);
}

static int redis_del(void *ctxp, const void *key, size_t klen, rk_err *err)
{
    rcache *c = ctxp;
    const char *argv[2] = {"DEL", NULL};
    size_t lens[2] = {3, 0};
    redisReply *r = NULL;
    int rc = keyed(c, "", key, klen, 2, argv, lens, &r, err);
    if (rc == RK_OK && r->type != REDIS_REPLY_INTEGER)
        rc = unexpected(c, r, "DEL", err);
    freeReplyObject(r);
    return counted(c, rc);
}

static int redis_rate_take(void *ctxp, const void *key, size_t klen, double rate_per_min,
                           double burst, double cost, int force, int64_t *retry_after_ms,
                           rk_err *err)
{
    rcache *c = ctxp;
    if (!key && klen)
        return rk_fail(err, RK_ERR_INVALID, "NULL key");
    size_t kl = 0;
    char *k = full_key(c, "rate:", key, klen, &kl);
    if (!k)
        return counted(c, rk_fail(err, RK_ERR_NOMEM, "out of memory"));
    int rc = rrate_take(&c->rate, c->pool, k, kl, rate_per_min, burst, cost, force,
                        retry_after_ms, err);
    free(k);
    return counted(c, rc);
}

static const rk_cache_vtable redis_vtable = {
    .struct_size = sizeof(rk_cache_vtable),
    .get = redis_get,
    .set = redis_set,
    .del = redis_del,
    .rate_take = redis_rate_take,
};

static const rk_plugin cache_redis_plugin = {
    RK_PLUGIN_HEADER,
    .kind = RK_KIND_CACHE,
    .name = "cache_redis",
    .version = "1.0.0",
    .description = "shared cache and rate-limit buckets in Redis (hiredis)",
    .flags = 0,
    .config = redis_keys,
    .create = redis_create,
    .start = redis_start,
    .destroy = redis_destroy,
    .vtable = &redis_vtable,
};

RK_PLUGIN_DEFINE(cache_redis_plugin)
