/*
 * test_httpc — the loop's plain-HTTP upstream client (upstream_http_start on
 * http:// URLs with an IP literal host), black-box, against a scripted raw
 * TCP server (rawsrv.h) on 127.0.0.1 that records every request byte and
 * answers with exact bytes, so each test pins one piece of the contract in
 * ragkernel/host.h: request shape, response framing, error classes,
 * connection reuse and the transparent retry on a stale kept-alive
 * connection. Connection counts are the server's accept count. Callbacks
 * run on the loop thread and only record; assertions run on the test thread,
 * and every wait has a timeout.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>

#include "loop.h"
#include "upstream.h"
#include "rawsrv.h"
#include "testenv.h"
#include "waiter.h"

static loop *L;
static rawsrv S;

/* ---- waiting for the loop thread ---------------------------------------- */

static ph_cond W; /* guards wcount: on_done calls (and refused starts) seen */
static int wcount;

static void signal_one(void)
{
    pthread_mutex_lock(&W.mu);
    wcount++;
    ph_cond_broadcast(&W);
    pthread_mutex_unlock(&W.mu);
}

static void wait_reset(void)
{
    pthread_mutex_lock(&W.mu);
    wcount = 0;
    pthread_mutex_unlock(&W.mu);
}

static int reached(const void *n) { return wcount >= *(const int *)n; }
static int wait_for(int n, int timeout_ms) { return ph_cond_wait(&W, reached, &n, timeout_ms); }

static void setup(void)
{
    rk_err err = {{0}};
    ph_cond_init(&W);
    wcount = 0;
    memset(&S, 0, sizeof S);
    L = upstream_loop_new(&err);
    ck_assert_msg(L != NULL, "loop_new: %s", err.msg);
    ck_assert_int_eq(loop_start(L, &err), RK_OK);
}

/* The loop goes first so the client closes its sockets before the server. */
static void teardown(void)
{
    loop_free(L);
    L = NULL;
    rawsrv_stop(&S);
    ph_cond_destroy(&W);
}

static void serve(const rs_step *steps, int n)
{
    ck_assert_int_eq(rawsrv_start(&S, steps, n), 0);
}

/* ---- one call ------------------------------------------------------------ */

typedef struct hctx {
    rk_http_request req;
    rk_http_header hdr[4];
    char url[256];
    int64_t deadline_rel; /* > 0: deadline this many ms after start */
    int abort_in_body;    /* on_body returns nonzero */
    int pause_in_body;    /* the first on_body pauses the call (upstream_http_pause) */
    int64_t idle_ms;      /* > 0: req.idle_ms */
    rk_http_call *call;
    int snap_body_calls;  /* body_calls as seen on the loop by snapshot() */
    int start_failed, responses, body_calls, dones, http_status, done_status;
    size_t n_headers;
    char hdrs[4096]; /* "name: value\n" of the delivered block, truncated */
    char start_err[RK_ERR_MSG_MAX], done_msg[256];
    char *body;
    size_t blen, bcap;
    int64_t t_start, t_done;
} hctx;

static void hctx_init(hctx *x, const char *method, const char *path)
{
    memset(x, 0, sizeof *x);
    snprintf(x->url, sizeof x->url, "http://127.0.0.1:%d%s", S.port, path);
    x->req.struct_size = sizeof x->req;
    x->req.method = method;
    x->req.url = x->url;
}

static void hctx_free(hctx *x) { free(x->body); }

static int h_response(void *ud, int status, const rk_http_header *h, size_t n)
{
    hctx *x = ud;
    size_t off = 0;
    x->responses++;
    x->http_status = status;
    x->n_headers = n;
    for (size_t i = 0; i < n && off < sizeof x->hdrs; i++) {
        int w = snprintf(x->hdrs + off, sizeof x->hdrs - off, "%s: %s\n", h[i].name,
                         h[i].value);
        if (w < 0) break;
        off += (size_t)w;
    }
    return 0;
}

static int h_body(void *ud, const char *data, size_t len)
{
    hctx *x = ud;
    x->body_calls++;
    if (x->blen + len + 1 > x->bcap) {
        size_t cap = (x->blen + len + 1) * 2;
        char *b = realloc(x->body, cap);
        if (!b) return 1;
        x->body = b;
        x->bcap = cap;
    }
    memcpy(x->body + x->blen, data, len);
    x->blen += len;
    x->body[x->blen] = '\0';
    if (x->pause_in_body && x->body_calls == 1) upstream_http_pause(loop_current(), x->call, 1);
    return x->abort_in_body;
}

