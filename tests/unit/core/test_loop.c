/*
 * test_loop — the event loop (loop_fixture.h): timer order and
 * cancellation, a zero timer on the next turn, posts from many threads,
 * stopping with posts queued, and several loops at once: own posts without
 * a wakeup, fd watches, handles used on the wrong loop, the host's loop
 * slots. Upstream HTTP on the loop is test_loop_http and
 * test_upstream_http_cancel.
 */
#include "loop_fixture.h"

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
    suite_add_tcase(s, tc);
    suite_add_tcase(s, multi_tcase());
    return s;
}

int main(void) { return ph_run_suite(suite()); }
