/*
 * waiter — the deadline waits of the unit tests. Every test that drives a
 * plugin from another thread (a loop callback, a worker of the pool) needs
 * "wait for this, but not forever"; done once here, on CLOCK_MONOTONIC so a
 * wall-clock step cannot stretch or cut a timeout, and with the predicate
 * re-checked under the lock so a wake-up that came before the wait is not
 * lost.
 */
#define _GNU_SOURCE
#include "waiter.h"

#include <errno.h>
#include <time.h>

void ph_cond_init(ph_cond *c)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, &a);
    pthread_condattr_destroy(&a);
}

void ph_cond_destroy(ph_cond *c)
{
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
}

void ph_cond_broadcast(ph_cond *c) { pthread_cond_broadcast(&c->cv); }

int ph_cond_wait(ph_cond *c, int (*pred)(const void *arg), const void *arg, int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->mu);
    while (!pred(arg))
        if (pthread_cond_timedwait(&c->cv, &c->mu, &until) == ETIMEDOUT)
            break;
    int ok = pred(arg);
    pthread_mutex_unlock(&c->mu);
    return ok;
}

void ph_latch_init(ph_latch *l)
{
    ph_cond_init(&l->c);
    l->fired = 0;
}

void ph_latch_destroy(ph_latch *l) { ph_cond_destroy(&l->c); }

void ph_latch_fire(ph_latch *l)
{
    pthread_mutex_lock(&l->c.mu);
    l->fired = 1;
    ph_cond_broadcast(&l->c);
    pthread_mutex_unlock(&l->c.mu);
}

static int latch_fired(const void *arg) { return ((const ph_latch *)arg)->fired; }

int ph_latch_wait(ph_latch *l, int64_t ms) { return ph_cond_wait(&l->c, latch_fired, l, ms); }

void ph_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}