static void h_done(void *ud, int status, const char *msg)
{
    hctx *x = ud;
    x->dones++;
    x->done_status = status;
    snprintf(x->done_msg, sizeof x->done_msg, "%s", msg ? msg : "");
    x->t_done = clock_now_ms();
    signal_one();
}

static const rk_http_handler H = {sizeof(rk_http_handler), h_response, h_body, h_done};

static void h_start(void *ud)
{
    hctx *x = ud;
    rk_err err = {{0}};
    x->t_start = clock_now_ms();
    if (x->deadline_rel > 0) x->req.deadline_ms = x->t_start + x->deadline_rel;
    if (x->idle_ms > 0) x->req.idle_ms = x->idle_ms;
    if (!(x->call = upstream_http_start(loop_current(), &x->req, &H, x, &err))) {
        x->start_failed = 1;
        snprintf(x->start_err, sizeof x->start_err, "%s", err.msg);
        signal_one();
    }
}

/* Start one call and wait until it is done (or refused at start). */
static void run(hctx *x, int timeout_ms)
{
    wait_reset();
    ck_assert_int_eq(loop_post(L, h_start, x), RK_OK);
    ck_assert_msg(wait_for(1, timeout_ms), "%s: no on_done within %d ms", x->url,
                  timeout_ms);
    ck_assert_msg(!x->start_failed, "http_start: %s", x->start_err);
}

/* A call that must end with RK_OK, `status` and exactly `body`. */
static void expect_ok(hctx *x, int status, const char *body)
{
    ck_assert_msg(x->done_status == RK_OK, "%s: on_done %d (%s)", x->url, x->done_status,
                  x->done_msg);
    ck_assert_int_eq(x->dones, 1);
    ck_assert_int_eq(x->responses, 1);
    ck_assert_int_eq(x->http_status, status);
    ck_assert_uint_eq(x->blen, strlen(body));
    ck_assert_str_eq(x->blen ? x->body : "", body);
}

/* GET path, expecting RK_OK, `status` and `body`. */
static void get_ok(const char *path, int status, const char *body)
{
    hctx x;
    hctx_init(&x, "GET", path);
    run(&x, 5000);
    expect_ok(&x, status, body);
    hctx_free(&x);
}

/* GET path, expecting on_done(`want`) after `responses` on_response calls. */
static void get_fails(const char *path, int want, int responses)
{
    hctx x;
    hctx_init(&x, "GET", path);
    run(&x, 5000);
    ck_assert_msg(x.done_status == want, "%s: on_done %d (%s), want %d", path,
                  x.done_status, x.done_msg, want);
    ck_assert_int_eq(x.dones, 1);
    ck_assert_int_eq(x.responses, responses);
    hctx_free(&x);
}

static const rs_req *req_at(int i)
{
    const rs_req *r = rawsrv_req(&S, i);
    ck_assert_msg(r != NULL, "request %d never reached the server", i);
    return r;
}

/* Assert that request i has this request line. */
static void expect_line(int i, const char *line)
{
    const char *head = req_at(i)->head, *eol = strstr(head, "\r\n");
    size_t n = eol ? (size_t)(eol - head) : strlen(head);
    ck_assert_msg(n == strlen(line) && strncmp(head, line, n) == 0,
                  "request %d line '%.*s', want '%s'", i, (int)n, head, line);
}

static void expect_hdr(int i, const char *name, const char *value)
{
    char v[512];
    rs_header(req_at(i)->head, name, v, sizeof v);
    ck_assert_msg(strcmp(v, value) == 0, "request %d %s: '%s', want '%s'", i, name, v, value);
}

/* Script steps: answer and keep the connection open, or answer (NULL:
 * nothing) and then close it with a FIN (RS_CLOSE) or a RST (RS_RST). */
#define KEEP(r) {.resp = (r), .after = RS_KEEP}
#define END(r, how) {.resp = (r), .after = (how)}
#define OK2 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
#define CHUNKED                                                                    \
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n"              \
    "5;x=y\r\nhello\r\nA\r\n0123456789\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n"    \
    "0\r\nX-Trailer: t\r\n\r\n"
#define CHUNKED_BODY "hello0123456789abcdefghijklmnopqrstuvwxyz"

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
    Suite *s = suite_create("httpc");
    ph_add_tcase(s, "request", 60, setup, teardown,
                 PH_TESTS(request_line_host_query_headers, request_bodies_and_content_length,
                          header_crlf_refused_at_start, large_body_sent_completely));
    ph_add_tcase(s, "framing", 60, setup, teardown,
                 PH_TESTS(chunked_body, chunked_one_byte_writes, close_delimited_body,
                          no_body_head_204_304, interim_1xx_skipped,
                          connection_close_not_reused, http10_not_reused,
                          extra_bytes_not_reused));
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
