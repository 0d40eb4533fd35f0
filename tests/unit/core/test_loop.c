/*
 * test_loop — the event loop against a real HTTP server (testsrv.h) on
 * 127.0.0.1: timer order and cancellation, posts from many threads, and
 * upstream HTTP calls: bodies, headers, refused connections, the three
 * deadlines, cancellation from inside callbacks, 200 concurrent calls and
 * stopping with calls in flight. Callbacks run on the loop thread, so they
 * only record what happened; assertions run on the test thread.
 */
#define _GNU_SOURCE
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>

#include "hostapi.h"
#include "loop.h"
#include "upstream.h"
#include "loop_internal.h"
#include "loopset.h"
#include "testsrv.h"

static loop *L;
static testsrv S;

/* ---- waiting for the loop thread ---------------------------------------- */

static pthread_mutex_t wmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wcv = PTHREAD_COND_INITIALIZER;
static int wcount;

static void signal_one(void)
{
    pthread_mutex_lock(&wmu);
    wcount++;
    pthread_cond_broadcast(&wcv);
    pthread_mutex_unlock(&wmu);
}

static int wait_for(int n, int timeout_ms)
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

static void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void setup(void)
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
static void setup_libcurl(void)
{
    setup();
    upstream_set_builtin(L, 0);
}

static void teardown(void)
{
    loop_free(L);
    L = NULL;
    testsrv_stop(&S);
}

/* ---- timers ------------------------------------------------------------- */

typedef struct tinfo {
    int id;
    int64_t delay;
    rk_timer *h;
} tinfo;

static int order[16], norder, in_start, reentered, early;
static int64_t t0;
static tinfo T[8];

static void tfire(void *ud)
{
    tinfo *t = ud;
    if (in_start) reentered = 1;
    if (clock_now_ms() - t0 < t->delay) early = 1;
    order[norder++] = t->id;
    signal_one();
}

static void start_six(void *ud)
{
    static const int64_t delays[6] = {50, 10, 30, 0, 20, 10};
    (void)ud;
    t0 = clock_now_ms();
    for (int i = 0; i < 6; i++) {
        T[i] = (tinfo){i, delays[i], NULL};
        in_start = 1;
        T[i].h = loop_timer_start(loop_current(), delays[i], tfire, &T[i]);
        in_start = 0;
    }
}

START_TEST(timers_fire_in_order)
{
    norder = reentered = early = 0;
    ck_assert_int_eq(loop_post(L, start_six, NULL), RK_OK);
    ck_assert(wait_for(6, 5000));
    static const int want[6] = {3, 1, 5, 4, 2, 0}; /* by delay, ties FIFO */
    for (int i = 0; i < 6; i++) ck_assert_int_eq(order[i], want[i]);
    ck_assert_int_eq(reentered, 0);
    ck_assert_int_eq(early, 0);
}
END_TEST

/* A(20) cancels B(40); C(60) is cancelled at once; D(30) starts E(10) and
 * then cancels the stale handles of A, B and D, one of whose slots E now
 * occupies: E must still fire. */
static void fire_a(void *ud)
{
    tfire(ud);
    loop_timer_cancel(loop_current(), T[1].h);
    loop_timer_cancel(loop_current(), T[0].h); /* itself, already fired */
}

static void fire_d(void *ud)
{
    tfire(ud);
    T[4] = (tinfo){4, 0, NULL};
    T[4].h = loop_timer_start(loop_current(), 10, tfire, &T[4]);
    for (int i = 0; i < 4; i++) loop_timer_cancel(loop_current(), T[i].h);
}

static void start_cancel(void *ud)
{
    loop *l = loop_current();
    (void)ud;
    t0 = clock_now_ms();
    T[0] = (tinfo){0, 20, loop_timer_start(l, 20, fire_a, &T[0])};
    T[1] = (tinfo){1, 40, loop_timer_start(l, 40, tfire, &T[1])};
    T[2] = (tinfo){2, 60, loop_timer_start(l, 60, tfire, &T[2])};
    T[3] = (tinfo){3, 30, loop_timer_start(l, 30, fire_d, &T[3])};
    T[5] = (tinfo){5, 150, loop_timer_start(l, 150, tfire, &T[5])};
    loop_timer_cancel(l, T[2].h);
}

