/*
 * loopset — owns the list of runtime loops and the choice of a loop for a
 * caller or a new chat (loopset.h). It was part of hostapi.c, which made
 * the chat object depend on the plugin host table just to find a loop; the
 * choice is a runtime concern that both use. Slots are atomics so the hot
 * readers take no lock; loopset_set shrinks the count before replacing
 * slots so that a reader never sees a half-written set.
 */
#include "loopset.h"

#include <stdatomic.h>

#include "loop_internal.h"

static _Atomic(loop *) g_loops[LOOPSET_MAX];
static atomic_int g_nloops;
static atomic_uint g_rr;

void loopset_set(loop *const *loops, int n)
{
    if (n < 0 || !loops) n = 0;
    if (n > LOOPSET_MAX) n = LOOPSET_MAX;
    atomic_store(&g_nloops, 0);
    for (int i = 0; i < LOOPSET_MAX; i++) atomic_store(&g_loops[i], i < n ? loops[i] : NULL);
    atomic_store(&g_nloops, n);
}

int loopset_count(void) { return atomic_load(&g_nloops); }

loop *loopset_get(int i)
{
    return i >= 0 && i < atomic_load(&g_nloops) ? atomic_load(&g_loops[i]) : NULL;
}

loop *loopset_here(void)
{
    loop *l = loop_current();
    return l ? l : loopset_get(0);
}

loop *loopset_for_chat(void)
{
    loop *l = loop_current();
    int n = atomic_load(&g_nloops);
    if (l || n <= 0) return l;
    return loopset_get((int)(atomic_fetch_add(&g_rr, 1) % (unsigned)n));
}

void loopset_sync(void)
{
    loop *me = loop_current();
    for (int i = 0; i < atomic_load(&g_nloops); i++) {
        loop *l = loopset_get(i);
        if (l && l != me) loop_sync(l);
    }
}
