/* test_singleflight — one leader per key, waiters get its result or its failure. */
#include <check.h>
#include <string.h>

#include "singleflight.h"

typedef struct got { int calls; char data[32]; int failed; } got;

static void on_result(void *ud, const void *data, size_t len)
{
    got *g = ud;
    g->calls++;
    if (!data) { g->failed = 1; return; }
    memcpy(g->data, data, len < 31 ? len : 31);
}

START_TEST(leader_then_waiters)
{
    sflight *s = sflight_new();
    got a = {0}, b = {0}, c = {0};
    ck_assert_int_eq(sflight_join(s, "k", on_result, &a), 0); /* leads */
    ck_assert_int_eq(sflight_join(s, "k", on_result, &b), 1);
    ck_assert_int_eq(sflight_join(s, "k", on_result, &c), 1);
    ck_assert_int_eq(sflight_join(s, "other", on_result, &a), 0); /* independent key */
    ck_assert_uint_eq(sflight_waiting(s), 2);
    sflight_leave(s, "k", "answer", 6);
    ck_assert_int_eq(b.calls, 1);
    ck_assert_str_eq(b.data, "answer");
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(a.calls, 0); /* the leader is not its own waiter */
    ck_assert_uint_eq(sflight_waiting(s), 0);
    ck_assert_int_eq(sflight_join(s, "k", on_result, &a), 0); /* the key is free again */
    sflight_leave(s, "k", NULL, 0);
    sflight_leave(s, "other", NULL, 0);
    sflight_free(s);
}
END_TEST

START_TEST(failure_reaches_waiters)
{
    sflight *s = sflight_new();
    got b = {0};
    ck_assert_int_eq(sflight_join(s, "k", on_result, NULL), 0);
    ck_assert_int_eq(sflight_join(s, "k", on_result, &b), 1);
    sflight_leave(s, "k", NULL, 0);
    ck_assert_int_eq(b.calls, 1);
    ck_assert_int_eq(b.failed, 1);
    sflight_leave(s, "never-joined", "x", 1); /* harmless */
    sflight_free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("singleflight");
    TCase *tc = tcase_create("flights");
    tcase_add_test(tc, leader_then_waiters);
    tcase_add_test(tc, failure_reaches_waiters);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