START_TEST(timers_cancel)
{
    norder = 0;
    ck_assert_int_eq(loop_post(L, start_cancel, NULL), RK_OK);
    ck_assert(wait_for(4, 5000));
    msleep(50);
    ck_assert_int_eq(norder, 4);
    ck_assert_int_eq(order[0], 0);
    ck_assert_int_eq(order[1], 3);
    ck_assert_int_eq(order[2], 4);
    ck_assert_int_eq(order[3], 5);
}
END_TEST

/* A timer that re-arms itself with 0 ms must leave room for posts: each
 * re-arm waits for the next turn. */
static atomic_int post_ran;
static long spins;

static void spin(void *ud)
{
    (void)ud;
    if (atomic_load(&post_ran) || ++spins >= 2000000) {
        signal_one();
        return;
    }
    loop_timer_start(loop_current(), 0, spin, NULL);
}

static void mark_post(void *ud)
{
    (void)ud;
    atomic_store(&post_ran, 1);
}

START_TEST(timer_zero_is_next_turn)
{
    spins = 0;
    atomic_store(&post_ran, 0);
    ck_assert_int_eq(loop_post(L, spin, NULL), RK_OK);
    msleep(20);
    ck_assert_int_eq(loop_post(L, mark_post, NULL), RK_OK);
    ck_assert(wait_for(1, 20000));
    ck_assert_int_eq(atomic_load(&post_ran), 1);
    ck_assert_int_lt(spins, 2000000);
}
END_TEST

/* ---- posts -------------------------------------------------------------- */

#define POSTERS 4
#define PER_POSTER 250
static int last_seq[POSTERS], out_of_order, not_on_loop, ran;

typedef struct pitem {
    int thread, seq;
} pitem;
static pitem items[POSTERS][PER_POSTER];

static void on_item(void *ud)
{
    pitem *p = ud;
    if (loop_current() != L) not_on_loop = 1;
    if (p->seq != last_seq[p->thread] + 1) out_of_order = 1;
    last_seq[p->thread] = p->seq;
    if (++ran == POSTERS * PER_POSTER) signal_one();
}

static void *poster(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = 0; i < PER_POSTER; i++) {
        items[t][i] = (pitem){t, i};
        if (loop_post(L, on_item, &items[t][i]) != RK_OK) return (void *)1;
    }
    return NULL;
}

START_TEST(posts_from_threads)
{
    pthread_t th[POSTERS];
    ran = out_of_order = not_on_loop = 0;
    for (int i = 0; i < POSTERS; i++) last_seq[i] = -1;
    for (int i = 0; i < POSTERS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, poster, (void *)(intptr_t)i), 0);
    for (int i = 0; i < POSTERS; i++) {
        void *rv;
        pthread_join(th[i], &rv);
        ck_assert_ptr_null(rv);
    }
    ck_assert(wait_for(1, 10000));
    ck_assert_int_eq(ran, POSTERS * PER_POSTER);
    ck_assert_int_eq(out_of_order, 0);
    ck_assert_int_eq(not_on_loop, 0);
    ck_assert_ptr_null(loop_current());
}
END_TEST

static atomic_int slow_ran;
static void slow_item(void *ud)
{
    msleep((long)(intptr_t)ud);
    atomic_fetch_add(&slow_ran, 1);
}

START_TEST(stop_runs_queued_posts)
{
    atomic_store(&slow_ran, 0);
    ck_assert_int_eq(loop_post(L, slow_item, (void *)(intptr_t)50), RK_OK);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(loop_post(L, slow_item, (void *)(intptr_t)0), RK_OK);
    loop_stop(L);
    ck_assert_int_eq(atomic_load(&slow_ran), 101);
    ck_assert_int_eq(loop_post(L, slow_item, NULL), RK_ERR_UNAVAILABLE);
}
END_TEST

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

