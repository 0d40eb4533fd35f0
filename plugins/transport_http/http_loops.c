/*
 * http_loops — owns the per-loop libmicrohttpd daemons. Each daemon's epoll
 * fd is watched on the loop that created it (host->fd_watch) and MHD_run is
 * called when it is ready, when MHD's own timeout (MHD_get_timeout) comes
 * due, via a loop timer re-armed after each run, and when a connection was
 * resumed (MHD's external mode does not wake itself for that, so a resume
 * "kicks" the loop). The daemons listen on one address with SO_REUSEPORT
 * and the kernel spreads the connections; the sockets come from the host
 * (the host's "listen" service, one per loop index) so a reload's daemons take
 * over the old ones' sockets and their accept queues. Everything that
 * touches a daemon runs on its own loop: the main thread asks with
 * run_on_loop_n and waits. Why one daemon per loop at all: a request that
 * crosses from an MHD thread to a host loop and back pays two thread
 * wakeups, which cost more than the rest of a proxied request.
 */
#include "http_loops.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "http_wake.h"

struct http_loopd {
    http_wake wake;  /* first: a resumed connection kicks through it */
    http_loops *L;
    int idx;
    struct MHD_Daemon *d;
    rk_watch *w;
    rk_timer *t;
    int64_t due;     /* host ms when t fires; 0 = no timer */
    int lfd;         /* the host's listening socket for ld_start, or -1 */
    atomic_int kick; /* an MHD_run is already on its way */
};

struct http_loops {
    const rk_host *host;
    loops_daemon_ops ops;
    int n;
    http_loopd *ld;
    pthread_mutex_t mu; /* guards pending, err */
    pthread_cond_t cv;
    int pending;        /* a loop job not finished yet */
    rk_err err;         /* the first failure of a loop job */
};

int loops_available(const rk_host *h)
{
    return RK_HAS_FIELD(h, rk_host, fd_unwatch) && h->loop_count && h->run_on_loop_n &&
           h->fd_watch && h->fd_unwatch && h->timer_start && h->timer_cancel;
}

/* ---- on the daemon's loop -------------------------------------------------- */

static void ld_run(http_loopd *x);

static void ld_timer(void *ud)
{
    http_loopd *x = ud;
    x->t = NULL;
    x->due = 0;
    ld_run(x);
}

/* After a run: be back by MHD_get_timeout. A timer already due earlier is
 * kept (it re-arms when it fires), so a steady run of requests does not
 * cancel and re-create it each time. */
static void ld_arm(http_loopd *x)
{
    const rk_host *h = x->L->host;
    MHD_UNSIGNED_LONG_LONG ms = 0;
    if (MHD_get_timeout(x->d, &ms) != MHD_YES) {
        if (x->t)
            h->timer_cancel(x->t);
        x->t = NULL;
        x->due = 0;
        return;
    }
    if (ms > 86400000ull)
        ms = 86400000ull;
    int64_t due = h->now_ms() + (int64_t)ms;
    if (x->t && x->due <= due)
        return;
    if (x->t)
        h->timer_cancel(x->t);
    x->t = h->timer_start((int64_t)ms, ld_timer, x);
    x->due = x->t ? due : 0;
}

static void ld_run(http_loopd *x)
{
    if (!x->d)
        return;
    http_wake *outer = wake_enter(&x->wake);
    MHD_run(x->d);
    wake_leave(outer);
    ld_arm(x);
}

static void ld_ready(void *ud, uint32_t revents)
{
    (void)revents;
    ld_run(ud);
}

static void ld_kicked(void *ud)
{
    http_loopd *x = ud;
    atomic_store(&x->kick, 0);
    ld_run(x);
}

/* A connection of x was resumed: MHD must run on its loop soon (MHD's
 * external mode has no wakeup of its own for that). Any thread; several
 * kicks before the run cost one run. */
static void ld_kick(http_wake *w)
{
    http_loopd *x = (http_loopd *)w;
    if (!atomic_exchange(&x->kick, 1) &&
        x->L->host->run_on_loop_n(x->idx, ld_kicked, x) != RK_OK)
        atomic_store(&x->kick, 0); /* shutting down: the stop runs MHD */
}

static void job_done(http_loops *L, const rk_err *failed)
{
    pthread_mutex_lock(&L->mu);
    if (failed && !L->err.msg[0])
        L->err = *failed;
    L->pending = 0;
    pthread_cond_broadcast(&L->cv);
    pthread_mutex_unlock(&L->mu);
}

