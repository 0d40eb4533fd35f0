/*
 * test_cache_memory — the built cache_memory.so, loaded with the real
 * loader and driven through the real host table with a config parsed and
 * validated by cfg: miss/hit/overwrite/delete, TTL expiry, LRU eviction by
 * entry count and by bytes (with the metrics that report it), oversized
 * entries, and eight threads hammering one instance while checking that no
 * value ever comes back under the wrong key; rate_take's token buckets
 * (burst, refusal that takes nothing, refill, force into debt, argument
 * checks, eight threads draining one bucket exactly). Run from the
 * repository root (BUILD defaults to "build").
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_calls.h"
#include "metrics.h"
#include "plugin_harness.h"

#include <ragkernel/ragkernel.h>

static void h_open(ph *h, const char *yaml)
{
    ph_open(h, "cache_memory", RK_KIND_CACHE, "test", yaml);
}

typedef struct got {
    char data[4096];
    size_t len;
    int calls;
} got;

static void on_value(void *ud, const void *data, size_t len)
{
    got *g = ud;
    g->calls++;
    g->len = len;
    memcpy(g->data, data, len < sizeof g->data ? len : sizeof g->data);
}

static int get_str(ph *h, const char *key, got *g)
{
    memset(g, 0, sizeof *g);
    rk_err err = {{0}};
    int rc = h->cache->get(h->ctx, key, strlen(key), on_value, g, &err);
    if (rc == RK_OK)
        ck_assert_int_eq(g->calls, 1);
    else
        ck_assert_int_eq(g->calls, 0);
    return rc;
}

static void set_str(ph *h, const char *key, const char *val, int64_t ttl)
{
    rk_err err = {{0}};
    int rc = h->cache->set(h->ctx, key, strlen(key), val, strlen(val), ttl, &err);
    ck_assert_msg(rc == RK_OK, "set %s: %s", key, err.msg);
}

static int has(ph *h, const char *key)
{
    got g;
    return get_str(h, key, &g) == RK_OK;
}

static double metric(rk_metric_type type, const char *name, const char *labels)
{
    return metrics_value(metrics_get(type, name, "", labels));
}

#define M_ENTRIES "ragkernel_cache_memory_entries"
#define M_BYTES "ragkernel_cache_memory_bytes"
#define M_EVICT "ragkernel_cache_memory_evictions_total"
#define L_INST "instance=\"test\""
#define L_CAP "instance=\"test\",reason=\"capacity\""
#define L_EXP "instance=\"test\",reason=\"expired\""

START_TEST(miss_hit_overwrite_delete)
{
    ph h;
    h_open(&h, "{}");
    got g;
    rk_err err = {{0}};
    ck_assert_int_eq(get_str(&h, "k1", &g), RK_ERR_NOT_FOUND);
    set_str(&h, "k1", "first", 0);
    ck_assert_int_eq(get_str(&h, "k1", &g), RK_OK);
    ck_assert_uint_eq(g.len, 5);
    ck_assert(memcmp(g.data, "first", 5) == 0);
    set_str(&h, "k1", "second value", 0);
    ck_assert_int_eq(get_str(&h, "k1", &g), RK_OK);
    ck_assert_uint_eq(g.len, 12);
    ck_assert(memcmp(g.data, "second value", 12) == 0);
    ck_assert_double_eq(metric(RK_METRIC_GAUGE, M_ENTRIES, L_INST), 1);
    /* binary keys: a key that is a prefix of another is a different key */
    ck_assert_int_eq(h.cache->set(h.ctx, "k\0x", 3, "bin", 3, 0, &err), RK_OK);
    ck_assert_int_eq(h.cache->get(h.ctx, "k", 1, on_value, &g, &err), RK_ERR_NOT_FOUND);
    /* empty value is a hit, not a miss */
    set_str(&h, "empty", "", 0);
    ck_assert_int_eq(get_str(&h, "empty", &g), RK_OK);
    ck_assert_uint_eq(g.len, 0);
    ck_assert_int_eq(h.cache->del(h.ctx, "k1", 2, &err), RK_OK);
    ck_assert_int_eq(get_str(&h, "k1", &g), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(h.cache->del(h.ctx, "absent", 6, &err), RK_OK);
    ph_close(&h);
    /* destroying the instance takes its entries out of the gauges */
    ck_assert_double_eq(metric(RK_METRIC_GAUGE, M_ENTRIES, L_INST), 0);
    ck_assert_double_eq(metric(RK_METRIC_GAUGE, M_BYTES, L_INST), 0);
}
END_TEST

