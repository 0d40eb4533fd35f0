/*
 * httpc_fixture — what the httpc tests share: a loop and a scripted raw
 * TCP server (rawsrv.h) per test, one recorded call (hctx) whose callbacks
 * run on the loop thread and only record, waits with timeouts, and the
 * assertions on what the server received. Header-only, as rawsrv.h is:
 * each test program compiles its own copy.
 */
#ifndef RK_TEST_HTTPC_FIXTURE_H
#define RK_TEST_HTTPC_FIXTURE_H

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

static inline void signal_one(void)
{
    pthread_mutex_lock(&W.mu);
    wcount++;
    ph_cond_broadcast(&W);
    pthread_mutex_unlock(&W.mu);
}

static inline void wait_reset(void)
{
    pthread_mutex_lock(&W.mu);
    wcount = 0;
    pthread_mutex_unlock(&W.mu);
}

static inline int reached(const void *n) { return wcount >= *(const int *)n; }
static inline int wait_for(int n, int timeout_ms) { return ph_cond_wait(&W, reached, &n, timeout_ms); }

static inline void setup(void)
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
static inline void teardown(void)
{
    loop_free(L);
    L = NULL;
    rawsrv_stop(&S);
    ph_cond_destroy(&W);
}

static inline void serve(const rs_step *steps, int n)
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

static inline void hctx_init(hctx *x, const char *method, const char *path)
{
    memset(x, 0, sizeof *x);
    snprintf(x->url, sizeof x->url, "http://127.0.0.1:%d%s", S.port, path);
    x->req.struct_size = sizeof x->req;
    x->req.method = method;
    x->req.url = x->url;
}

static inline void hctx_free(hctx *x) { free(x->body); }

static inline int h_response(void *ud, int status, const rk_http_header *h, size_t n)
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

static inline int h_body(void *ud, const char *data, size_t len)
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

static inline void h_done(void *ud, int status, const char *msg)
{
    hctx *x = ud;
    x->dones++;
    x->done_status = status;
    snprintf(x->done_msg, sizeof x->done_msg, "%s", msg ? msg : "");
    x->t_done = clock_now_ms();
    signal_one();
}

static const rk_http_handler H = {sizeof(rk_http_handler), h_response, h_body, h_done};

static inline void h_start(void *ud)
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
static inline void run(hctx *x, int timeout_ms)
{
    wait_reset();
    ck_assert_int_eq(loop_post(L, h_start, x), RK_OK);
    ck_assert_msg(wait_for(1, timeout_ms), "%s: no on_done within %d ms", x->url,
                  timeout_ms);
    ck_assert_msg(!x->start_failed, "http_start: %s", x->start_err);
}

/* A call that must end with RK_OK, `status` and exactly `body`. */
static inline void expect_ok(hctx *x, int status, const char *body)
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
static inline void get_ok(const char *path, int status, const char *body)
{
    hctx x;
    hctx_init(&x, "GET", path);
    run(&x, 5000);
    expect_ok(&x, status, body);
    hctx_free(&x);
}

/* GET path, expecting on_done(`want`) after `responses` on_response calls. */
static inline void get_fails(const char *path, int want, int responses)
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

static inline const rs_req *req_at(int i)
{
    const rs_req *r = rawsrv_req(&S, i);
    ck_assert_msg(r != NULL, "request %d never reached the server", i);
    return r;
}

/* Assert that request i has this request line. */
static inline void expect_line(int i, const char *line)
{
    const char *head = req_at(i)->head, *eol = strstr(head, "\r\n");
    size_t n = eol ? (size_t)(eol - head) : strlen(head);
    ck_assert_msg(n == strlen(line) && strncmp(head, line, n) == 0,
                  "request %d line '%.*s', want '%s'", i, (int)n, head, line);
}

static inline void expect_hdr(int i, const char *name, const char *value)
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

#endif