static void ld_start(void *ud)
{
    http_loopd *x = ud;
    const rk_host *h = x->L->host;
    rk_err err = {{0}};
    x->d = x->L->ops.start(x->L->ops.ctx, (unsigned)x->L->n, x->lfd);
    x->lfd = -1; /* MHD's now: past option parsing, a failure closes it */
    const union MHD_DaemonInfo *di =
        x->d ? MHD_get_daemon_info(x->d, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
    if (!x->d || !di)
        rk_fail(&err, RK_ERR_IO, "cannot start the HTTP server on loop %d (address in use "
                "or not permitted? see the libmicrohttpd line above)", x->idx);
    else if (!(x->w = h->fd_watch(di->epoll_fd, RK_WATCH_READ, ld_ready, x)))
        rk_fail(&err, RK_ERR_IO, "cannot watch the HTTP server on loop %d", x->idx);
    else
        ld_arm(x);
    job_done(x->L, err.msg[0] ? &err : NULL);
}

static void ld_quiesce(void *ud)
{
    http_loopd *x = ud;
    MHD_socket lfd = x->d ? MHD_quiesce_daemon(x->d) : MHD_INVALID_SOCKET;
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    if (x->d)
        ld_arm(x);
    job_done(x->L, NULL);
}

static void ld_stop(void *ud)
{
    http_loopd *x = ud;
    const rk_host *h = x->L->host;
    if (x->t)
        h->timer_cancel(x->t);
    if (x->w)
        h->fd_unwatch(x->w);
    x->t = NULL;
    x->w = NULL;
    if (x->d)
        MHD_stop_daemon(x->d); /* completes every connection, on this thread */
    x->d = NULL;
    job_done(x->L, NULL);
}

/* A kick queued on this loop before ld_stop may still run after it: this
 * job runs after every such kick, so x can be freed afterwards. */
static void ld_barrier(void *ud) { job_done(((http_loopd *)ud)->L, NULL); }

/* ---- from the main thread --------------------------------------------------- */

/* Run fn(&L->ld[i]) on loop i and wait for it; if the loop no longer takes
 * work, run it here (nothing else runs that daemon any more). */
static void on_loop(http_loops *L, int i, void (*fn)(void *))
{
    pthread_mutex_lock(&L->mu);
    L->pending = 1;
    pthread_mutex_unlock(&L->mu);
    if (L->host->run_on_loop_n(i, fn, &L->ld[i]) != RK_OK)
        fn(&L->ld[i]);
    pthread_mutex_lock(&L->mu);
    while (L->pending)
        pthread_cond_wait(&L->cv, &L->mu);
    pthread_mutex_unlock(&L->mu);
}

int loops_start(const rk_host *h, const loops_daemon_ops *ops, http_loops **out,
                rk_err *err)
{
    int n = h->loop_count();
    http_loops *L = calloc(1, sizeof *L);
    if (L)
        L->ld = calloc((size_t)(n > 0 ? n : 1), sizeof *L->ld);
    if (!L || !L->ld) {
        free(L);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    L->host = h;
    L->ops = *ops;
    L->n = n > 0 ? n : 1;
    for (int i = 0; i < L->n; i++)
        L->ld[i].lfd = -1;
    pthread_mutex_init(&L->mu, NULL);
    pthread_cond_init(&L->cv, NULL);
    for (int i = 0; i < L->n && !L->err.msg[0]; i++) {
        L->ld[i].L = L;
        L->ld[i].idx = i;
        L->ld[i].wake.kick = ld_kick;
        atomic_init(&L->ld[i].kick, 0);
        if (ops->listen_fd(ops->ctx, i, &L->ld[i].lfd, &L->err) != RK_OK)
            break;
        on_loop(L, i, ld_start);
        if (i == 0 && L->ld[0].d && ops->first_started)
            ops->first_started(ops->ctx, L->ld[0].d);
    }
    if (L->err.msg[0]) {
        *err = L->err;
        loops_stop(L);
        return RK_ERR_IO;
    }
    *out = L;
    return RK_OK;
}

struct MHD_Daemon *loops_first(const http_loops *L) { return L ? L->ld[0].d : NULL; }

void loops_quiesce(http_loops *L)
{
    for (int i = 0; L && i < L->n; i++)
        if (L->ld[i].d)
            on_loop(L, i, ld_quiesce);
}

void loops_stop(http_loops *L)
{
    if (!L)
        return;
    for (int i = 0; i < L->n; i++) {
        if (!L->ld[i].L)
            continue; /* never started */
        on_loop(L, i, ld_stop);
        on_loop(L, i, ld_barrier);
    }
    pthread_cond_destroy(&L->cv);
    pthread_mutex_destroy(&L->mu);
    free(L->ld);
    free(L);
}
