/*
 * loopset — the runtime's event loops as a set: which loop a caller's work
 * belongs to, and which loop a new chat runs on. Set once at start-up (and
 * cleared at exit); read on every timer, HTTP call and chat.
 */
#ifndef RK_CORE_LOOPSET_H
#define RK_CORE_LOOPSET_H

#include "loop.h"

#define LOOPSET_MAX 64

/* loops[i] must have loop_index i; at most LOOPSET_MAX (more are ignored);
 * n = 0 clears the set. Readers never see a slot being replaced. */
void loopset_set(loop *const *loops, int n);
/* Loops in the set (0 before loopset_set). */
int loopset_count(void);
/* Loop i, or NULL when out of range. */
loop *loopset_get(int i);
/* The caller's loop when it is a loop thread, else the first loop (NULL
 * when the set is empty): a plugin's timers and HTTP calls belong to the
 * loop its callbacks run on. */
loop *loopset_here(void);
/* The loop a new chat runs on: the caller's if it is a loop thread (a
 * transport serving connections on the loops never hands a request to
 * another thread), else the loops in turn; NULL when none is set. */
loop *loopset_for_chat(void);
/* Every loop but the caller's runs what was posted to it so far
 * (loop_sync): call it after plugins stop and before they are unloaded. */
void loopset_sync(void);

#endif
