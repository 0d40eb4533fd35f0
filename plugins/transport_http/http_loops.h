/*
 * http_loops — one libmicrohttpd daemon per host event loop, in MHD's
 * external epoll mode, all bound to the listen address with SO_REUSEPORT.
 * A connection is accepted, read, answered and its chat run on one loop
 * thread: the host runs a chat on the loop that started it, so its
 * callbacks and the resume of the connection need no other thread. Used
 * when the host offers the loop slots (loops_available); otherwise
 * http_server runs MHD's own epoll threads.
 *
 * The daemons themselves (options, handlers) are the caller's: it passes
 * how to get a listening socket and how to start a daemon at creation, so
 * this module knows nothing of the server that owns it.
 *
 * Threads: loops_start/quiesce/stop on the main thread (they run the work
 * on each loop and wait for it). Each daemon is the current http_wake of
 * its loop thread while MHD runs (a resumed connection kicks it).
 */
#ifndef RK_HTTP_LOOPS_H
#define RK_HTTP_LOOPS_H

#include <ragkernel/ragkernel.h>

typedef struct http_loops http_loops;
typedef struct http_loopd http_loopd; /* one daemon and its loop */
struct MHD_Daemon;

/* 1 when the host can run one daemon per loop. */
int loops_available(const rk_host *h);

/* What the owner supplies; copied by loops_start. */
typedef struct loops_daemon_ops {
    void *ctx;
    /* Main thread: the listening socket for loop i, which the daemon will
     * own, or *fd = -1 (the daemon binds). RK_OK or an error in err. */
    int (*listen_fd)(void *ctx, int i, int *fd, rk_err *err);
    /* On loop i: a daemon in MHD's external epoll mode taking 1/n of the
     * connections, on lfd (it owns lfd from here). NULL on failure. */
    struct MHD_Daemon *(*start)(void *ctx, unsigned n, int lfd);
    /* Main thread, may be NULL: the first daemon runs, before the others
     * start (a port of 0 becomes its port for the others). */
    void (*first_started)(void *ctx, struct MHD_Daemon *d);
} loops_daemon_ops;

/* Start a daemon (ops->start) on every loop of h. RK_OK and *out, or an
 * error with nothing left running. */
int loops_start(const rk_host *h, const loops_daemon_ops *ops, http_loops **out,
                rk_err *err);
/* The first loop's daemon (the bound address, connection info). */
struct MHD_Daemon *loops_first(const http_loops *L);
/* Stop accepting: every listening socket is closed. */
void loops_quiesce(http_loops *L);
/* Stop every daemon (open connections close) and free L. */
void loops_stop(http_loops *L);

#endif
