/*
 * test_upstream_http_cancel — upstream HTTP calls on the event loop
 * (loop_fixture.h), through the loop's own client and again through
 * libcurl: cancellation from inside the callbacks and from a timer, an
 * abort by a callback, 200 concurrent calls, stopping with calls in
 * flight, keep-alive reuse, header injection refused, and loop calls
 * refused off the loop thread.
 */
#include "loop_fixture.h"

static void check_cancelled(hctx *x)
{
    msleep(300);
    ck_assert_int_eq(x->after_cancel, 0);
    ck_assert_int_eq(x->dones, 0);
    ck_assert_int_eq(upstream_http_inflight(L), 0);
    hctx y;
    hctx_init(&y, "/fixed?n=10");
    run_one(&y, 10000);
    ck_assert_int_eq(y.done_status, RK_OK);
    ck_assert_str_eq(y.body, "abcdefghij");
    hctx_free(&y);
}

START_TEST(http_cancel_in_body)
{
    hctx x;
    hctx_init(&x, "/chunked?n=20&gap=20");
    x.cancel_in_body = 1;
    run_one(&x, 10000);
    ck_assert_int_eq(x.body_calls, 1);
    check_cancelled(&x);
    hctx_free(&x);
}
END_TEST

START_TEST(http_cancel_in_response)
{
    hctx x;
    hctx_init(&x, "/fixed?n=100000");
    x.cancel_in_response = 1;
    run_one(&x, 10000);
    ck_assert_int_eq(x.body_calls, 0);
    check_cancelled(&x);
    hctx_free(&x);
}
END_TEST

static void cancel_later(void *ud)
{
    hctx *x = ud;
    upstream_http_cancel(loop_current(), x->call);
    x->cancelled = 1;
    signal_one();
}

static void start_then_cancel(void *ud)
{
    h_start(ud);
    loop_timer_start(loop_current(), 100, cancel_later, ud);
}

START_TEST(http_cancel_from_timer)
{
    hctx x;
    hctx_init(&x, "/delay?ms=3000");
    wcount = 0;
    ck_assert_int_eq(loop_post(L, start_then_cancel, &x), RK_OK);
    ck_assert(wait_for(1, 10000));
    check_cancelled(&x);
    hctx_free(&x);
}
END_TEST

START_TEST(http_abort_by_callback)
{
    hctx x;
    hctx_init(&x, "/chunked?n=20&gap=20");
    x.abort_in_body = 1;
    run_one(&x, 10000);
    msleep(200);
    ck_assert_int_eq(x.dones, 1);
    ck_assert_int_eq(x.done_status, RK_ERR_CANCELLED);
    ck_assert_int_eq(x.body_calls, 1);
    hctx_free(&x);
}
END_TEST

#define NCONC 200
static hctx *many;
static void start_many(void *ud)
{
    (void)ud;
    for (int i = 0; i < NCONC; i++) h_start(&many[i]);
}

START_TEST(http_200_concurrent)
{
    many = calloc(NCONC, sizeof *many);
    for (int i = 0; i < NCONC; i++) hctx_init(&many[i], "/chunked?n=3&gap=50");
    wcount = 0;
    ck_assert_int_eq(loop_post(L, start_many, NULL), RK_OK);
    ck_assert(wait_for(NCONC, 60000));
    for (int i = 0; i < NCONC; i++) {
        ck_assert_int_eq(many[i].dones, 1);
        ck_assert_int_eq(many[i].done_status, RK_OK);
        ck_assert_str_eq(many[i].body, "chunk-0\nchunk-1\nchunk-2\n");
        hctx_free(&many[i]);
    }
    ck_assert_int_eq(upstream_http_inflight(L), 0);
    free(many);
}
END_TEST

