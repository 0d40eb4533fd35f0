/*
 * test_httpc_faults — the loop's plain-HTTP upstream client when things go
 * wrong, against the scripted raw server of httpc_fixture.h: error classes
 * (refused, timed out, cut short, malformed, over the limits), aborts and
 * pauses from the callbacks, and the connection pool (reuse, one
 * connection per concurrent call, idle connections the server closed or
 * reset, the single transparent retry on a stale kept-alive connection).
 * Connection counts are the server's accept count.
 */
#include "httpc_fixture.h"

/* ---- errors -------------------------------------------------------------- */

/* A TCP socket bound to 127.0.0.1 on an ephemeral port, *a filled. */
static int bound_socket(struct sockaddr_in *a)
{
    socklen_t alen = sizeof *a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    *a = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)a, sizeof *a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)a, &alen), 0);
    S.port = ntohs(a->sin_port);
    return fd;
}

START_TEST(connect_refused)
{
    struct sockaddr_in a;
    close(bound_socket(&a)); /* bound, never listened: nothing answers there */
    get_fails("/", RK_ERR_UNAVAILABLE, 0);
}
END_TEST

/* A listener with backlog 0 and one queued connection drops further SYNs,
 * so a connect there hangs until the client gives up. */
START_TEST(connect_timeout)
{
    struct sockaddr_in a;
    int lfd = bound_socket(&a), cfd = socket(AF_INET, SOCK_STREAM, 0),
        probe = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ck_assert(cfd >= 0 && probe >= 0);
    ck_assert_int_eq(listen(lfd, 0), 0);
    ck_assert_int_eq(connect(cfd, (struct sockaddr *)&a, sizeof a), 0);
    ph_sleep_ms(50);
    /* precondition: a further connect really does not complete */
    ck_assert_int_eq(connect(probe, (struct sockaddr *)&a, sizeof a), -1);
    struct pollfd p = {probe, POLLOUT, 0};
    ck_assert_msg(poll(&p, 1, 200) == 0, "backlog not full: cannot provoke a connect timeout");
    hctx x;
    hctx_init(&x, "GET", "/");
    x.req.connect_timeout_ms = 300;
    run(&x, 5000);
    ck_assert_msg(x.done_status == RK_ERR_TIMEOUT, "on_done %d (%s)", x.done_status,
                  x.done_msg);
    ck_assert_int_eq(x.responses, 0);
    ck_assert_int_ge(x.t_done - x.t_start, 250);
    ck_assert_int_lt(x.t_done - x.t_start, 3000);
    hctx_free(&x);
    close(probe);
    close(cfd);
    close(lfd);
}
END_TEST

/* The connection ends before the response is complete: before any byte
 * (FIN or RST), mid-head, mid-body (Content-Length or chunked). These are
 * fresh connections: nothing is retried. */
START_TEST(closed_before_complete)
{
    static const rs_step st[] = {
        END(NULL, RS_CLOSE), END(NULL, RS_RST),
        END("HTTP/1.1 200 OK\r\nContent-Le", RS_CLOSE),
        END("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", RS_CLOSE),
        END("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", RS_CLOSE)};
    static const char *const path[] = {"/eof", "/rst", "/head", "/cl", "/chunked"};
    serve(st, 5);
    for (int i = 0; i < 5; i++) {
        hctx x;
        hctx_init(&x, "GET", path[i]);
        run(&x, 5000);
        ck_assert_msg(x.done_status == RK_ERR_UNAVAILABLE, "%s: on_done %d (%s)", path[i],
                      x.done_status, x.done_msg);
        ck_assert_int_eq(x.responses, i < 3 ? 0 : 1);
        ck_assert_str_eq(x.blen ? x.body : "", i < 3 ? "" : "hello");
        hctx_free(&x);
    }
    ph_sleep_ms(100);
    ck_assert_int_eq(atomic_load(&S.accepted), 5);
    ck_assert_int_eq(rawsrv_nreqs(&S), 5);
}
END_TEST

START_TEST(garbage_status_line)
{
    static const rs_step st[] = {
        END("NOT HTTP AT ALL\r\n\r\n", RS_CLOSE),
        END("HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n", RS_CLOSE)};
    serve(st, 2);
    get_fails("/g1", RK_ERR_IO, 0);
    get_fails("/g2", RK_ERR_IO, 0);
}
END_TEST

