/*
 * test_cache_redis — cache_redis.so against a real Redis (redis_fixture.h;
 * without REDIS_PORT the binary says "skipped" and passes): the cache
 * contract (binary keys and values, TTLs, the key layout as Redis sees
 * it), the token bucket (burst, refill, force into debt, one bucket shared
 * by two instances as by two hosts, a script Redis has forgotten), and
 * eight threads on a small pool. Outages are test_cache_redis_outage.
 */
#include "redis_fixture.h"

/* ---- cache ----------------------------------------------------------------- */

START_TEST(get_set_del)
{
    ph h;
    h_open(&h, "basic", "basic", g_port, NULL);
    got g = {0};
    rk_err err = {{0}};
    ck_assert_int_eq(get_str(&h, "k1", &g), RK_ERR_NOT_FOUND);
    set_str(&h, "k1", "first", 0);
    ck_assert_int_eq(get_str(&h, "k1", &g), RK_OK);
    ck_assert(is(&g, "first"));
    set_str(&h, "k1", "second value", 0);
    ck_assert_int_eq(get_str(&h, "k1", &g), RK_OK);
    ck_assert(is(&g, "second value"));
    set_str(&h, "empty", "", 0); /* an empty value is a hit, not a miss */
    ck_assert_int_eq(get_str(&h, "empty", &g), RK_OK);
    ck_assert_uint_eq(g.len, 0);
    ck_assert_int_eq(h.cache->del(h.ctx, "k1", 2, &err), RK_OK);
    ck_assert_int_eq(get_str(&h, "k1", &g), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(h.cache->del(h.ctx, "absent", 6, &err), RK_OK);
    /* binary: keys that differ after a NUL, values full of NULs */
    static const char v1[] = {0, 1, 2, 0, 'x'}, v2[] = {'y', 0, 0, 0};
    ck_assert_int_eq(h.cache->set(h.ctx, "k\0a", 3, v1, sizeof v1, 0, &err), RK_OK);
    ck_assert_int_eq(h.cache->set(h.ctx, "k\0b", 3, v2, sizeof v2, 0, &err), RK_OK);
    ck_assert_int_eq(get_bin(&h, "k\0a", 3, &g, &err), RK_OK);
    ck_assert(g.len == sizeof v1 && memcmp(g.data, v1, sizeof v1) == 0);
    ck_assert_int_eq(get_bin(&h, "k\0b", 3, &g, &err), RK_OK);
    ck_assert(g.len == sizeof v2 && memcmp(g.data, v2, sizeof v2) == 0);
    ck_assert_int_eq(get_bin(&h, "k", 1, &g, &err), RK_ERR_NOT_FOUND);
    /* a large value crosses many socket reads */
    size_t big = 3u << 20;
    char *val = malloc(big);
    for (size_t i = 0; i < big; i++)
        val[i] = (char)(i * 7 + i / 4096);
    ck_assert_int_eq(h.cache->set(h.ctx, "big", 3, val, big, 0, &err), RK_OK);
    ck_assert_int_eq(get_bin(&h, "big", 3, &g, &err), RK_OK);
    ck_assert(g.len == big && memcmp(g.data, val, big) == 0);
    free(val);
    ck_assert_double_eq(metric(RK_METRIC_GAUGE, M_UP, "basic"), 1);
    ck_assert_double_eq(metric(RK_METRIC_COUNTER, M_ERR, "basic"), 0);
    free(g.data);
    ph_close(&h);
}
END_TEST

START_TEST(layout_and_ttl)
{
    ph h, other, same;
    h_open(&h, "ttl", "ttl", g_port, ", default_ttl: 100ms");
    h_open(&other, "ttl-other", "elsewhere", g_port, NULL);
    h_open(&same, "ttl-same", "ttl", g_port, NULL);
    got g = {0};
    char cmd[256], line[128];
    set_str(&h, "short", "v", 100);
    set_str(&h, "default", "v", 0); /* default_ttl: 100ms */
    set_str(&h, "long", "v", 60000);
    /* the key is prefix + key, with the TTL given */
    snprintf(cmd, sizeof cmd, "PTTL rkt:%s:ttl:long", g_run);
    raw(cmd, line, sizeof line);
    long long pttl = strtoll(line + 1, NULL, 10);
    ck_assert_msg(line[0] == ':' && pttl > 59000 && pttl <= 60000, "PTTL: %s", line);
    /* another prefix is another cache; the same prefix is the same cache */
    ck_assert_int_eq(get_str(&other, "long", &g), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(get_str(&same, "long", &g), RK_OK);
    ck_assert_int_eq(get_str(&h, "short", &g), RK_OK);
    ck_assert_int_eq(get_str(&h, "default", &g), RK_OK);
    ph_sleep_ms(250);
    ck_assert_int_eq(get_str(&h, "short", &g), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(get_str(&h, "default", &g), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(get_str(&h, "long", &g), RK_OK);
    free(g.data);
    ph_close(&same);
    ph_close(&other);
    ph_close(&h);
}
END_TEST

START_TEST(bad_config_refused)
{
    static const char *const bad[] = {"{port: 0}", "{port: 70000}", "{pool_size: 0}",
                                      "{host: \"\"}", "{timeout: 0}", "{db: -1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ph h;
        rk_err err = {{0}};
        ph_load(&h, "cache_redis", RK_KIND_CACHE, "bad", bad[i]);
        ck_assert_int_eq(ph_create(&h, &err), RK_ERR_CONFIG);
        ck_assert_ptr_null(h.ctx);
        ph_close(&h);
    }
}
END_TEST

/* ---- rate_take ------------------------------------------------------------- */

START_TEST(rate_bucket)
{
    ph h;
    h_open(&h, "rate", "rate", g_port, NULL);
    int64_t retry;
    ph_check_bucket_refills(&h);
    ph_check_refusal_takes_nothing(&h);
    /* force: burst 2 at one token a second, then 5 forced: balance -3 */
    ck_assert_int_eq(ph_take(&h, "f", 60, 2, 5, 1, &retry), RK_OK);
    ck_assert_int_eq(ph_take(&h, "f", 60, 2, 1, 0, &retry), RK_ERR_RATE_LIMITED);
    ck_assert_msg(retry > 3800 && retry <= 4000, "retry_after %lld ms", (long long)retry);
    ck_assert_int_eq(ph_take(&h, "f", 60, 2, 1, 1, &retry), RK_OK);
    ck_assert_int_eq(ph_take(&h, "f", 60, 2, 0, 0, &retry), RK_ERR_RATE_LIMITED);
    ck_assert_msg(retry > 3800 && retry <= 4000, "retry_after %lld ms", (long long)retry);
    /* the bucket is a hash under prefix + "rate:", gone once it would be full */
    ck_assert_int_eq(ph_take(&h, "lay", 600, 10, 4, 0, &retry), RK_OK);
    char cmd[256], line[128];
    snprintf(cmd, sizeof cmd, "PTTL rkt:%s:rate:rate:lay", g_run);
    raw(cmd, line, sizeof line);
    long long pttl = strtoll(line + 1, NULL, 10);
    ck_assert_msg(line[0] == ':' && pttl > 1200 && pttl <= 1400, "PTTL: %s", line);
    rk_err err = {{0}};
    ck_assert_int_eq(h.cache->rate_take(h.ctx, "x", 1, 0, 1, 1, 0, &retry, &err), RK_ERR_INVALID);
    ck_assert_int_eq(h.cache->rate_take(h.ctx, "x", 1, 60, -1, 1, 0, &retry, &err),
                     RK_ERR_INVALID);
    ck_assert_int_eq(h.cache->rate_take(h.ctx, "x", 1, 60, 1, 0.0 / 0.0, 0, &retry, &err),
                     RK_ERR_INVALID);
    /* a server that forgot the script (SCRIPT FLUSH, restart) is fine */
    raw("SCRIPT FLUSH", line, sizeof line);
    ck_assert_str_eq(line, "+OK");
    ck_assert_int_eq(ph_take(&h, "after-flush", 60, 1, 1, 0, &retry), RK_OK);
    ck_assert_int_eq(ph_take(&h, "after-flush", 60, 1, 1, 0, &retry), RK_ERR_RATE_LIMITED);
    ck_assert_double_eq(metric(RK_METRIC_COUNTER, M_ERR, "rate"), 0);
    ph_close(&h);
}
END_TEST

START_TEST(rate_two_hosts)
{
    ph a, b;
    h_open(&a, "host-a", "shared", g_port, NULL);
    h_open(&b, "host-b", "shared", g_port, NULL);
    int64_t ra, rb;
    ck_assert_int_eq(ph_take(&a, "user", 60, 3, 2, 0, &ra), RK_OK);
    ck_assert_int_eq(ph_take(&b, "user", 60, 3, 1, 0, &rb), RK_OK);
    ck_assert_int_eq(ph_take(&a, "user", 60, 3, 1, 0, &ra), RK_ERR_RATE_LIMITED);
    ck_assert_int_eq(ph_take(&b, "user", 60, 3, 1, 0, &rb), RK_ERR_RATE_LIMITED);
    /* one clock (the server's): both hosts see the same wait */
    ck_assert_msg(ra > 800 && ra <= 1000 && rb > 800 && rb <= 1000 && rb <= ra,
                  "retry_after %lld, %lld", (long long)ra, (long long)rb);
    ph_close(&b);
    ph_close(&a);
}
END_TEST

#define N_THREADS 8
#define N_OPS 200
#define N_KEYS 40
#define BURST 100

typedef struct worker {
    ph *h;
    unsigned seed;
    char key[32];
    int bad, errors, hits, allowed;
} worker;

static void check_value(void *ud, const void *data, size_t len)
{
    worker *w = ud; /* a value is "<key>|...": it must come back under its key */
    size_t kl = strlen(w->key);
    if (len <= kl || memcmp(data, w->key, kl) != 0 || ((const char *)data)[kl] != '|')
        w->bad++;
    w->hits++;
}

static void *worker_run(void *arg)
{
    worker *w = arg;
    rk_err err;
    int64_t retry;
    for (int i = 0; i < N_OPS; i++) {
        snprintf(w->key, sizeof w->key, "key-%u", rand_r(&w->seed) % N_KEYS);
        size_t kl = strlen(w->key);
        int rc;
        if (i % 4 == 0) {
            rc = w->h->cache->get(w->h->ctx, w->key, kl, check_value, w, &err);
            w->errors += rc != RK_OK && rc != RK_ERR_NOT_FOUND;
        } else if (i % 4 == 1) {
            char val[300];
            int n = snprintf(val, sizeof val, "%s|%p|%d", w->key, (void *)w, i);
            size_t vl = (size_t)n + rand_r(&w->seed) % 200;
            memset(val + n, '.', vl - (size_t)n);
            rc = w->h->cache->set(w->h->ctx, w->key, kl, val, vl, 0, &err);
            w->errors += rc != RK_OK;
        } else if (i % 4 == 2) {
            rc = (i % 16 == 2) ? w->h->cache->del(w->h->ctx, w->key, kl, &err)
                               : w->h->cache->get(w->h->ctx, w->key, kl, check_value, w, &err);
            w->errors += rc != RK_OK && rc != RK_ERR_NOT_FOUND;
        } else {
            rc = w->h->cache->rate_take(w->h->ctx, "drain", 5, 1e-6, BURST, 1, 0, &retry, &err);
            w->allowed += rc == RK_OK;
            w->errors += rc != RK_OK && rc != RK_ERR_RATE_LIMITED;
        }
    }
    return NULL;
}

START_TEST(threads)
{
    ph h;
    h_open(&h, "threads", "threads", g_port, ", pool_size: 3");
    worker w[N_THREADS];
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (worker){.h = &h, .seed = 99u + (unsigned)i};
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
    }
    int bad = 0, errors = 0, hits = 0, allowed = 0;
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        bad += w[i].bad;
        errors += w[i].errors;
        hits += w[i].hits;
        allowed += w[i].allowed;
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(errors, 0);
    ck_assert_msg(hits > 0, "no hits at all");
    /* 400 takes against a burst of 100 that does not refill: exactly 100 */
    ck_assert_int_eq(allowed, BURST);
    ph_close(&h);
}
END_TEST

static Suite *suite(int down)
{
    Suite *s = suite_create("cache_redis");
    (void)down; /* RK_REDIS_DOWN is test_cache_redis_outage's */
    ph_add_tcase(s, "live", 60, NULL, NULL,
                 PH_TESTS(get_set_del, layout_and_ttl, bad_config_refused, rate_bucket,
                          rate_two_hosts, threads));
    return s;
}

int main(void)
{
    const char *port = getenv("REDIS_PORT"), *down = getenv("RK_REDIS_DOWN");
    char *end = NULL;
    long p = port ? strtol(port, &end, 10) : 0;
    if (!port || !*port || *end || p <= 0 || p > 65535) {
        printf("skipped: REDIS_PORT not set\n");
        return EXIT_SUCCESS;
    }
    g_port = (int)p;
    snprintf(g_run, sizeof g_run, "%ld-%lld", (long)getpid(), (long long)time(NULL));
    return ph_run_suite(suite(down && strcmp(down, "1") == 0));
}