START_TEST(http_stop_cancels_in_flight)
{
    many = calloc(20, sizeof *many);
    for (int i = 0; i < 20; i++) hctx_init(&many[i], "/delay?ms=20000");
    for (int i = 0; i < 20; i++) ck_assert_int_eq(loop_post(L, h_start, &many[i]), RK_OK);
    for (int i = 0; i < 500 && atomic_load(&S.accepted) < 20; i++) msleep(10);
    ck_assert_int_eq(atomic_load(&S.accepted), 20);
    int64_t t = clock_now_ms();
    loop_stop(L);
    ck_assert_int_lt(clock_now_ms() - t, 3000);
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(many[i].dones, 1);
        ck_assert_int_eq(many[i].done_status, RK_ERR_CANCELLED);
    }
    ck_assert_int_eq(upstream_http_inflight(L), 0);
    ck_assert_int_eq(loop_post(L, h_start, &many[0]), RK_ERR_UNAVAILABLE);
    free(many);
}
END_TEST

/* Sequential calls reuse one upstream connection. */
static int chain_left;
static hctx chain;
static void chain_done(void *ud, int status, const char *msg);
static const rk_http_handler CH = {sizeof(rk_http_handler), NULL, NULL, chain_done};

static void chain_next(void *ud)
{
    rk_err err;
    (void)ud;
    chain.call = upstream_http_start(loop_current(), &chain.req, &CH, &chain, &err);
    if (!chain.call) signal_one();
}

static void chain_done(void *ud, int status, const char *msg)
{
    (void)msg;
    if (status != RK_OK || --chain_left == 0) {
        chain.done_status = status;
        signal_one();
        return;
    }
    chain_next(ud);
}

START_TEST(http_keepalive_reuse)
{
    hctx_init(&chain, "/fixed?n=1000");
    chain_left = 20;
    wcount = 0;
    ck_assert_int_eq(loop_post(L, chain_next, NULL), RK_OK);
    ck_assert(wait_for(1, 20000));
    ck_assert_int_eq(chain.done_status, RK_OK);
    ck_assert_int_eq(chain_left, 0);
    ck_assert_int_eq(atomic_load(&S.accepted), 1);
}
END_TEST

START_TEST(http_rejects_header_injection)
{
    hctx x;
    hctx_init(&x, "/echo");
    x.hdr[0] = (rk_http_header){"X-Test", "a\r\nX-Evil: 1"};
    x.req.headers = x.hdr;
    x.req.n_headers = 1;
    wcount = 0;
    ck_assert_int_eq(loop_post(L, h_start, &x), RK_OK);
    ck_assert(wait_for(1, 5000));
    ck_assert_int_eq(x.start_failed, 1);
    ck_assert_int_eq(x.dones, 0);
    ck_assert_int_eq(upstream_http_inflight(L), 0);
}
END_TEST

/* Loop-only calls from another thread while the loop runs are refused. */
START_TEST(loop_calls_refused_off_thread)
{
    rk_err err = {{0}};
    hctx x;
    hctx_init(&x, "/fixed?n=1");
    ck_assert_ptr_null(loop_timer_start(L, 0, mark_post, NULL));
    ck_assert_ptr_null(upstream_http_start(L, &x.req, &H, &x, &err));
    ck_assert_int_gt((int)strlen(err.msg), 0);
    ck_assert_int_eq(upstream_http_inflight(L), 0);
}
END_TEST

static void add_http_tests(TCase *tc)
{
    tcase_add_test(tc, loop_calls_refused_off_thread);
    tcase_add_test(tc, http_rejects_header_injection);
    tcase_add_test(tc, http_cancel_in_body);
    tcase_add_test(tc, http_cancel_in_response);
    tcase_add_test(tc, http_cancel_from_timer);
    tcase_add_test(tc, http_abort_by_callback);
    tcase_add_test(tc, http_200_concurrent);
    tcase_add_test(tc, http_stop_cancels_in_flight);
    tcase_add_test(tc, http_keepalive_reuse);
}

static Suite *suite(void)
{
    Suite *s = suite_create("upstream_http_cancel");
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
