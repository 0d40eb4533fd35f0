/*
 * loop — one event-loop thread owning an epoll set, an eventfd for
 * cross-thread wakeups and a binary min-heap of one-shot timers. The loop
 * knows nothing of HTTP: the upstream client that shares the thread
 * (net/upstream.c) attaches itself as the loop's part and registers its
 * sockets and timers through loop_internal.h, and plugins reach the epoll
 * set through fd watches. Keeping every wait in one epoll_wait is what
 * lets thousands of slow upstream streams cost no thread each; a process
 * runs one such loop per core, and work stays on the loop it started on.
 * Timers are handed out as (generation, slot) handles rather than pointers
 * so that cancelling a timer that already fired is a harmless no-op
 * (theap.c). Posts from other threads go through a mutex-guarded queue
 * that the loop takes out whole (postq.c), so a steady stream of posts
 * allocates nothing; posts from the
 * loop's own thread skip the mutex and the eventfd, since the thread is
 * awake and runs them before it next sleeps. An epoll event names either a
 * raw fd of the attached part (its number, tagged) or a watch (its pointer),
 * so neither needs a lookup.
 */
#define _GNU_SOURCE
#include "loop.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop_internal.h"
#include "postq.h"
#include "theap.h"

#define MAX_EVENTS 256
/* epoll data: a watch pointer (8-aligned, low bits 0) or a tagged fd */
#define EV_FD_TAG 1u
#define EV_FD(fd) (((uint64_t)(uint32_t)(fd) << 2) | EV_FD_TAG)

_Static_assert(sizeof(uintptr_t) >= 8, "timer handles pack 64 bits");
/* handle = gen << 32 | loop index << SLOT_BITS | (slot + 1): a handle names
 * its loop, so one cancelled on another loop is refused, not misapplied */
#define SLOT_BITS THEAP_SLOT_BITS
#define INDEX_MASK (0x3fu) /* 64 loops */

struct rk_watch {
    loop *l;
    int fd;
    int dead;             /* unwatched during a turn: freed after it */
    uint32_t events;      /* RK_WATCH_* asked for */
    void (*fn)(void *ud, uint32_t revents);
    void *ud;
    struct rk_watch *next_dead;
};

struct loop {
    int epfd, evfd;
    int index;
    pthread_t thread;
    int started, joined, shut;
    pthread_mutex_t mu; /* guards posts */
    atomic_int stopping;
    postq posts;          /* from other threads, under mu */
    postq mine;           /* from the loop's own thread: no lock */
    int in_events;        /* dispatching an epoll batch: defer watch frees */
    rk_watch *dead;
    theap timers;
    loop_part part;       /* the upstream HTTP client (net/upstream.c) */
    struct epoll_event evs[MAX_EVENTS];
};

static __thread loop *tl_current;
static __thread int64_t tl_now_us; /* the clock as of this turn */

static int64_t clock_real_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A loop thread reads the clock once per step of its turn (as nginx and
 * libuv do): a request asks for the time a dozen times, and every answer
 * within one step is the same to a deadline. Other threads read it live. */
int64_t loop_clock_us(void) { return tl_current ? tl_now_us : clock_real_us(); }

static void clock_refresh(void) { tl_now_us = clock_real_us(); }

int64_t clock_now_ms(void) { return loop_clock_us() / 1000; }