START_TEST(ttl_expiry)
{
    ph h;
    h_open(&h, "{default_ttl: 50ms}");
    double expired0 = metric(RK_METRIC_COUNTER, M_EVICT, L_EXP);
    set_str(&h, "short", "v", 50);
    set_str(&h, "default", "v", 0);  /* default_ttl: 50ms */
    set_str(&h, "long", "v", 60000);
    ck_assert(has(&h, "short"));
    ck_assert(has(&h, "default"));
    ph_sleep_ms(120);
    ck_assert(!has(&h, "short"));
    ck_assert(!has(&h, "default"));
    ck_assert(has(&h, "long"));
    /* the expired entries were reclaimed by the lookups that missed */
    ck_assert_double_eq(metric(RK_METRIC_GAUGE, M_ENTRIES, L_INST), 1);
    ck_assert_double_eq(metric(RK_METRIC_COUNTER, M_EVICT, L_EXP) - expired0, 2);
    /* a fresh set revives the key */
    set_str(&h, "short", "again", 50);
    ck_assert(has(&h, "short"));
    ph_close(&h);
}
END_TEST

START_TEST(lru_by_entries)
{
    ph h;
    h_open(&h, "{shards: 1, max_entries: 3}");
    double ev0 = metric(RK_METRIC_COUNTER, M_EVICT, L_CAP);
    set_str(&h, "a", "1", 0);
    set_str(&h, "b", "2", 0);
    set_str(&h, "c", "3", 0);
    ck_assert(has(&h, "a")); /* a is now the most recently used */
    set_str(&h, "d", "4", 0); /* evicts b, the least recently used */
    ck_assert(!has(&h, "b"));
    ck_assert(has(&h, "a"));
    ck_assert(has(&h, "c"));
    ck_assert(has(&h, "d"));
    set_str(&h, "c", "33", 0); /* overwrite: no eviction, c becomes newest */
    ck_assert(has(&h, "a"));
    set_str(&h, "e", "5", 0);  /* evicts d (a and c were touched later) */
    ck_assert(!has(&h, "d"));
    ck_assert(has(&h, "a") && has(&h, "c") && has(&h, "e"));
    ck_assert_double_eq(metric(RK_METRIC_GAUGE, M_ENTRIES, L_INST), 3);
    ck_assert_double_eq(metric(RK_METRIC_COUNTER, M_EVICT, L_CAP) - ev0, 2);
    ph_close(&h);
}
END_TEST

START_TEST(lru_by_bytes)
{
    ph h;
    /* three 1000-byte values fit with room for overhead; a fourth does not */
    h_open(&h, "{shards: 1, max_bytes: 3600, max_entries: 1000}");
    char val[1001];
    memset(val, 'x', 1000);
    val[1000] = '\0';
    set_str(&h, "k1", val, 0);
    set_str(&h, "k2", val, 0);
    set_str(&h, "k3", val, 0);
    ck_assert(has(&h, "k1") && has(&h, "k2") && has(&h, "k3"));
    double bytes3 = metric(RK_METRIC_GAUGE, M_BYTES, L_INST);
    ck_assert(bytes3 >= 3 * (1000 + 2) && bytes3 <= 3600);
    set_str(&h, "k4", val, 0); /* evicts k1 */
    ck_assert(!has(&h, "k1"));
    ck_assert(has(&h, "k2") && has(&h, "k3") && has(&h, "k4"));
    ck_assert(metric(RK_METRIC_GAUGE, M_BYTES, L_INST) <= 3600);
    /* small entries: many fit in the room of one large one */
    for (int i = 0; i < 5; i++) {
        char k[16];
        snprintf(k, sizeof k, "s%d", i);
        set_str(&h, k, "tiny", 0);
    }
    ck_assert(has(&h, "s0") && has(&h, "s4"));
    /* an entry larger than the whole budget is refused, and the key's old
     * value does not survive the failed set */
    char big[4000];
    memset(big, 'y', sizeof big);
    rk_err err = {{0}};
    ck_assert_int_eq(h.cache->set(h.ctx, "s0", 2, big, sizeof big, 0, &err), RK_ERR_TOO_LARGE);
    ck_assert(!has(&h, "s0"));
    ck_assert(metric(RK_METRIC_GAUGE, M_BYTES, L_INST) <= 3600);
    ph_close(&h);
}
END_TEST

START_TEST(bad_config_refused)
{
    ph h;
    rk_err err = {{0}};
    ph_load(&h, "cache_memory", RK_KIND_CACHE, "bad", "{shards: 0}");
    ck_assert_int_eq(ph_create(&h, &err), RK_ERR_CONFIG);
    ck_assert_msg(strstr(err.msg, "shards") != NULL, "%s", err.msg);
    ph_close(&h);
}
END_TEST