static void hctx_init(hctx *x, const char *path)
{
    memset(x, 0, sizeof *x);
    snprintf(x->url, sizeof x->url, "http://127.0.0.1:%d%s", S.port, path);
    x->req.struct_size = sizeof x->req;
    x->req.method = "GET";
    x->req.url = x->url;
}

static void hctx_free(hctx *x) { free(x->body); }

static void copy_hdr(char *out, size_t cap, const rk_http_header *h, size_t n,
                     const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(h[i].name, name) == 0) snprintf(out, cap, "%s", h[i].value);
}

static int h_response(void *ud, int status, const rk_http_header *h, size_t n)
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

static int h_body(void *ud, const char *data, size_t len)
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

static void h_done(void *ud, int status, const char *msg)
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

static void h_start(void *ud)
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
static void run_one(hctx *x, int timeout_ms)
{
    wcount = 0;
    ck_assert_int_eq(loop_post(L, h_start, x), RK_OK);
    ck_assert_msg(wait_for(1, timeout_ms), "no callback within %d ms", timeout_ms);
    ck_assert_msg(!x->start_failed, "http_start: %s", x->start_err);
}

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
    tcase_add_test(tc, http_cancel_in_body);
    tcase_add_test(tc, http_cancel_in_response);
    tcase_add_test(tc, http_cancel_from_timer);
    tcase_add_test(tc, http_abort_by_callback);
    tcase_add_test(tc, http_200_concurrent);
    tcase_add_test(tc, http_stop_cancels_in_flight);
    tcase_add_test(tc, http_keepalive_reuse);
}

/* ---- several loops: own posts, fd watches, handles, the host slots ------ */

static loop *A, *B;
static int pa[2], pb[2];
static atomic_int fired_a, fired_b, wrong_thread;
static rk_watch *wa, *wb;

static void multi_setup(void)
{
    rk_err err = {{0}};
    wcount = 0;
    atomic_store(&fired_a, 0);
    atomic_store(&fired_b, 0);
    atomic_store(&wrong_thread, 0);
    A = upstream_loop_new(&err);
    B = upstream_loop_new(&err);
    ck_assert(A && B);
    loop_set_index(B, 1);
    ck_assert_int_eq(loop_start(A, &err), RK_OK);
    ck_assert_int_eq(loop_start(B, &err), RK_OK);
    loop *both[2] = {A, B};
    hostapi_set_runtime(A, NULL);
    loopset_set(both, 2);
    ck_assert_int_eq(pipe2(pa, O_NONBLOCK), 0);
    ck_assert_int_eq(pipe2(pb, O_NONBLOCK), 0);
}

static void multi_teardown(void)
{
    hostapi_set_runtime(NULL, NULL);
    loop_free(A);
    loop_free(B);
    for (int i = 0; i < 2; i++) close(pa[i]), close(pb[i]);
}

/* A post from the loop's own thread runs in the same turn, before the loop
 * sleeps again: a 1 s timer armed first must not delay it. */
static int64_t posted_at;
static void own_post_ran(void *ud)
{
    (void)ud;
    if (loop_current() != A) atomic_store(&wrong_thread, 1);
    if (clock_now_ms() - posted_at > 500) atomic_store(&wrong_thread, 2);
    signal_one();
}

static void post_to_self(void *ud)
{
    (void)ud;
    loop_timer_start(A, 1000, mark_post, NULL);
    posted_at = clock_now_ms();
    ck_assert_int_eq(loop_post(A, own_post_ran, NULL), RK_OK);
}

START_TEST(own_posts_run_without_wakeup)
{
    ck_assert_int_eq(loop_post(A, post_to_self, NULL), RK_OK);
    ck_assert(wait_for(1, 2000));
    ck_assert_int_eq(atomic_load(&wrong_thread), 0);
}
END_TEST

