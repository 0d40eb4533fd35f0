/*
 * http_wake — owns the thread-local "daemon running on this thread" that an
 * access handler hands to its request, and the kick through it. It is apart
 * from http_loops so that http_req, which every handler uses, depends on
 * this small interface and not on the daemons' lifecycle (which in turn
 * starts the router and so every handler).
 */
#include "http_wake.h"

#include <stddef.h>

static __thread http_wake *tl_current;

http_wake *wake_current(void) { return tl_current; }

http_wake *wake_enter(http_wake *w)
{
    http_wake *prev = tl_current;
    tl_current = w;
    return prev;
}

void wake_leave(http_wake *prev) { tl_current = prev; }

void wake_kick(http_wake *w)
{
    if (w)
        w->kick(w);
}
