/*
 * waiter — waiting with a deadline in tests: a mutex and condition variable
 * on the monotonic clock with predicate waits (ph_cond), a one-shot latch
 * built on it (ph_latch), and a sleep that is not cut short by signals.
 */
#ifndef RK_TESTS_WAITER_H
#define RK_TESTS_WAITER_H

#include <pthread.h>
#include <stdint.h>

typedef struct ph_cond {
    pthread_mutex_t mu; /* guards whatever the predicate reads */
    pthread_cond_t cv;  /* waits on CLOCK_MONOTONIC */
} ph_cond;

void ph_cond_init(ph_cond *c);
void ph_cond_destroy(ph_cond *c);
/* Wakes every waiter. Call with c->mu held, after changing the state. */
void ph_cond_broadcast(ph_cond *c);
/* Takes c->mu and waits until pred(arg) holds or ms have passed; returns
 * pred(arg) as last seen under the lock. */
int ph_cond_wait(ph_cond *c, int (*pred)(const void *arg), const void *arg, int64_t ms);

/* Fired once by one thread, waited for by another. */
typedef struct ph_latch {
    ph_cond c;
    int fired;
} ph_latch;

void ph_latch_init(ph_latch *l);
void ph_latch_destroy(ph_latch *l);
/* Any thread; firing again changes nothing. What the firing thread wrote
 * before is visible to the waiter once ph_latch_wait returned 1. */
void ph_latch_fire(ph_latch *l);
/* 1 once fired, 0 if ms passed first. */
int ph_latch_wait(ph_latch *l, int64_t ms);

/* Sleeps ms milliseconds (nothing for ms <= 0), resuming after signals. */
void ph_sleep_ms(int64_t ms);

#endif