/* ---- eight threads ----------------------------------------------------- */

#define N_THREADS 8
#define N_OPS 20000
#define N_KEYS 400

typedef struct hammer {
    ph *h;
    unsigned seed;
    char key[32]; /* the key of the operation in progress */
    int bad;      /* values seen under the wrong key */
    int errors;   /* unexpected statuses */
    int hits;
} hammer;

static void check_value(void *ud, const void *data, size_t len)
{
    /* a value is "<key>|<writer>|<i>...": it must carry the key it was
     * read by, whole */
    hammer *hm = ud;
    size_t kl = strlen(hm->key);
    if (len <= kl || memcmp(data, hm->key, kl) != 0 || ((const char *)data)[kl] != '|')
        hm->bad++;
    hm->hits++;
}

static void *hammer_run(void *arg)
{
    hammer *hm = arg;
    rk_err err;
    for (int i = 0; i < N_OPS; i++) {
        int k = (int)(rand_r(&hm->seed) % N_KEYS);
        int op = (int)(rand_r(&hm->seed) % 10);
        snprintf(hm->key, sizeof hm->key, "key-%d", k);
        size_t kl = strlen(hm->key);
        int rc;
        if (op < 5) {
            rc = hm->h->cache->get(hm->h->ctx, hm->key, kl, check_value, hm, &err);
            hm->errors += rc != RK_OK && rc != RK_ERR_NOT_FOUND;
        } else if (op < 9) {
            char val[300];
            int n = snprintf(val, sizeof val, "%s|%p|%d", hm->key, (void *)hm, i);
            size_t vl = (size_t)n + (size_t)(rand_r(&hm->seed) % 200);
            memset(val + n, '.', vl - (size_t)n);
            rc = hm->h->cache->set(hm->h->ctx, hm->key, kl, val, vl,
                                   (rand_r(&hm->seed) % 4) ? 0 : 1, &err);
            hm->errors += rc != RK_OK;
        } else {
            rc = hm->h->cache->del(hm->h->ctx, hm->key, kl, &err);
            hm->errors += rc != RK_OK;
        }
    }
    return NULL;
}

START_TEST(threads_hammer)
{
    ph h;
    h_open(&h, "{shards: 4, max_entries: 150, max_bytes: 40k}");
    hammer hm[N_THREADS];
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        memset(&hm[i], 0, sizeof hm[i]);
        hm[i].h = &h;
        hm[i].seed = 1234u + (unsigned)i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, hammer_run, &hm[i]), 0);
    }
    int bad = 0, errors = 0, hits = 0;
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        bad += hm[i].bad;
        errors += hm[i].errors;
        hits += hm[i].hits;
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(errors, 0);
    ck_assert_msg(hits > 0, "no hits at all: the cache kept nothing");
    double entries = metric(RK_METRIC_GAUGE, M_ENTRIES, L_INST);
    double bytes = metric(RK_METRIC_GAUGE, M_BYTES, L_INST);
    ck_assert_msg(entries >= 1 && entries <= 150 + 4, "entries gauge %f", entries);
    ck_assert_msg(bytes > 0 && bytes <= 40 * 1024 + 4, "bytes gauge %f", bytes);
    /* every entry the gauge counts is really there: count them by reading */
    int present = 0;
    for (int k = 0; k < N_KEYS; k++) {
        char key[32];
        snprintf(key, sizeof key, "key-%d", k);
        present += has(&h, key);
    }
    ck_assert_int_le(present, (int)entries);
    ph_close(&h);
    ck_assert_double_eq(metric(RK_METRIC_GAUGE, M_ENTRIES, L_INST), 0);
    ck_assert_double_eq(metric(RK_METRIC_GAUGE, M_BYTES, L_INST), 0);
}
END_TEST

/* ---- rate_take ------------------------------------------------------------ */

