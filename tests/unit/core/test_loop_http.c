/*
 * test_loop_http — upstream HTTP calls on the event loop against a real
 * server (loop_fixture.h), through the loop's own client and again through
 * libcurl: bodies, headers, POST bodies copied at start, interim 100s,
 * refused connections, a close mid-body, and the three deadlines (first
 * byte, idle, overall). Cancellation and load are test_upstream_http_cancel.
 */
#include "loop_fixture.h"

START_TEST(http_fixed_body)
{
    hctx x;
    hctx_init(&x, "/fixed?n=200000");
    run_one(&x, 10000);
    ck_assert_int_eq(x.done_status, RK_OK);
    ck_assert_int_eq(x.http_status, 200);
    ck_assert_int_eq(x.responses, 1);
    ck_assert_int_eq(x.dones, 1);
    ck_assert_uint_eq(x.blen, 200000);
    for (size_t i = 0; i < x.blen; i++)
        ck_assert_int_eq(x.body[i], 'a' + (int)(i % 26));
    ck_assert_int_eq(upstream_http_inflight(L), 0);
    hctx_free(&x);
}
END_TEST

START_TEST(http_headers_429)
{
    hctx x;
    hctx_init(&x, "/429");
    run_one(&x, 10000);
    ck_assert_int_eq(x.done_status, RK_OK);
    ck_assert_int_eq(x.http_status, 429);
    ck_assert_str_eq(x.retry_after, "7");
    ck_assert_str_eq(x.body, "{\"error\":\"slow down\"}");
    hctx_free(&x);
}
END_TEST

START_TEST(http_post_copies_request)
{
    hctx x;
    char val[] = "hello";
    hctx_init(&x, "/echo");
    x.req.method = "PUT";
    x.post_body = "payload-123";
    x.hdr[0] = (rk_http_header){"X-Test", val};
    x.req.headers = x.hdr;
    x.req.n_headers = 1;
    run_one(&x, 10000);
    ck_assert_int_eq(x.done_status, RK_OK);
    ck_assert_str_eq(x.body, "payload-123");
    ck_assert_str_eq(x.x_echo, "hello");
    ck_assert_str_eq(x.x_method, "PUT");
    hctx_free(&x);
}
END_TEST

START_TEST(http_interim_100_skipped)
{
    hctx x;
    hctx_init(&x, "/continue");
    run_one(&x, 10000);
    ck_assert_int_eq(x.done_status, RK_OK);
    ck_assert_int_eq(x.responses, 1);
    ck_assert_int_eq(x.http_status, 200);
    ck_assert_str_eq(x.x_final, "yes");
    ck_assert_str_eq(x.body, "ok");
    hctx_free(&x);
}
END_TEST

START_TEST(http_connect_refused)
{
    hctx x;
    int port = testsrv_dead_port();
    ck_assert_int_gt(port, 0);
    hctx_init(&x, "/");
    snprintf(x.url, sizeof x.url, "http://127.0.0.1:%d/", port);
    run_one(&x, 10000);
    ck_assert_int_eq(x.done_status, RK_ERR_UNAVAILABLE);
    ck_assert_int_eq(x.responses, 0);
    ck_assert_int_gt((int)strlen(x.done_msg), 0);
    hctx_free(&x);
}
END_TEST

START_TEST(http_close_mid_body)
{
    hctx x;
    hctx_init(&x, "/close?n=1000");
    run_one(&x, 10000);
    ck_assert_int_eq(x.done_status, RK_ERR_UNAVAILABLE);
    ck_assert_uint_eq(x.blen, 500);
    hctx_free(&x);
}
END_TEST

START_TEST(http_first_byte_timeout)
{
    hctx x;
    hctx_init(&x, "/delay?ms=3000");
    x.req.first_byte_ms = 300;
    run_one(&x, 10000);
    ck_assert_int_eq(x.done_status, RK_ERR_TIMEOUT);
    ck_assert_str_eq(x.done_msg, "no response within 300 ms");
    ck_assert_int_ge(x.t_done - x.t_start, 300);
    ck_assert_int_lt(x.t_done - x.t_start, 2500);
    hctx_free(&x);
}
END_TEST

START_TEST(http_idle_timeout)
{
    hctx x;
    hctx_init(&x, "/chunked?n=3&gap=50&stall=3000");
    x.req.idle_ms = 300;
    run_one(&x, 10000);
    ck_assert_int_eq(x.done_status, RK_ERR_TIMEOUT);
    ck_assert_str_eq(x.done_msg, "no data for 300 ms");
    ck_assert_str_eq(x.body, "chunk-0\nchunk-1\nchunk-2\n");
    ck_assert_int_ge(x.t_done - x.t_start, 400);
    ck_assert_int_lt(x.t_done - x.t_start, 2500);
    hctx_free(&x);
}
END_TEST

/* Gaps under idle_ms, total well over it: no timeout. */
START_TEST(http_idle_rearms)
{
    hctx x;
    hctx_init(&x, "/chunked?n=6&gap=100");
    x.req.idle_ms = 300;
    x.req.first_byte_ms = 300;
    run_one(&x, 10000);
    ck_assert_msg(x.done_status == RK_OK, "%d %s", x.done_status, x.done_msg);
    ck_assert_int_eq(x.body_calls >= 6, 1);
    hctx_free(&x);
}
END_TEST

START_TEST(http_deadline)
{
    hctx x;
    hctx_init(&x, "/chunked?n=100&gap=50");
    x.req.idle_ms = 1000;
    x.deadline_rel = 400;
    run_one(&x, 10000);
    ck_assert_int_eq(x.done_status, RK_ERR_TIMEOUT);
    ck_assert_str_eq(x.done_msg, "deadline passed");
    ck_assert_int_gt(x.body_calls, 0);
    ck_assert_int_ge(x.t_done - x.t_start, 400);
    ck_assert_int_lt(x.t_done - x.t_start, 2500);
    hctx_free(&x);
}
END_TEST

START_TEST(http_deadline_already_passed)
{
    hctx x;
    hctx_init(&x, "/delay?ms=2000");
    x.deadline_abs = -1;
    run_one(&x, 10000);
    ck_assert_int_eq(x.done_status, RK_ERR_TIMEOUT);
    ck_assert_int_eq(x.done_in_start, 0);
    ck_assert_int_eq(x.dones, 1);
    hctx_free(&x);
}
END_TEST

/* After a cancel nothing more may arrive, and the loop carries on. */

static void add_http_tests(TCase *tc)
{
    tcase_add_test(tc, http_fixed_body);
    tcase_add_test(tc, http_headers_429);
    tcase_add_test(tc, http_post_copies_request);
    tcase_add_test(tc, http_interim_100_skipped);
    tcase_add_test(tc, http_connect_refused);
    tcase_add_test(tc, http_close_mid_body);
    tcase_add_test(tc, http_first_byte_timeout);
    tcase_add_test(tc, http_idle_timeout);
    tcase_add_test(tc, http_idle_rearms);
    tcase_add_test(tc, http_deadline);
    tcase_add_test(tc, http_deadline_already_passed);
}

static Suite *suite(void)
{
    Suite *s = suite_create("loop_http");
    TCase *tc = tcase_create("loop");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    add_http_tests(tc);
    suite_add_tcase(s, tc);
    /* the same tests once more with libcurl taking every call */
    TCase *curl = tcase_create("libcurl");
    tcase_add_checked_fixture(curl, setup_libcurl, teardown);
    tcase_set_timeout(curl, 120);
    add_http_tests(curl);
    suite_add_tcase(s, curl);
    return s;
}

int main(void) { return ph_run_suite(suite()); }
