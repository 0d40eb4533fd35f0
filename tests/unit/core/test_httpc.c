/*
 * test_httpc — the loop's plain-HTTP upstream client (upstream_http_start on
 * http:// URLs with an IP literal host), black-box, against a scripted raw
 * TCP server (rawsrv.h) on 127.0.0.1 that records every request byte and
 * answers with exact bytes, so each test pins one piece of the contract in
 * ragkernel/host.h. This program: the shape of requests and the framing of
 * responses (test_httpc_faults: error classes, connection reuse and the
 * transparent retry on a stale kept-alive connection). Callbacks run on the
 * loop thread and only record; assertions run on the test thread, and every
 * wait has a timeout (httpc_fixture.h).
 */
#include "httpc_fixture.h"

/* ---- request shape ------------------------------------------------------- */

START_TEST(request_line_host_query_headers)
{
    static const rs_step st[] = {
        KEEP("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello"), KEEP(OK2)};
    char host[64];
    hctx x;
    serve(st, 2);
    hctx_init(&x, "GET", "/search?q=a%20b&x=1");
    x.hdr[0] = (rk_http_header){"X-Test", "v1"};
    x.hdr[1] = (rk_http_header){"Authorization", "Bearer t0k"};
    x.req.headers = x.hdr;
    x.req.n_headers = 2;
    run(&x, 5000);
    expect_ok(&x, 200, "hello");
    ck_assert_ptr_nonnull(strstr(x.hdrs, "X-A: b\n"));
    expect_line(0, "GET /search?q=a%20b&x=1 HTTP/1.1");
    snprintf(host, sizeof host, "127.0.0.1:%d", S.port);
    expect_hdr(0, "Host", host);
    expect_hdr(0, "X-Test", "v1");
    expect_hdr(0, "Authorization", "Bearer t0k");
    ck_assert_uint_eq(req_at(0)->body_len, 0);
    hctx_free(&x);
    /* no path in the URL: the request asks for "/" */
    hctx_init(&x, "GET", "");
    run(&x, 5000);
    expect_ok(&x, 200, "ok");
    expect_line(1, "GET / HTTP/1.1");
    hctx_free(&x);
}
END_TEST

START_TEST(request_bodies_and_content_length)
{
    static const rs_step st[] = {KEEP(OK2), KEEP(OK2), KEEP(OK2)};
    static const char *const method[] = {"POST", "POST", "PUT"},
                             *const path[] = {"/p", "/p0", "/u?v=2"},
                             *const body[] = {"payload-123", NULL, "xyz"},
                             *const line[] = {"POST /p HTTP/1.1", "POST /p0 HTTP/1.1",
                                              "PUT /u?v=2 HTTP/1.1"},
                             *const clen[] = {"11", "0", "3"};
    serve(st, 3);
    for (int i = 0; i < 3; i++) {
        hctx x;
        hctx_init(&x, method[i], path[i]);
        x.req.body = body[i];
        x.req.body_len = body[i] ? strlen(body[i]) : 0;
        run(&x, 5000);
        expect_ok(&x, 200, "ok");
        expect_line(i, line[i]);
        expect_hdr(i, "Content-Length", clen[i]);
        ck_assert_str_eq(req_at(i)->body, body[i] ? body[i] : "");
        hctx_free(&x);
    }
}
END_TEST

START_TEST(header_crlf_refused_at_start)
{
    static const rk_http_header bad[] = {
        {"X-Test", "a\r\nX-Evil: 1"}, {"X-Test", "a\nb"}, {"X-Te\rst", "v"}, {"X-\nT", "v"}};
    serve(NULL, 0);
    for (int i = 0; i < 4; i++) {
        hctx x;
        hctx_init(&x, "GET", "/");
        x.req.headers = &bad[i];
        x.req.n_headers = 1;
        wait_reset();
        ck_assert_int_eq(loop_post(L, h_start, &x), RK_OK);
        ck_assert(wait_for(1, 5000));
        ck_assert_msg(x.start_failed, "header %d accepted", i);
        ck_assert_int_gt((int)strlen(x.start_err), 0);
        ck_assert_int_eq(x.dones, 0);
    }
    ph_sleep_ms(100);
    ck_assert_int_eq(atomic_load(&S.accepted), 0);
    ck_assert_int_eq(upstream_http_inflight(L), 0);
}
END_TEST

/* Several MB go out whole although the socket takes them in pieces (the
 * server's receive buffer is small). */
START_TEST(large_body_sent_completely)
{
    static const rs_step st[] = {KEEP(OK2)};
    const size_t n = 6u << 20;
    char *big = malloc(n), clen[32];
    ck_assert_ptr_nonnull(big);
    for (size_t i = 0; i < n; i++) big[i] = (char)('A' + (i * 7 + i / 4093) % 26);
    serve(st, 1);
    hctx x;
    hctx_init(&x, "POST", "/big");
    x.req.body = big;
    x.req.body_len = n;
    run(&x, 20000);
    expect_ok(&x, 200, "ok");
    snprintf(clen, sizeof clen, "%zu", n);
    expect_hdr(0, "Content-Length", clen);
    ck_assert_uint_eq(req_at(0)->body_len, n);
    ck_assert(memcmp(req_at(0)->body, big, n) == 0);
    hctx_free(&x);
    free(big);
}
END_TEST

