/*
 * loop — the event loop thread: epoll + eventfd wakeups + a timer heap, so
 * that thousands of upstream calls wait with no thread each (the upstream
 * HTTP client that runs on it is net/upstream.h's).
 *
 * One loop runs one thread. Calls marked "loop" must come from that thread;
 * loop_post is the way in from any other thread.
 */
#ifndef RK_CORE_LOOP_H
#define RK_CORE_LOOP_H

#include <stdint.h>
#include <time.h>

#include <ragkernel/host.h>

typedef struct loop loop;

int64_t clock_now_ms(void);  /* CLOCK_MONOTONIC in ms */
int64_t clock_wall_ms(void); /* Unix time in ms */
/* The CLOCK_MONOTONIC instant ms from now, as pthread_cond_timedwait
 * takes it (for a condvar whose clock attribute is CLOCK_MONOTONIC). */
struct timespec clock_mono_after(int64_t ms);

loop *loop_new(rk_err *err);
/* Start the thread. */
int loop_start(loop *l, rk_err *err);
/* Ask the thread to finish: posted functions still run, then it exits;
 * the attached part (the upstream client) ends what it has in flight.
 * Joins the thread. */
void loop_stop(loop *l);
void loop_free(loop *l);

/* The loop whose thread is calling, or NULL. */
loop *loop_current(void);

/* any: run fn(ud) on the loop thread. RK_ERR_UNAVAILABLE once stopping. */
int loop_post(loop *l, void (*fn)(void *ud), void *ud);

/* loop: one-shot timers (see rk_host.timer_start/timer_cancel). */
rk_timer *loop_timer_start(loop *l, int64_t delay_ms, void (*fn)(void *ud),
                           void *ud);
void loop_timer_cancel(loop *l, rk_timer *t);

#endif
