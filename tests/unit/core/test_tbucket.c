/*
 * test_tbucket — the token-bucket arithmetic of common/tbucket.c, the one
 * copy behind the core's in-process limiter and cache_memory's rate_take:
 * refill, the cap at burst, forced charges, and the retry hint.
 */
#include <check.h>
#include <stdlib.h>

#include "tbucket.h"
#include "testenv.h"

START_TEST(token_bucket_arithmetic)
{
    tb_state b = {.tokens = 60, .ts_ms = 0};
    int64_t retry = 0;
    for (int i = 0; i < 60; i++)
        ck_assert_int_eq(tb_take(&b, 0, 60, 60, 1, 0, &retry), 1);
    ck_assert_int_eq(tb_take(&b, 0, 60, 60, 1, 0, &retry), 0);
    ck_assert_int_eq(retry, 1000); /* one token a second */
    ck_assert_int_eq(tb_take(&b, 1000, 60, 60, 1, 0, &retry), 1);
    ck_assert_int_eq(tb_take(&b, 1000, 60, 60, 5, 1, &retry), 1);
    ck_assert(b.tokens < 0); /* forced charge may go negative */
    ck_assert_int_eq(tb_take(&b, 100000, 60, 60, 1, 0, &retry), 1);
    ck_assert(b.tokens <= 60);
}
END_TEST

/* A bucket holding more than the burst (the limit was lowered since it
 * filled) is capped before the take, even with no time elapsed: the core's
 * old copy capped only on refill and let 50 through here. */
START_TEST(cap_applies_without_refill)
{
    tb_state b = {.tokens = 100, .ts_ms = 5000};
    int64_t retry = 0;
    ck_assert_int_eq(tb_take(&b, 5000, 600, 10, 50, 0, &retry), 0);
    ck_assert(b.tokens <= 10);
    ck_assert_int_eq(retry, 4000); /* 40 missing at 10 a second */
}
END_TEST

/* The retry hint and the time to full are capped at TB_MAX_MS, as
 * cache_redis caps them: a rate of one token in ~2,000 years says "a year". */
START_TEST(waits_are_capped)
{
    tb_state b = {.tokens = 0, .ts_ms = 0};
    int64_t retry = 0;
    ck_assert_int_eq(tb_take(&b, 0, 1e-9, 1, 1, 0, &retry), 0);
    ck_assert_int_eq(retry, (int64_t)TB_MAX_MS);
    ck_assert_int_eq(tb_full_in_ms(&b, 1e-9, 1), (int64_t)TB_MAX_MS);
    b.tokens = 1;
    ck_assert_int_eq(tb_full_in_ms(&b, 60, 1), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tbucket");
    ph_add_tcase(s, "tbucket", 10, NULL, NULL,
                 PH_TESTS(token_bucket_arithmetic, cap_applies_without_refill, waits_are_capped));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