/* The watch fires on its loop while the pipe is readable; after
 * fd_unwatch (here from inside the callback) nothing more comes. */
static void on_pipe_a(void *ud, uint32_t rev)
{
    char c;
    (void)ud;
    if (loop_current() != A || rev != RK_WATCH_READ) atomic_store(&wrong_thread, 1);
    while (read(pa[0], &c, 1) == 1) {
    }
    if (atomic_fetch_add(&fired_a, 1) == 1) hostapi_table()->fd_unwatch(wa);
    signal_one();
}

static void watch_a(void *ud)
{
    (void)ud;
    wa = hostapi_table()->fd_watch(pa[0], RK_WATCH_READ, on_pipe_a, NULL);
    signal_one();
}

START_TEST(fd_watch_fires_until_unwatched)
{
    ck_assert_ptr_null(hostapi_table()->fd_watch(pa[0], RK_WATCH_READ, on_pipe_a, NULL));
    ck_assert_int_eq(hostapi_table()->run_on_loop_n(0, watch_a, NULL), RK_OK);
    ck_assert(wait_for(1, 2000));
    ck_assert_ptr_nonnull(wa);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(write(pa[1], "x", 1), 1);
        if (i < 2) ck_assert(wait_for(2 + i, 2000));
        else msleep(100);
    }
    ck_assert_int_eq(atomic_load(&fired_a), 2);
    ck_assert_int_eq(atomic_load(&wrong_thread), 0);
}
END_TEST

/* Two fds ready in one epoll batch, each callback unwatching the other:
 * exactly one runs, and the unwatched one is not touched (ASan would see). */
static void on_either(void *ud, uint32_t rev)
{
    (void)rev;
    atomic_fetch_add(ud == &pa ? &fired_a : &fired_b, 1);
    loop_unwatch(A, ud == &pa ? wb : wa);
    loop_unwatch(A, ud == &pa ? wa : wb);
    signal_one();
}

static void watch_both(void *ud)
{
    (void)ud;
    rk_err err;
    wa = loop_watch(A, pa[0], RK_WATCH_READ, on_either, &pa, &err);
    wb = loop_watch(A, pb[0], RK_WATCH_READ, on_either, &pb, &err);
}

START_TEST(unwatch_within_one_batch)
{
    ck_assert_int_eq(write(pa[1], "x", 1), 1);
    ck_assert_int_eq(write(pb[1], "x", 1), 1);
    ck_assert_int_eq(loop_post(A, watch_both, NULL), RK_OK);
    ck_assert(wait_for(1, 2000));
    msleep(100);
    ck_assert_int_eq(atomic_load(&fired_a) + atomic_load(&fired_b), 1);
}
END_TEST

/* libcurl may ask to stop watching a socket it closed long ago; by then
 * the number can be a live socket of someone else on the loop (here a
 * plugin's watched pipe). The late remove must leave that watch alone. */
static void on_pipe_stale(void *ud, uint32_t rev)
{
    char c;
    (void)ud;
    (void)rev;
    while (read(pa[0], &c, 1) == 1) {
    }
    atomic_fetch_add(&fired_a, 1);
    signal_one();
}

static void watch_then_stale_remove(void *ud)
{
    (void)ud;
    rk_err err;
    wa = loop_watch(A, pa[0], RK_WATCH_READ, on_pipe_stale, NULL, &err);
    upstream_curl_socket(A, pa[0], CURL_POLL_REMOVE);
    signal_one();
}

START_TEST(stale_curl_remove_keeps_live_watch)
{
    ck_assert_int_eq(loop_post(A, watch_then_stale_remove, NULL), RK_OK);
    ck_assert(wait_for(1, 2000));
    ck_assert_ptr_nonnull(wa);
    ck_assert_int_eq(write(pa[1], "x", 1), 1);
    ck_assert_msg(wait_for(2, 5000), "the watch was dropped by a stale libcurl remove");
    ck_assert_int_eq(atomic_load(&fired_a), 1);
}
END_TEST

/* A timer handle names its loop: cancelling it on another loop is refused
 * and the timer still fires where it was made. */
