/*
 * test_theap — the loop's timer heap and post queue on their own: due
 * order with ties by creation, stale handles, a pass that ignores timers
 * added during it, and a post queue that keeps its arrays.
 */
#include <check.h>
#include <stdlib.h>

#include "postq.h"
#include "testenv.h"
#include "theap.h"

static int fired[64], nfired;
static void rec(void *ud);
static void rec(void *ud)
{
    if (nfired < 64) fired[nfired] = (int)(long)ud;
    nfired++;
}

START_TEST(due_order_and_ties)
{
    theap h;
    theap_init(&h);
    nfired = 0;
    int64_t due[] = {50, 10, 30, 10, 20, 50, 40};
    for (long i = 0; i < 7; i++) ck_assert(theap_add(&h, due[i], rec, (void *)i) != 0);
    ck_assert_int_eq(theap_next_due(&h), 10);
    void (*fn)(void *);
    void *ud;
    while (theap_pop_due(&h, 100, theap_seq(&h), &fn, &ud)) fn(ud);
    int want[] = {1, 3, 4, 2, 6, 0, 5}; /* by due, equal dues by creation */
    ck_assert_int_eq(nfired, 7);
    for (int i = 0; i < 7; i++) ck_assert_int_eq(fired[i], want[i]);
    ck_assert_int_eq(theap_next_due(&h), -1);
    theap_free(&h);
}
END_TEST

START_TEST(cancel_and_stale_handles)
{
    theap h;
    theap_init(&h);
    nfired = 0;
    uint64_t a = theap_add(&h, 5, rec, (void *)1), b = theap_add(&h, 6, rec, (void *)2);
    theap_cancel(&h, a);
    theap_cancel(&h, a); /* twice: harmless */
    uint64_t c = theap_add(&h, 1, rec, (void *)3); /* reuses a's slot */
    ck_assert_uint_eq(c & 0xffffffffu, a & 0xffffffffu);
    theap_cancel(&h, a); /* stale: must not cancel c */
    void (*fn)(void *);
    void *ud;
    while (theap_pop_due(&h, 10, theap_seq(&h), &fn, &ud)) fn(ud);
    ck_assert_int_eq(nfired, 2);
    ck_assert_int_eq(fired[0], 3);
    ck_assert_int_eq(fired[1], 2);
    theap_cancel(&h, b); /* fired already: harmless */
    theap_free(&h);
}
END_TEST

START_TEST(pass_ignores_new_timers)
{
    theap h;
    theap_init(&h);
    nfired = 0;
    theap_add(&h, 0, rec, (void *)1);
    uint64_t pass = theap_seq(&h);
    theap_add(&h, 0, rec, (void *)2); /* added "during" the pass */
    void (*fn)(void *);
    void *ud;
    while (theap_pop_due(&h, 0, pass, &fn, &ud)) fn(ud);
    ck_assert_int_eq(nfired, 1);
    ck_assert_int_eq(theap_next_due(&h), 0);
    theap_clear(&h);
    ck_assert_int_eq(theap_next_due(&h), -1);
    for (long i = 0; i < 1000; i++) theap_add(&h, 1000 - i, rec, (void *)i); /* grows */
    ck_assert_int_eq(theap_next_due(&h), 1);
    theap_free(&h);
}
END_TEST

static postq *g_q;
static void repost(void *ud)
{
    rec(ud);
    if ((long)ud < 3) postq_push(g_q, repost, (void *)((long)ud + 10));
}

START_TEST(post_queue)
{
    postq q = {0};
    g_q = &q;
    nfired = 0;
    for (long i = 0; i < 3; i++) ck_assert_int_eq(postq_push(&q, repost, (void *)i), 0);
    ck_assert_uint_eq(postq_run(&q, postq_take(&q)), 3);
    ck_assert_uint_eq(q.n, 3); /* posted while running: waits for the next batch */
    ck_assert_ptr_nonnull(q.spare); /* the ran array is kept */
    ck_assert_uint_eq(postq_run(&q, postq_take(&q)), 3);
    ck_assert_int_eq(nfired, 6);
    ck_assert_int_eq(fired[3], 10);
    for (long i = 0; i < 70000; i++) postq_push(&q, rec, (void *)4); /* a burst */
    nfired = 0;
    ck_assert_uint_eq(postq_run(&q, postq_take(&q)), 70000);
    ck_assert_ptr_null(q.spare); /* a burst's array is given back */
    postq_free(&q);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("theap");
    TCase *tc = tcase_create("timers");
    tcase_add_test(tc, due_order_and_ties);
    tcase_add_test(tc, cancel_and_stale_handles);
    tcase_add_test(tc, pass_ignores_new_timers);
    tcase_add_test(tc, post_queue);
    suite_add_tcase(s, tc);
    return ph_run_suite(s);
}