int64_t clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timespec clock_mono_after(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

loop *loop_current(void) { return tl_current; }

int loop_index(const loop *l) { return l ? l->index : 0; }

void loop_set_index(loop *l, int index)
{
    if (l && !l->started && index >= 0) l->index = index & (int)INDEX_MASK;
}

/* Loop-only calls from another thread while the loop runs would race on
 * unlocked state: refuse them loudly rather than corrupt the loop. */
int loop_on_thread(const loop *l, const char *what)
{
    if (tl_current == l || !l->started || l->joined) return 1;
    log_error("loop", "%s called outside the loop thread; refused", what);
    return 0;
}

/* ---- timers (theap.c) ---------------------------------------------------- */

rk_timer *loop_timer_at(loop *l, int64_t due_us, void (*fn)(void *ud), void *ud)
{
    uint64_t h = theap_add(&l->timers, due_us, fn, ud);
    if (!h) return NULL;
    uint64_t idx = ((uint64_t)l->index & INDEX_MASK) << SLOT_BITS;
    return (rk_timer *)(uintptr_t)(h | idx);
}

int loop_timer_index(const rk_timer *t)
{
    return (int)(((uint64_t)(uintptr_t)t >> SLOT_BITS) & INDEX_MASK);
}

rk_timer *loop_timer_start(loop *l, int64_t delay_ms, void (*fn)(void *ud),
                           void *ud)
{
    if (!l || !fn || !loop_on_thread(l, "timer_start")) return NULL;
    if (delay_ms < 0) delay_ms = 0;
    if (delay_ms > INT64_MAX / 4000) delay_ms = INT64_MAX / 4000; /* "never" */
    return loop_timer_at(l, loop_clock_us() + delay_ms * 1000, fn, ud);
}

void loop_timer_cancel(loop *l, rk_timer *t)
{
    if (!l || !t || !loop_on_thread(l, "timer_cancel")) return;
    if (loop_timer_index(t) != (l->index & (int)INDEX_MASK)) {
        log_error("loop", "timer_cancel on loop %d for a timer of loop %d; refused",
                  l->index, loop_timer_index(t));
        return;
    }
    theap_cancel(&l->timers, (uint64_t)(uintptr_t)t);
}

/* Fire what is due, but only timers that existed when this pass began: a
 * callback that starts a 0 ms timer gets it on the next turn, after I/O. */
static void timers_run(loop *l)
{
    uint64_t pass = theap_seq(&l->timers);
    int64_t now = loop_clock_us();
    void (*fn)(void *);
    void *ud;
    while (theap_pop_due(&l->timers, now, pass, &fn, &ud)) fn(ud);
}

static int timers_wait_ms(const loop *l)
{
    if (l->mine.n > 0) return 0; /* own posts wait: do not sleep */
    int64_t due = theap_next_due(&l->timers);
    if (due < 0) return -1;
    int64_t d = due - loop_clock_us();
    if (d <= 0) return 0;
    d = (d + 999) / 1000; /* round up: never wake before the deadline */
    return d > INT_MAX ? INT_MAX : (int)d;
}

/* ---- posts ---------------------------------------------------------------- */

static void wake(loop *l)
{
    uint64_t one = 1;
    while (write(l->evfd, &one, sizeof one) < 0 && errno == EINTR) {
    }
}

/* Posts go into a growable array under the mutex; the loop swaps it with
 * its own (empty) array and runs the items outside the lock. A post from
 * the loop's own thread needs neither the lock nor a wakeup. */
int loop_post(loop *l, void (*fn)(void *ud), void *ud)
{
    if (!l || !fn) return RK_ERR_INVALID;
    if (tl_current == l) {
        if (atomic_load(&l->stopping)) return RK_ERR_UNAVAILABLE;
        return postq_push(&l->mine, fn, ud);
    }
    pthread_mutex_lock(&l->mu);
    if (atomic_load(&l->stopping)) {
        pthread_mutex_unlock(&l->mu);
        return RK_ERR_UNAVAILABLE;
    }
    int rc = postq_push(&l->posts, fn, ud);
    /* the loop takes the whole array at once, so only the first post after
     * that needs to wake it */
    int first = rc == RK_OK && l->posts.n == 1;
    pthread_mutex_unlock(&l->mu);
    if (first) wake(l);
    return rc;
}

static size_t posts_run(loop *l)
{
    pthread_mutex_lock(&l->mu);
    postq_batch b = postq_take(&l->posts);
    pthread_mutex_unlock(&l->mu);
    size_t n = postq_run(&l->posts, b);
    /* own posts made by these items run in this same pass */
    return n + postq_run(&l->mine, postq_take(&l->mine));
}

/* A post that only says "the loop got here": everything posted before it,
 * plugin code included, has returned by the time it runs. */
typedef struct sync_latch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
} sync_latch;

