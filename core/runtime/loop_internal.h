/*
 * loop_internal — the loop's interfaces beyond loop.h. The first part is
 * what a part of the loop (net/upstream.c: the upstream HTTP client) uses
 * to share the thread, its epoll set and its timers; the second is what the core's own modules use to
 * run several loops (server.c numbers them, hostapi.c lends their epoll
 * sets to plugins as fd watches). All calls are "loop" calls (loop thread,
 * or the stopping thread once the loop thread is gone) unless marked.
 */
#ifndef RK_CORE_LOOP_INTERNAL_H
#define RK_CORE_LOOP_INTERNAL_H

#include <stdint.h>

#include "loop.h"

/* any: CLOCK_MONOTONIC in microseconds: the unit timers and call deadlines
 * use. On a loop thread, the value read at the start of the current step of
 * its turn (see loop.c); live elsewhere. */
int64_t loop_clock_us(void);

/* 1 when the caller may use loop-only state: on the loop thread, or while
 * no loop thread runs. Otherwise logs "WHAT called outside the loop
 * thread" and returns 0. */
int loop_on_thread(const loop *l, const char *what);

/* A one-shot timer at an absolute loop_clock_us instant (no clamping, no
 * thread check: for callers already on the loop). NULL when out of memory.
 * Cancel with loop_timer_cancel. */
rk_timer *loop_timer_at(loop *l, int64_t due_us, void (*fn)(void *ud), void *ud);

/* A part of the loop that another module provides (net/upstream.c, the
 * upstream HTTP client), so the loop needs to know nothing of it: raw fds
 * it registers with loop_fd_watch report to on_fd; on_stop runs on the loop
 * thread as the loop stops, after the last posts (end live work there);
 * on_free runs in loop_free before the epoll set closes. */
typedef struct loop_part {
    void (*on_fd)(void *ud, int fd, uint32_t events);
    void (*on_stop)(void *ud);
    void (*on_free)(void *ud);
    void *ud;
} loop_part;

/* One part per loop, attached before loop_start: 0, or -1 when one is
 * attached already or the loop runs. */
int loop_attach(loop *l, const loop_part *p);
/* any: the attached part's ud, or NULL. */
void *loop_part_ud(const loop *l);

/* Add fd to the loop's epoll set, or change what it waits for (events are
 * EPOLLIN/EPOLLOUT bits); `known` says whether fd was added before. Events
 * on it go to the part's on_fd. 0, or -1 (logged). */
int loop_fd_watch(loop *l, int fd, uint32_t events, int known);
/* Remove fd; harmless if it is already closed or was never added. */
void loop_fd_unwatch(loop *l, int fd);

/* ---- several loops -------------------------------------------------------- */

/* any: the loop's number among its siblings (0 unless set; at most 63).
 * Set it before loop_start: it names the thread ("rk-loop-N") and is
 * written into the loop's timer handles. */
int loop_index(const loop *l);
void loop_set_index(loop *l, int index);
/* any: the index of the loop that made timer handle t. */
int loop_timer_index(const rk_timer *t);

/* any thread but l's: wait until l has run everything posted to it so far
 * (returns at once if l no longer takes posts). A plugin's last loop
 * callback may signal its stop() and still be returning through plugin
 * code: a sync on every loop before unloading plugins waits that out. */
void loop_sync(loop *l);

/* Watch fd for RK_WATCH_READ / RK_WATCH_WRITE (rk_host.fd_watch): fn gets
 * the ready subset (a hang-up or error counts as both asked-for events)
 * on this loop's thread, level-triggered. NULL + err on failure. */
rk_watch *loop_watch(loop *l, int fd, uint32_t events,
                     void (*fn)(void *ud, uint32_t revents), void *ud,
                     rk_err *err);
/* Change what w waits for (RK_WATCH_* bits): 0, or -1 (logged). */
int loop_watch_events(loop *l, rk_watch *w, uint32_t events);
/* No callback after this returns, even for an event already collected in
 * the current turn. Does not close the fd. */
void loop_unwatch(loop *l, rk_watch *w);
/* any: the loop a watch belongs to. */
loop *loop_watch_loop(const rk_watch *w);

#endif
