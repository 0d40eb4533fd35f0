/*
 * http_wake — how a resumed connection gets its daemon to run again, without
 * the request knowing which kind of daemon serves it.
 *
 * A daemon that needs a kick after MHD_resume_connection (one per host loop,
 * see http_loops) embeds an http_wake, marks it current on the thread that
 * runs MHD_run (wake_enter / wake_leave), and an access handler records
 * wake_current() with its request. MHD's own threads wake themselves: their
 * requests record NULL, and wake_kick(NULL) does nothing.
 *
 * Threads: wake_enter/leave/current on the thread running MHD; wake_kick
 * from any thread (the kick function must be safe for that).
 */
#ifndef RK_HTTP_WAKE_H
#define RK_HTTP_WAKE_H

typedef struct http_wake http_wake;
struct http_wake {
    void (*kick)(http_wake *w); /* make the daemon run soon; must not wait */
};

/* The waker whose MHD_run is on this thread's stack, or NULL. */
http_wake *wake_current(void);
/* Mark w current for a run; returns the previous one, for wake_leave. */
http_wake *wake_enter(http_wake *w);
void wake_leave(http_wake *prev);
/* w->kick(w); NULL is a no-op. */
void wake_kick(http_wake *w);

#endif
