/*
 * http_loops — one libmicrohttpd daemon per host event loop, in MHD's
 * external epoll mode, all bound to the listen address with SO_REUSEPORT.
 * A connection is accepted, read, answered and its chat run on one loop
 * thread: the host runs a chat on the loop that started it, so its
 * callbacks and the resume of the connection need no other thread. Used
 * when the host offers the loop slots (loops_available); otherwise
 * http_server runs MHD's own epoll threads.
 *
 * Threads: loops_start/quiesce/stop on the main thread (they run the work
 * on each loop and wait for it); loops_current on a loop thread;
 * loops_kick from any thread.
 */
#ifndef RK_HTTP_LOOPS_H
#define RK_HTTP_LOOPS_H

#include <ragkernel/ragkernel.h>

typedef struct http_server http_server;
typedef struct http_loops http_loops;
typedef struct http_loopd http_loopd; /* one daemon and its loop */
struct MHD_Daemon;

/* 1 when the host can run one daemon per loop. */
int loops_available(const rk_host *h);

/* Start a daemon (server_mhd_start with `flags`) on every loop. RK_OK and
 * *out, or an error with nothing left running. A port of 0 becomes the
 * first daemon's port, in s->addr, for the others. */
int loops_start(http_server *s, unsigned flags, http_loops **out, rk_err *err);
/* The first loop's daemon (the bound address, connection info). */
struct MHD_Daemon *loops_first(const http_loops *L);
/* Stop accepting: every listening socket is closed. */
void loops_quiesce(http_loops *L);
/* Stop every daemon (open connections close) and free L. */
void loops_stop(http_loops *L);

/* The daemon whose MHD_run is on this thread's stack, or NULL: what an
 * access handler records for its connection. */
http_loopd *loops_current(void);
/* A connection of ld was resumed: MHD must run on its loop soon. MHD's
 * external mode has no wakeup of its own for that. Several kicks before
 * the run cost one run. NULL is a no-op. */
void loops_kick(http_loopd *ld);

#endif
