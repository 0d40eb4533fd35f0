/*
 * loop_fixture — what the event-loop tests share: a loop and a real HTTP
 * server (testsrv.h) on 127.0.0.1 per case (setup_libcurl: the same with
 * libcurl taking every call, as it does for https and host names), a
 * counter the loop thread signals and the test thread waits on with a
 * timeout, and one recorded upstream call (hctx) whose callbacks run on the
 * loop thread and only record. Header-only: each test program compiles its
 * own copy.
 */
#ifndef RK_TEST_LOOP_FIXTURE_H
#define RK_TEST_LOOP_FIXTURE_H

#define _GNU_SOURCE
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>

#include "hostapi.h"
#include "loop.h"
#include "loop_internal.h"
#include "upstream.h"
#include "loopset.h"
#include "testenv.h"
#include "testsrv.h"

static loop *L;
static testsrv S;

/* ---- waiting for the loop thread ---------------------------------------- */

static pthread_mutex_t wmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wcv = PTHREAD_COND_INITIALIZER;
static int wcount;

static inline void signal_one(void)
{
    pthread_mutex_lock(&wmu);
    wcount++;
    pthread_cond_broadcast(&wcv);
    pthread_mutex_unlock(&wmu);
}

static inline int wait_for(int n, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&wmu);
    while (wcount < n && pthread_cond_timedwait(&wcv, &wmu, &ts) != ETIMEDOUT) {
    }
    int ok = wcount >= n;
    pthread_mutex_unlock(&wmu);
    return ok;
}

static inline void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static inline void setup(void)
{
    rk_err err = {{0}};
    wcount = 0;
    ck_assert_int_eq(testsrv_start(&S), 0);
    L = upstream_loop_new(&err);
    ck_assert_msg(L != NULL, "loop_new: %s", err.msg);
    ck_assert_int_eq(loop_start(L, &err), RK_OK);
}

/* The same http tests once more with libcurl taking every call, as it
 * does for https and host names. */
static inline void setup_libcurl(void)
{
    setup();
    upstream_set_builtin(L, 0);
}

static inline void teardown(void)
{
    loop_free(L);
    L = NULL;
    testsrv_stop(&S);
}

static atomic_int post_ran;

static inline void mark_post(void *ud)
{
    (void)ud;
    atomic_store(&post_ran, 1);
}

/* ---- http --------------------------------------------------------------- */

typedef struct hctx {
    rk_http_request req;
    rk_http_header hdr[1];
    char url[256];
    const char *post_body;  /* sent from a buffer scribbled over after start */
    int64_t deadline_rel;   /* > 0: deadline this many ms after start */
    int64_t deadline_abs;   /* < 0: deadline already passed */
    int cancel_in_body, cancel_in_response, abort_in_body;
    rk_http_call *call;
    int start_failed, in_start, done_in_start, cancelled;
    int responses, body_calls, dones, after_cancel;
    int http_status, done_status;
    char retry_after[32], x_echo[64], x_method[16], x_final[8], start_err[256],
        done_msg[256];
    char *body;
    size_t blen, bcap;
    int64_t t_start, t_done;
} hctx;

static inline void hctx_init(hctx *x, const char *path)
{
    memset(x, 0, sizeof *x);
    snprintf(x->url, sizeof x->url, "http://127.0.0.1:%d%s", S.port, path);
    x->req.struct_size = sizeof x->req;
    x->req.method = "GET";
    x->req.url = x->url;
}

static inline void hctx_free(hctx *x) { free(x->body); }

static inline void copy_hdr(char *out, size_t cap, const rk_http_header *h, size_t n,
                     const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(h[i].name, name) == 0) snprintf(out, cap, "%s", h[i].value);
}

static inline int h_response(void *ud, int status, const rk_http_header *h, size_t n)
{
    hctx *x = ud;
    if (x->cancelled) x->after_cancel++;
    x->responses++;
    x->http_status = status;
    copy_hdr(x->retry_after, sizeof x->retry_after, h, n, "retry-after");
    copy_hdr(x->x_echo, sizeof x->x_echo, h, n, "X-Echo");
    copy_hdr(x->x_method, sizeof x->x_method, h, n, "X-Method");
    copy_hdr(x->x_final, sizeof x->x_final, h, n, "X-Final");
    if (x->cancel_in_response) {
        upstream_http_cancel(loop_current(), x->call);
        x->cancelled = 1;
        signal_one();
    }
    return 0;
}

static inline int h_body(void *ud, const char *data, size_t len)
{
    hctx *x = ud;
    if (x->cancelled) x->after_cancel++;
    x->body_calls++;
    if (x->blen + len + 1 > x->bcap) {
        x->bcap = (x->blen + len + 1) * 2;
        x->body = realloc(x->body, x->bcap);
    }
    memcpy(x->body + x->blen, data, len);
    x->blen += len;
    x->body[x->blen] = '\0';
    if (x->cancel_in_body) {
        upstream_http_cancel(loop_current(), x->call);
        x->cancelled = 1;
        signal_one();
    }
    return x->abort_in_body;
}

static inline void h_done(void *ud, int status, const char *msg)
{
    hctx *x = ud;
    if (x->cancelled) x->after_cancel++;
    if (x->in_start) x->done_in_start = 1;
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
    char body[256];
    x->t_start = clock_now_ms();
    if (x->deadline_rel > 0) x->req.deadline_ms = x->t_start + x->deadline_rel;
    if (x->deadline_abs < 0) x->req.deadline_ms = x->t_start - 1;
    if (x->post_body) {
        snprintf(body, sizeof body, "%s", x->post_body);
        x->req.body = body;
        x->req.body_len = strlen(body);
    }
    x->in_start = 1;
    x->call = upstream_http_start(loop_current(), &x->req, &H, x, &err);
    x->in_start = 0;
    memset(body, 'X', sizeof body); /* the call must own a copy */
    if (!x->call) {
        x->start_failed = 1;
        snprintf(x->start_err, sizeof x->start_err, "%s", err.msg);
        signal_one();
    }
}

/* Start one call and wait for its first signal (done, or a cancel). */
static inline void run_one(hctx *x, int timeout_ms)
{
    wcount = 0;
    ck_assert_int_eq(loop_post(L, h_start, x), RK_OK);
    ck_assert_msg(wait_for(1, timeout_ms), "no callback within %d ms", timeout_ms);
    ck_assert_msg(!x->start_failed, "http_start: %s", x->start_err);
}

#endif