static void sync_reached(void *ud)
{
    sync_latch *s = ud;
    pthread_mutex_lock(&s->mu);
    s->done = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void loop_sync(loop *l)
{
    if (!l || tl_current == l) return;
    sync_latch s = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    if (loop_post(l, sync_reached, &s) == RK_OK) {
        pthread_mutex_lock(&s.mu);
        while (!s.done) pthread_cond_wait(&s.cv, &s.mu);
        pthread_mutex_unlock(&s.mu);
    }
    pthread_cond_destroy(&s.cv);
    pthread_mutex_destroy(&s.mu);
}

/* ---- the attached part and its raw fds ----------------------------------- */

int loop_attach(loop *l, const loop_part *p)
{
    if (!l || !p || l->part.on_fd || l->started) return -1;
    l->part = *p;
    return 0;
}

void *loop_part_ud(const loop *l) { return l ? l->part.ud : NULL; }

int loop_fd_watch(loop *l, int fd, uint32_t events, int known)
{
    struct epoll_event ev = {.events = events, .data.u64 = EV_FD(fd)};
    int op = known ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(l->epfd, op, fd, &ev) == 0) return 0;
    /* libcurl can reuse a fd number it closed behind our back */
    op = errno == EEXIST ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(l->epfd, op, fd, &ev) == 0) return 0;
    log_error("loop", "epoll_ctl fd %d: %s", fd, strerror(errno));
    return -1;
}

void loop_fd_unwatch(loop *l, int fd)
{
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL); /* may be closed already */
}

/* ---- fds watched for plugins (rk_host.fd_watch) --------------------------- */

/* The epoll events that stand for RK_WATCH_* bits. */
static uint32_t epoll_bits(uint32_t events)
{
    return (events & RK_WATCH_READ ? EPOLLIN | EPOLLRDHUP : 0) |
           (events & RK_WATCH_WRITE ? EPOLLOUT : 0);
}

rk_watch *loop_watch(loop *l, int fd, uint32_t events,
                     void (*fn)(void *ud, uint32_t revents), void *ud, rk_err *err)
{
    if (!l || fd < 0 || !fn || !(events & (RK_WATCH_READ | RK_WATCH_WRITE))) {
        rk_fail(err, RK_ERR_INVALID, "fd_watch: bad fd, events or callback");
        return NULL;
    }
    if (!loop_on_thread(l, "fd_watch")) {
        rk_fail(err, RK_ERR_INVALID, "fd_watch outside the loop thread");
        return NULL;
    }
    rk_watch *w = calloc(1, sizeof *w);
    if (!w) {
        rk_fail(err, RK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    *w = (rk_watch){.l = l, .fd = fd, .events = events, .fn = fn, .ud = ud};
    struct epoll_event ev = {.events = epoll_bits(events), .data.ptr = w};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        rk_fail(err, RK_ERR_IO, "fd_watch: epoll_ctl fd %d: %s", fd, strerror(errno));
        free(w);
        return NULL;
    }
    return w;
}

int loop_watch_events(loop *l, rk_watch *w, uint32_t events)
{
    if (!l || !w || w->dead || !loop_on_thread(l, "fd_watch")) return -1;
    struct epoll_event ev = {.events = epoll_bits(events), .data.ptr = w};
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev) != 0) {
        log_error("loop", "epoll_ctl fd %d: %s", w->fd, strerror(errno));
        return -1;
    }
    w->events = events;
    return 0;
}

void loop_unwatch(loop *l, rk_watch *w)
{
    if (!l || !w || w->dead || !loop_on_thread(l, "fd_unwatch")) return;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->dead = 1;
    if (!l->in_events) {
        free(w);
        return;
    }
    /* a later event of this batch may still name it */
    w->next_dead = l->dead;
    l->dead = w;
}

loop *loop_watch_loop(const rk_watch *w) { return w ? w->l : NULL; }

static void watch_fire(rk_watch *w, uint32_t ev)
{
    uint32_t r = 0;
    if (w->dead) return;
    if (ev & (EPOLLIN | EPOLLRDHUP)) r |= RK_WATCH_READ;
    if (ev & EPOLLOUT) r |= RK_WATCH_WRITE;
    if (ev & (EPOLLHUP | EPOLLERR)) r |= w->events;
    r &= w->events;
    if (r) w->fn(w->ud, r);
}