START_TEST(rate_take_bucket)
{
    ph h;
    h_open(&h, "{}");
    int64_t retry;
    ph_check_bucket_refills(&h);
    /* other keys, including ones that differ after a NUL, are other buckets */
    ck_assert_int_eq(ph_take(&h, "other", 600, 3, 3, 0, &retry), RK_OK);
    rk_err err = {{0}};
    ck_assert_int_eq(h.cache->rate_take(h.ctx, "a\0b", 3, 600, 1, 1, 0, &retry, &err), RK_OK);
    ck_assert_int_eq(h.cache->rate_take(h.ctx, "a\0c", 3, 600, 1, 1, 0, &retry, &err), RK_OK);
    ck_assert_int_eq(h.cache->rate_take(h.ctx, "a\0b", 3, 600, 1, 1, 0, &retry, &err),
                     RK_ERR_RATE_LIMITED);
    ph_check_refusal_takes_nothing(&h);
    /* more than the burst is never there */
    ck_assert_int_eq(ph_take(&h, "big", 60, 2, 3, 0, &retry), RK_ERR_RATE_LIMITED);
    ck_assert_int_eq(ph_take(&h, "big", 60, 2, 2, 0, &retry), RK_OK);
    ph_close(&h);
}
END_TEST

START_TEST(rate_take_force_and_args)
{
    ph h;
    h_open(&h, "{}");
    int64_t retry;
    /* 60/min = one token a second; burst 2, then a forced 5: balance -3 */
    ck_assert_int_eq(ph_take(&h, "f", 60, 2, 5, 1, &retry), RK_OK);
    ck_assert_int_eq(ph_take(&h, "f", 60, 2, 1, 0, &retry), RK_ERR_RATE_LIMITED);
    ck_assert_msg(retry > 3800 && retry <= 4000, "retry_after %lld ms", (long long)retry);
    /* cost 0 asks "is the bucket out of debt?" */
    ck_assert_int_eq(ph_take(&h, "f", 60, 2, 0, 0, &retry), RK_ERR_RATE_LIMITED);
    ck_assert_msg(retry > 2800 && retry <= 3000, "retry_after %lld ms", (long long)retry);
    /* forcing always takes, even deeper into debt */
    ck_assert_int_eq(ph_take(&h, "f", 60, 2, 1, 1, &retry), RK_OK);
    ck_assert_int_eq(ph_take(&h, "f", 60, 2, 1, 0, &retry), RK_ERR_RATE_LIMITED);
    ck_assert_msg(retry > 4800 && retry <= 5000, "retry_after %lld ms", (long long)retry);
    rk_err err = {{0}};
    ck_assert_int_eq(h.cache->rate_take(h.ctx, "x", 1, 0, 1, 1, 0, &retry, &err), RK_ERR_INVALID);
    ck_assert_int_eq(h.cache->rate_take(h.ctx, "x", 1, 60, -1, 1, 0, &retry, &err),
                     RK_ERR_INVALID);
    ck_assert_int_eq(h.cache->rate_take(h.ctx, "x", 1, 60, 1, -1, 0, &retry, &err),
                     RK_ERR_INVALID);
    ck_assert_int_eq(h.cache->rate_take(h.ctx, "x", 1, 60, 1, 0.0 / 0.0, 0, &retry, &err),
                     RK_ERR_INVALID);
    ck_assert_int_eq(h.cache->rate_take(h.ctx, NULL, 1, 60, 1, 1, 0, &retry, &err),
                     RK_ERR_INVALID);
    ph_close(&h);
}
END_TEST

#define RATE_BURST 300
#define RATE_TRIES 200 /* per thread: 8 x 200 > burst */

typedef struct taker {
    ph *h;
    int allowed;
    int errors;
} taker;

static void *taker_run(void *arg)
{
    taker *t = arg;
    rk_err err;
    int64_t retry;
    for (int i = 0; i < RATE_TRIES; i++) {
        int rc = t->h->cache->rate_take(t->h->ctx, "shared", 6, 1e-6, RATE_BURST, 1, 0,
                                        &retry, &err);
        t->allowed += rc == RK_OK;
        t->errors += rc != RK_OK && rc != RK_ERR_RATE_LIMITED;
    }
    return NULL;
}

START_TEST(rate_take_threads)
{
    ph h;
    h_open(&h, "{}");
    taker tk[N_THREADS];
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        tk[i] = (taker){.h = &h};
        ck_assert_int_eq(pthread_create(&th[i], NULL, taker_run, &tk[i]), 0);
    }
    int allowed = 0, errors = 0;
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        allowed += tk[i].allowed;
        errors += tk[i].errors;
    }
    /* the refill over the run is ~0: exactly the burst gets through */
    ck_assert_int_eq(errors, 0);
    ck_assert_int_eq(allowed, RATE_BURST);
    ph_close(&h);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cache_memory");
    ph_add_tcase(s, "contract", 120, NULL, NULL,
                 PH_TESTS(miss_hit_overwrite_delete, ttl_expiry, lru_by_entries, lru_by_bytes,
                          bad_config_refused, threads_hammer, rate_take_bucket,
                          rate_take_force_and_args, rate_take_threads));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
