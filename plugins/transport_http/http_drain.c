/*
 * http_drain — the middle of a stop: after the daemons stopped accepting
 * and before they stop, let the requests in flight finish and the busy
 * keep-alive connections go (each gets one more answer, marked
 * Connection: close by draining, and its client reconnects to whoever
 * listens next, e.g. the next generation after a reload), then cancel what
 * is left past the deadline. Kept apart from http_server because it is the
 * one place that waits on the request list.
 */
#include "http_drain.h"

#include <time.h>

#include "http_server.h"

/* How long aborted requests get to deliver on_done after chat_cancel. */
#define ABORT_GRACE_MS 3000
/* Connections with no new connection or request for this long are idle
 * keep-alive ones: closing them loses nothing the client sent. */
#define DRAIN_QUIET_MS 250

/* s->mu held: requests in flight; with pending_only, only those still
 * waiting for a host on_done (a download paused for a client that stopped
 * reading has none, and MHD_stop_daemon closes it). */
static size_t count_locked(http_server *s, int pending_only)
{
    if (!pending_only)
        return s->n_reqs;
    size_t n = 0;
    for (http_req *r = s->reqs; r; r = r->next) {
        pthread_mutex_lock(&r->mu);
        n += r->pending != 0;
        pthread_mutex_unlock(&r->mu);
    }
    return n;
}

/* Wait (s->mu held) until no request (see count_locked) is left or the
 * host clock passes deadline_ms. Returns the number left. */
static size_t wait_idle_locked(http_server *s, int64_t deadline_ms,
                               int pending_only)
{
    size_t n;
    while ((n = count_locked(s, pending_only)) > 0) {
        int64_t left = deadline_ms - s->host->now_ms();
        if (left <= 0)
            break;
        if (left > 100)
            left = 100; /* re-read the host clock; cond waits use realtime */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)left * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&s->idle, &s->mu, &ts);
    }
    return n;
}

/* Wait (s->mu held) until no request is in flight and no connection is
 * open, or the open ones have been quiet for DRAIN_QUIET_MS (idle
 * keep-alive clients), or deadline_ms. A busy keep-alive connection gets
 * one more answer, with Connection: close (draining), and its client
 * reconnects to the next generation; closing it under a request the
 * client already sent would lose that request. Returns the requests left. */
static size_t wait_drained_locked(http_server *s, int64_t deadline_ms)
{
    for (;;) {
        int64_t now = s->host->now_ms();
        if (s->n_reqs == 0 &&
            (atomic_load(&s->n_conns) <= 0 ||
             now - atomic_load(&s->last_active_ms) >= DRAIN_QUIET_MS))
            return 0;
        if (now >= deadline_ms)
            return s->n_reqs;
        if (s->n_reqs) {
            int64_t step = now + 10 < deadline_ms ? now + 10 : deadline_ms;
            wait_idle_locked(s, step, 0);
            continue;
        }
        pthread_mutex_unlock(&s->mu); /* connections only: nothing signals */
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&s->mu);
    }
}

/* Past the deadline: cancel host calls and resume every suspended
 * connection; their handlers see r->stopping and answer at once. */
static void abort_all_locked(http_server *s)
{
    s->aborting = 1;
    for (http_req *r = s->reqs; r; r = r->next) {
        pthread_mutex_lock(&r->mu);
        r->stopping = 1;
        if (r->pending && r->ops && r->ops->cancel)
            r->ops->cancel(r); /* idempotent */
        req_wake_locked(r);
        pthread_mutex_unlock(&r->mu);
    }
}

void drain_requests(http_server *s, int64_t deadline_ms)
{
    pthread_mutex_lock(&s->mu);
    size_t left = wait_drained_locked(s, deadline_ms);
    if (left) {
        s->host->log(s->self, RK_LOG_WARN,
                     "stop: aborting %zu request(s) still in flight", left);
        abort_all_locked(s);
        left = wait_idle_locked(s, s->host->now_ms() + ABORT_GRACE_MS, 1);
        if (left) {
            /* requests whose on_done never came: resumed above, so MHD can
             * stop; their state is leaked rather than freed under the host */
            s->host->log(s->self, RK_LOG_ERROR,
                         "stop: %zu request(s) got no on_done after cancel",
                         left);
            abort_all_locked(s);
        }
    }
    pthread_mutex_unlock(&s->mu);
}