/* ---- the thread ---------------------------------------------------------- */

static void loop_turn(loop *l)
{
    clock_refresh();
    int n = epoll_wait(l->epfd, l->evs, MAX_EVENTS, timers_wait_ms(l));
    clock_refresh();
    l->in_events = 1;
    for (int i = 0; i < n; i++) {
        struct epoll_event *ev = &l->evs[i];
        uint64_t d = ev->data.u64;
        if (!(d & EV_FD_TAG)) {
            watch_fire(ev->data.ptr, ev->events);
            continue;
        }
        int fd = (int)(d >> 2);
        if (fd == l->evfd) {
            uint64_t v;
            while (read(l->evfd, &v, sizeof v) < 0 && errno == EINTR) {
            }
            continue;
        }
        if (l->part.on_fd) l->part.on_fd(l->part.ud, fd, ev->events);
    }
    l->in_events = 0;
    while (l->dead) {
        rk_watch *w = l->dead;
        l->dead = w->next_dead;
        free(w);
    }
    posts_run(l);
    clock_refresh();
    timers_run(l);
}

/* Runs on the loop thread (or the stopping thread if it never started). */
static void loop_shutdown(loop *l)
{
    while (posts_run(l) > 0) {
    }
    if (l->part.on_stop) l->part.on_stop(l->part.ud);
    theap_clear(&l->timers);
    l->shut = 1;
}

static void *loop_main(void *arg)
{
    loop *l = arg;
    tl_current = l;
    clock_refresh();
    while (!atomic_load(&l->stopping)) loop_turn(l);
    loop_shutdown(l);
    tl_current = NULL;
    return NULL;
}

loop *loop_new(rk_err *err)
{
    loop *l = calloc(1, sizeof *l);
    if (!l) {
        rk_fail(err, RK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    l->epfd = l->evfd = -1;
    theap_init(&l->timers);
    pthread_mutex_init(&l->mu, NULL);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_FD(l->evfd)};
    if (l->epfd < 0 || l->evfd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev) < 0) {
        rk_fail(err, RK_ERR_IO, "loop: %s", strerror(errno));
        goto fail;
    }
    return l;
fail:
    loop_free(l);
    return NULL;
}

int loop_start(loop *l, rk_err *err)
{
    if (!l || l->started) return rk_fail(err, RK_ERR_INVALID, "loop already started");
    int rc = pthread_create(&l->thread, NULL, loop_main, l);
    if (rc != 0) return rk_fail(err, RK_ERR_IO, "loop thread: %s", strerror(rc));
    char name[16];
    snprintf(name, sizeof name, "rk-loop-%d", l->index % 1000);
    pthread_setname_np(l->thread, name);
    l->started = 1;
    return RK_OK;
}

void loop_stop(loop *l)
{
    if (!l) return;
    if (tl_current == l) {
        log_error("loop", "loop_stop called on its own thread; ignored");
        return;
    }
    pthread_mutex_lock(&l->mu);
    atomic_store(&l->stopping, 1);
    pthread_mutex_unlock(&l->mu);
    if (l->started && !l->joined) {
        wake(l);
        pthread_join(l->thread, NULL);
        l->joined = 1;
    } else if (!l->started && !l->shut) {
        tl_current = l;
        clock_refresh();
        loop_shutdown(l);
        tl_current = NULL;
    }
}

void loop_free(loop *l)
{
    if (!l) return;
    loop_stop(l);
    if (tl_current == l) return; /* refused above; freeing would crash */
    if (l->part.on_free) l->part.on_free(l->part.ud); /* before the epoll set closes */
    postq_free(&l->posts);
    postq_free(&l->mine);
    if (l->epfd >= 0) close(l->epfd);
    if (l->evfd >= 0) close(l->evfd);
    pthread_mutex_destroy(&l->mu);
    theap_free(&l->timers);
    free(l);
}
