/*
 * test_pool — the worker pool: every job runs (from many submitters), one
 * thread keeps FIFO order, pool_free drains the queue, and submissions
 * made once shutdown began are refused.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "pool.h"

static void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static atomic_int counter;
static void bump(void *ud)
{
    (void)ud;
    atomic_fetch_add(&counter, 1);
}

START_TEST(new_rejects_bad_sizes)
{
    rk_err err = {{0}};
    ck_assert_ptr_null(pool_new(0, &err));
    ck_assert_int_gt((int)strlen(err.msg), 0);
    ck_assert_ptr_null(pool_new(-3, &err));
    pool *p = pool_new(3, &err);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(pool_threads(p), 3);
    pool_free(p);
}
END_TEST

#define SUBMITTERS 3
#define PER_SUBMITTER 10000
static void *submitter(void *arg)
{
    pool *p = arg;
    for (int i = 0; i < PER_SUBMITTER; i++)
        if (pool_submit(p, bump, NULL) != RK_OK) return (void *)1;
    return NULL;
}

START_TEST(all_jobs_run)
{
    rk_err err;
    pool *p = pool_new(4, &err);
    pthread_t th[SUBMITTERS];
    atomic_store(&counter, 0);
    for (int i = 0; i < SUBMITTERS; i++) pthread_create(&th[i], NULL, submitter, p);
    for (int i = 0; i < SUBMITTERS; i++) {
        void *rv;
        pthread_join(th[i], &rv);
        ck_assert_ptr_null(rv);
    }
    for (int i = 0; i < 1000 && atomic_load(&counter) < SUBMITTERS * PER_SUBMITTER; i++)
        msleep(5);
    /* checked before pool_free: the workers ran them, not the shutdown */
    ck_assert_int_eq(atomic_load(&counter), SUBMITTERS * PER_SUBMITTER);
    pool_free(p);
}
END_TEST

static int seen[100], nseen;
static void record(void *ud) { seen[nseen++] = (int)(intptr_t)ud; }

START_TEST(one_thread_is_fifo)
{
    rk_err err;
    pool *p = pool_new(1, &err);
    nseen = 0;
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(pool_submit(p, record, (void *)(intptr_t)i), RK_OK);
    pool_free(p); /* joins: nseen is stable afterwards */
    ck_assert_int_eq(nseen, 100);
    for (int i = 0; i < 100; i++) ck_assert_int_eq(seen[i], i);
}
END_TEST

static void slow_bump(void *ud)
{
    (void)ud;
    msleep(2);
    atomic_fetch_add(&counter, 1);
}

START_TEST(free_drains_queue)
{
    rk_err err;
    pool *p = pool_new(2, &err);
    atomic_store(&counter, 0);
    for (int i = 0; i < 200; i++) ck_assert_int_eq(pool_submit(p, slow_bump, NULL), RK_OK);
    pool_free(p);
    ck_assert_int_eq(atomic_load(&counter), 200);
}
END_TEST

/* A job keeps submitting until refused: the refusal must come once
 * pool_free started, and every accepted job must still have run. */
static pool *gp;
static atomic_int accepted, refused_rc;
static void resubmit(void *ud)
{
    (void)ud;
    for (int i = 0; i < 5000; i++) {
        int rc = pool_submit(gp, bump, NULL);
        if (rc != RK_OK) {
            atomic_store(&refused_rc, rc);
            return;
        }
        atomic_fetch_add(&accepted, 1);
        msleep(1);
    }
}

START_TEST(submit_after_free_refused)
{
    rk_err err;
    gp = pool_new(2, &err);
    atomic_store(&counter, 0);
    atomic_store(&accepted, 0);
    atomic_store(&refused_rc, 0);
    ck_assert_int_eq(pool_submit(gp, resubmit, NULL), RK_OK);
    msleep(50);
    pool_free(gp);
    ck_assert_int_eq(atomic_load(&refused_rc), RK_ERR_UNAVAILABLE);
    ck_assert_int_gt(atomic_load(&accepted), 0);
    ck_assert_int_lt(atomic_load(&accepted), 5000);
    ck_assert_int_eq(atomic_load(&counter), atomic_load(&accepted));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("pool");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, new_rejects_bad_sizes);
    tcase_add_test(tc, all_jobs_run);
    tcase_add_test(tc, one_thread_is_fifo);
    tcase_add_test(tc, free_drains_queue);
    tcase_add_test(tc, submit_after_free_refused);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