static rk_timer *tb;
static void fire_b(void *ud)
{
    (void)ud;
    if (loop_current() != B) atomic_store(&wrong_thread, 1);
    atomic_store(&fired_b, 1);
    signal_one();
}
static void arm_b(void *ud)
{
    (void)ud;
    tb = loop_timer_start(B, 100, fire_b, NULL);
    signal_one();
}
static void cancel_on_a(void *ud)
{
    (void)ud;
    loop_timer_start(A, 5000, mark_post, NULL); /* A has a slot tb's could name */
    loop_timer_cancel(A, tb);
    signal_one();
}

START_TEST(timer_cancel_on_wrong_loop_refused)
{
    ck_assert_int_eq(loop_post(B, arm_b, NULL), RK_OK);
    ck_assert(wait_for(1, 2000));
    ck_assert_int_eq(loop_timer_index(tb), 1);
    ck_assert_int_eq(loop_post(A, cancel_on_a, NULL), RK_OK);
    ck_assert(wait_for(3, 2000));
    ck_assert_int_eq(atomic_load(&fired_b), 1);
    ck_assert_int_eq(atomic_load(&wrong_thread), 0);
}
END_TEST

/* The host slots: count, posting by index, the loop a chat goes to, names. */
static loop *chat_loop;
static char tname[16];
static void on_b(void *ud)
{
    (void)ud;
    chat_loop = loopset_for_chat();
    pthread_getname_np(pthread_self(), tname, sizeof tname);
    signal_one();
}

START_TEST(host_loop_slots)
{
    const rk_host *h = hostapi_table();
    ck_assert(RK_HAS_FIELD(h, rk_host, fd_unwatch));
    ck_assert_int_eq(h->loop_count(), 2);
    ck_assert_int_eq(h->run_on_loop_n(2, on_b, NULL), RK_ERR_INVALID);
    ck_assert_int_eq(h->run_on_loop_n(-1, on_b, NULL), RK_ERR_INVALID);
    ck_assert_int_eq(h->run_on_loop_n(1, on_b, NULL), RK_OK);
    ck_assert(wait_for(1, 2000));
    ck_assert_ptr_eq(chat_loop, B); /* a loop thread keeps its chats */
    ck_assert_str_eq(tname, "rk-loop-1");
    loop *x = loopset_for_chat(), *y = loopset_for_chat();
    ck_assert(x != y && (x == A || x == B) && (y == A || y == B));
    loop_stop(B); /* a stopped loop takes no more work */
    ck_assert_int_eq(h->run_on_loop_n(1, on_b, NULL), RK_ERR_UNAVAILABLE);
}
END_TEST

static TCase *multi_tcase(void)
{
    TCase *tc = tcase_create("loops");
    tcase_add_checked_fixture(tc, multi_setup, multi_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, own_posts_run_without_wakeup);
    tcase_add_test(tc, fd_watch_fires_until_unwatched);
    tcase_add_test(tc, unwatch_within_one_batch);
    tcase_add_test(tc, stale_curl_remove_keeps_live_watch);
    tcase_add_test(tc, timer_cancel_on_wrong_loop_refused);
    tcase_add_test(tc, host_loop_slots);
    return tc;
}

static Suite *suite(void)
{
    Suite *s = suite_create("loop");
    TCase *tc = tcase_create("loop");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, timers_fire_in_order);
    tcase_add_test(tc, timers_cancel);
    tcase_add_test(tc, timer_zero_is_next_turn);
    tcase_add_test(tc, posts_from_threads);
    tcase_add_test(tc, stop_runs_queued_posts);
    add_http_tests(tc);
    suite_add_tcase(s, tc);
    TCase *curl = tcase_create("libcurl");
    tcase_add_checked_fixture(curl, setup_libcurl, teardown);
    tcase_set_timeout(curl, 120);
    add_http_tests(curl);
    suite_add_tcase(s, curl);
    suite_add_tcase(s, multi_tcase());
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
