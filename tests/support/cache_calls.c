/*
 * cache_calls — the cache tests (in-memory and Redis) hold their plugins
 * to the one rate_take contract of cache.h, so the parts of it that do not
 * depend on the backend are written once here and called by both.
 */
#define _GNU_SOURCE
#include "cache_calls.h"

#include <check.h>
#include <string.h>

int ph_take(ph *h, const char *key, double per_min, double burst, double cost, int force,
            int64_t *retry)
{
    rk_err err = {{0}};
    *retry = -1;
    int rc = h->cache->rate_take(h->ctx, key, strlen(key), per_min, burst, cost, force, retry,
                                 &err);
    ck_assert_msg(rc == RK_OK || rc == RK_ERR_RATE_LIMITED, "rate_take %s: %d %s", key, rc,
                  err.msg);
    return rc;
}

void ph_check_bucket_refills(ph *h)
{
    int64_t retry;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ph_take(h, "r", 600, 3, 1, 0, &retry), RK_OK);
    ck_assert_int_eq(ph_take(h, "r", 600, 3, 1, 0, &retry), RK_ERR_RATE_LIMITED);
    ck_assert_msg(retry > 50 && retry <= 100, "retry_after %lld ms", (long long)retry);
    ph_sleep_ms(retry + 20);
    ck_assert_int_eq(ph_take(h, "r", 600, 3, 1, 0, &retry), RK_OK);
}

void ph_check_refusal_takes_nothing(ph *h)
{
    int64_t retry;
    ck_assert_int_eq(ph_take(h, "n", 1e-6, 5, 3, 0, &retry), RK_OK);
    ck_assert_int_eq(ph_take(h, "n", 1e-6, 5, 3, 0, &retry), RK_ERR_RATE_LIMITED);
    ck_assert_int_eq(ph_take(h, "n", 1e-6, 5, 2, 0, &retry), RK_OK);
}