/* ---- response framing ---------------------------------------------------- */

/* Extensions, trailers and both hex cases, in one write or byte by byte
 * (head included); the connection stays reusable. */
static void chunked_case(const rs_step *st)
{
    hctx x;
    serve(st, 2);
    hctx_init(&x, "GET", "/c");
    run(&x, 10000);
    expect_ok(&x, 200, CHUNKED_BODY);
    ck_assert_ptr_nonnull(strstr(x.hdrs, "X-A: b\n"));
    hctx_free(&x);
    get_ok("/after", 200, "ok");
    ck_assert_int_eq(atomic_load(&S.accepted), 1);
}

START_TEST(chunked_body)
{
    static const rs_step st[] = {KEEP(CHUNKED), KEEP(OK2)};
    chunked_case(st);
}
END_TEST

START_TEST(chunked_one_byte_writes)
{
    static const rs_step st[] = {{.resp = CHUNKED, .piece = 1, .gap_ms = 1},
                                 {.resp = OK2, .piece = 1, .gap_ms = 1}};
    chunked_case(st);
}
END_TEST

START_TEST(close_delimited_body)
{
    static const rs_step st[] = {
        {.resp = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close",
         .piece = 6, .gap_ms = 50, .after = RS_CLOSE, .close_ms = 50},
        KEEP(OK2)};
    serve(st, 2);
    get_ok("/cd", 200, "until close");
    get_ok("/after", 200, "ok");
    ck_assert_int_eq(atomic_load(&S.accepted), 2);
}
END_TEST

/* HEAD, 204 and 304 end at their head whatever Content-Length says; the
 * connection carries all four. */
START_TEST(no_body_head_204_304)
{
    static const rs_step st[] = {
        KEEP("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"),
        KEEP("HTTP/1.1 204 No Content\r\n\r\n"),
        KEEP("HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n"), KEEP(OK2)};
    static const char *const method[] = {"HEAD", "GET", "GET"};
    static const int status[] = {200, 204, 304};
    serve(st, 4);
    for (int i = 0; i < 3; i++) {
        hctx x;
        hctx_init(&x, method[i], "/nb");
        run(&x, 3000);
        expect_ok(&x, status[i], "");
        ck_assert_int_eq(x.body_calls, 0);
        hctx_free(&x);
    }
    expect_line(0, "HEAD /nb HTTP/1.1");
    get_ok("/after", 200, "ok");
    ck_assert_int_eq(atomic_load(&S.accepted), 1);
}
END_TEST

/* Only the final block reaches on_response. */
START_TEST(interim_1xx_skipped)
{
    static const rs_step st[] = {
        KEEP("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
             "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Final: yes\r\n\r\nok")};
    hctx x;
    serve(st, 1);
    hctx_init(&x, "GET", "/i");
    run(&x, 5000);
    expect_ok(&x, 200, "ok");
    ck_assert_ptr_nonnull(strstr(x.hdrs, "X-Final: yes\n"));
    ck_assert_ptr_null(strstr(x.hdrs, "Link"));
    hctx_free(&x);
}
END_TEST

/* The server leaves the connection open each time: the client must not
 * reuse it after `Connection: close`, an HTTP/1.0 answer or excess bytes. */
static void expect_not_reused(const char *first, const char *first_body)
{
    const rs_step st[] = {KEEP(first), KEEP(OK2)};
    serve(st, 2);
    get_ok("/first", 200, first_body);
    get_ok("/second", 200, "ok");
    ck_assert_int_eq(atomic_load(&S.accepted), 2);
    ck_assert_int_eq(req_at(1)->conn, 1);
}

START_TEST(connection_close_not_reused)
{
    expect_not_reused("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nbye",
                      "bye");
}
END_TEST

START_TEST(http10_not_reused)
{
    expect_not_reused("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold", "old");
}
END_TEST

START_TEST(extra_bytes_not_reused)
{
    expect_not_reused("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokGARBAGE", "ok");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("httpc");
    ph_add_tcase(s, "request", 60, setup, teardown,
                 PH_TESTS(request_line_host_query_headers, request_bodies_and_content_length,
                          header_crlf_refused_at_start, large_body_sent_completely));
    ph_add_tcase(s, "framing", 60, setup, teardown,
                 PH_TESTS(chunked_body, chunked_one_byte_writes, close_delimited_body,
                          no_body_head_204_304, interim_1xx_skipped,
                          connection_close_not_reused, http10_not_reused,
                          extra_bytes_not_reused));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