START_TEST(bad_chunk_size)
{
    static const rs_step st[] = {
        KEEP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")};
    serve(st, 1);
    get_fails("/bad", RK_ERR_IO, 1);
}
END_TEST

/* n headers "X-Pad-i: <filler>" of about `each` bytes, then a 2-byte body. */
static char *padded_response(int n, size_t each)
{
    size_t cap = (size_t)n * (each + 32) + 128, off = 0;
    char *r = malloc(cap);
    ck_assert_ptr_nonnull(r);
    off += (size_t)snprintf(r, cap, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n");
    for (int i = 0; i < n; i++) {
        off += (size_t)snprintf(r + off, cap - off, "X-Pad-%d: ", i);
        memset(r + off, 'p', each);
        off += each;
        off += (size_t)snprintf(r + off, cap - off, "\r\n");
    }
    snprintf(r + off, cap - off, "\r\nok");
    return r;
}

/* 40 KiB of headers pass; 80 KiB are refused as malformed. */
START_TEST(response_headers_limit)
{
    char *fits = padded_response(50, 800), *over = padded_response(100, 800);
    const rs_step st[] = {KEEP(fits), KEEP(over)};
    hctx x;
    serve(st, 2);
    hctx_init(&x, "GET", "/fits");
    run(&x, 5000);
    expect_ok(&x, 200, "ok");
    ck_assert_uint_eq(x.n_headers, 51);
    hctx_free(&x);
    get_fails("/over", RK_ERR_IO, 0);
    rawsrv_stop(&S); /* before the response bytes are freed */
    free(fits);
    free(over);
}
END_TEST

/* A call that timed out leaves its connection unusable. */
START_TEST(deadline_then_fresh_connection)
{
    static const rs_step st[] = {KEEP(NULL), KEEP(OK2)};
    hctx x;
    serve(st, 2);
    hctx_init(&x, "GET", "/slow");
    x.deadline_rel = 300;
    run(&x, 5000);
    ck_assert_int_eq(x.done_status, RK_ERR_TIMEOUT);
    ck_assert_int_ge(x.t_done - x.t_start, 300);
    ck_assert_int_lt(x.t_done - x.t_start, 3000);
    hctx_free(&x);
    get_ok("/next", 200, "ok");
    ck_assert_int_eq(atomic_load(&S.accepted), 2);
}
END_TEST

/* A callback's nonzero return ends the call with RK_ERR_CANCELLED; the
 * rest of that response, arriving later, must not leak into the next call. */
#define AB_HEAD "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
START_TEST(abort_from_body_callback)
{
    static const rs_step st[] = {
        {.resp = AB_HEAD "1234567890", .piece = sizeof AB_HEAD - 1 + 5, .gap_ms = 200},
        KEEP(OK2)};
    hctx x;
    serve(st, 2);
    hctx_init(&x, "GET", "/abort");
    x.abort_in_body = 1;
    run(&x, 5000);
    ck_assert_int_eq(x.done_status, RK_ERR_CANCELLED);
    ck_assert_int_eq(x.body_calls, 1);
    ck_assert_str_eq(x.body, "12345");
    ph_sleep_ms(300);
    ck_assert_int_eq(x.dones, 1);
    hctx_free(&x);
    get_ok("/next", 200, "ok");
}
END_TEST

/* Backpressure: a call paused from its own on_body gets no more body (the
 * rest of the response waits in the socket, past its idle timeout too)
 * until it is resumed; then the rest comes, in order, and it ends well. */
static void snapshot(void *ud)
{
    hctx *x = ud;
    x->snap_body_calls = x->body_calls;
    signal_one();
}

static void resume(void *ud)
{
    hctx *x = ud;
    upstream_http_pause(loop_current(), x->call, 0);
}

START_TEST(pause_holds_body_until_resumed)
{
    static const rs_step st[] = {
        {.resp = AB_HEAD "1234567890", .piece = sizeof AB_HEAD - 1 + 3, .gap_ms = 50},
        KEEP(OK2)};
    hctx x;
    serve(st, 2);
    hctx_init(&x, "GET", "/paused");
    x.pause_in_body = 1;
    x.idle_ms = 200; /* a paused call is not an idle upstream */
    wait_reset();
    ck_assert_int_eq(loop_post(L, h_start, &x), RK_OK);
    ph_sleep_ms(600); /* the server has written everything by now */
    ck_assert_int_eq(loop_post(L, snapshot, &x), RK_OK);
    ck_assert(wait_for(1, 5000));
    ck_assert_int_eq(x.snap_body_calls, 1);
    ck_assert_int_eq(x.dones, 0);
    ck_assert_int_eq(loop_post(L, resume, &x), RK_OK);
    ck_assert_msg(wait_for(2, 5000), "no on_done after the resume");
    expect_ok(&x, 200, "1234567890");
    ck_assert_int_gt(x.body_calls, 1);
    hctx_free(&x);
    get_ok("/next", 200, "ok"); /* the connection went back to the pool in step */
    ck_assert_int_eq(atomic_load(&S.accepted), 1);
}
END_TEST

/* ---- connection pool ----------------------------------------------------- */

START_TEST(sequential_calls_reuse_one_connection)
{
    static const rs_step st[] = {KEEP(OK2), KEEP(OK2), KEEP(OK2), KEEP(OK2), KEEP(OK2)};
    serve(st, 5);
    for (int i = 0; i < 5; i++) get_ok("/seq", 200, "ok");
    ck_assert_int_eq(atomic_load(&S.accepted), 1);
    ck_assert_int_eq(rawsrv_nreqs(&S), 5);
    for (int i = 0; i < 5; i++) ck_assert_int_eq(req_at(i)->conn, 0);
}
END_TEST

#define NCONC 6
static hctx conc[NCONC];
static void start_conc(void *ud)
{
    (void)ud;
    for (int i = 0; i < NCONC; i++) h_start(&conc[i]);
}

/* No answer until all six requests are in: only six connections get there. */
START_TEST(concurrent_calls_use_own_connections)
{
    rs_step st[NCONC];
    int seen[NCONC] = {0};
    for (int i = 0; i < NCONC; i++) st[i] = (rs_step){.resp = OK2, .gate = NCONC};
    serve(st, NCONC);
    for (int i = 0; i < NCONC; i++) hctx_init(&conc[i], "GET", "/conc");
    wait_reset();
    ck_assert_int_eq(loop_post(L, start_conc, NULL), RK_OK);
    ck_assert_msg(wait_for(NCONC, 10000), "only %d of %d done", wcount, NCONC);
    for (int i = 0; i < NCONC; i++) {
        expect_ok(&conc[i], 200, "ok");
        hctx_free(&conc[i]);
    }
    ck_assert_int_eq(atomic_load(&S.accepted), NCONC);
    for (int i = 0; i < NCONC; i++) {
        int c = req_at(i)->conn;
        ck_assert(c >= 0 && c < NCONC && !seen[c]);
        seen[c] = 1;
    }
}
END_TEST

/* The server ends the kept-alive connection while it is idle, a little
 * after the response: the next call still succeeds, on a new connection.
 * With a FIN the server keeps reading, so a request written on the old
 * connection would show up there: the close must be noticed while idle. */
static void idle_end(int how)
{
    const rs_step st[] = {{.resp = OK2, .after = how, .close_ms = 50},
                          KEEP("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext")};
    serve(st, 2);
    get_ok("/one", 200, "ok");
    ph_sleep_ms(200);
    get_ok("/two", 200, "next");
    ck_assert_int_eq(atomic_load(&S.accepted), 2);
    ck_assert_int_eq(rawsrv_nreqs(&S), 2);
    ck_assert_int_eq(req_at(1)->conn, 1);
}

START_TEST(idle_close_detected) { idle_end(RS_HALF); }
END_TEST

START_TEST(idle_reset_detected) { idle_end(RS_RST); }
END_TEST

/* The request on the reused connection gets no response byte: it goes
 * again, the same bytes, on a fresh connection (once: `fail_again`
 * makes the fresh one end the same way). */
static void reused_dies(int how, int fail_again)
{
    const rs_step st[] = {
        KEEP(OK2), END(NULL, how),
        fail_again ? (rs_step)END(NULL, how)
                   : (rs_step)KEEP("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nretry")};
    serve(st, 3);
    get_ok("/one", 200, "ok");
    if (fail_again) get_fails("/two", RK_ERR_UNAVAILABLE, 0);
    else get_ok("/two", 200, "retry");
    ph_sleep_ms(200); /* room for a further attempt, which must not come */
    ck_assert_int_eq(atomic_load(&S.accepted), 2);
    ck_assert_int_eq(rawsrv_nreqs(&S), 3);
    ck_assert_int_eq(req_at(1)->conn, 0);
    ck_assert_int_eq(req_at(2)->conn, 1);
    ck_assert_str_eq(req_at(2)->head, req_at(1)->head);
}

START_TEST(reused_eof_retried) { reused_dies(RS_CLOSE, 0); }
END_TEST

START_TEST(reused_rst_retried) { reused_dies(RS_RST, 0); }
END_TEST

START_TEST(retried_only_once) { reused_dies(RS_CLOSE, 1); }
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("httpc_faults");
    ph_add_tcase(s, "errors", 60, setup, teardown,
                 PH_TESTS(connect_refused, connect_timeout, closed_before_complete,
                          garbage_status_line, bad_chunk_size, response_headers_limit,
                          deadline_then_fresh_connection, abort_from_body_callback,
                          pause_holds_body_until_resumed));
    ph_add_tcase(s, "pool", 60, setup, teardown,
                 PH_TESTS(sequential_calls_reuse_one_connection,
                          concurrent_calls_use_own_connections, idle_close_detected,
                          idle_reset_detected, reused_eof_retried, reused_rst_retried,
                          retried_only_once));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
