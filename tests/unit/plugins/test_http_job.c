/*
 * Unit tests of transport_http's shared job outcome (http_job.c): what
 * on_done leaves for the answer (its own copies of the message and the
 * list cursor, the call no longer pending), what a call the host refused
 * at once leaves (the host's message, else rk_strerror), and ?limit='s
 * bounds. Documents, document status, conversations and API keys all
 * answer from this one outcome, so a slip here shows in all four. The
 * request is built by hand: neither suspended nor completed, so no
 * connection is resumed and nothing is freed behind the test's back.
 */
#include <check.h>
#include <pthread.h>
#include <string.h>

#include "http_job.h"
#include "http_req.h"
#include "testenv.h"

typedef struct fake_job {
    hjob out; /* first, as http_job.h asks */
    int mine;
} fake_job;

static http_req R;
static fake_job J;

static void setup(void)
{
    memset(&R, 0, sizeof R);
    memset(&J, 0, sizeof J);
    pthread_mutex_init(&R.mu, NULL);
    R.job = &J;
    R.pending = 1;
}

static void teardown(void)
{
    hjob_clear(&J.out);
    pthread_mutex_destroy(&R.mu);
}

START_TEST(on_done_copies)
{
    char msg[] = "no such conversation", next[] = "conv-42";
    hjob_on_done(&R, RK_ERR_NOT_FOUND, 404, msg, next);
    msg[0] = next[0] = 'X'; /* the host's strings live for the call only */
    ck_assert_int_eq(J.out.done, 1);
    ck_assert_int_eq(J.out.rc, RK_ERR_NOT_FOUND);
    ck_assert_int_eq(J.out.http, 404);
    ck_assert_str_eq(J.out.msg, "no such conversation");
    ck_assert_str_eq(J.out.next, "conv-42");
    ck_assert_int_eq(J.out.oom, 0);
    ck_assert_int_eq(R.pending, 0);
}
END_TEST

START_TEST(on_done_without_strings)
{
    hjob_on_done(&R, RK_OK, 0, NULL, NULL);
    ck_assert_int_eq(J.out.done, 1);
    ck_assert_ptr_null(J.out.msg);
    ck_assert_ptr_null(J.out.next);
    ck_assert_int_eq(J.out.oom, 0);
}
END_TEST

START_TEST(refused_at_once)
{
    ck_assert_int_eq(hjob_called(&R, RK_OK, "ignored"), MHD_YES);
    ck_assert_int_eq(J.out.done, 0); /* on_done is still to come */
    ck_assert_int_eq(R.pending, 1);
    ck_assert_int_eq(hjob_called(&R, RK_ERR_UNAVAILABLE, "every reader is busy"), MHD_YES);
    ck_assert_int_eq(J.out.done, 1);
    ck_assert_int_eq(J.out.rc, RK_ERR_UNAVAILABLE);
    ck_assert_str_eq(J.out.msg, "every reader is busy");
    ck_assert_int_eq(R.pending, 0);
}
END_TEST

START_TEST(refused_without_message)
{
    hjob_called(&R, RK_ERR_UNAVAILABLE, "");
    ck_assert_str_eq(J.out.msg, rk_strerror(RK_ERR_UNAVAILABLE));
}
END_TEST

START_TEST(limit_bounds)
{
    size_t n = 7;
    ck_assert_int_eq(hjob_parse_limit("1", 1000, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(hjob_parse_limit("1000", 1000, &n), 0);
    ck_assert_uint_eq(n, 1000);
    n = 7;
    const char *bad[] = {"1001", "0", "", "12a", "-1", " 5", "+5",
                         "99999999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(hjob_parse_limit(bad[i], 1000, &n) < 0, "'%s' taken", bad[i]);
    ck_assert_uint_eq(n, 7); /* untouched on refusal */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_job");
    ph_add_tcase(s, "outcome", 10, setup, teardown,
                 PH_TESTS(on_done_copies, on_done_without_strings, refused_at_once,
                          refused_without_message));
    ph_add_tcase(s, "limit", 10, NULL, NULL, PH_TESTS(limit_bounds));
    return ph_run_suite(s);
}
