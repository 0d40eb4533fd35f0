/*
 * singleflight — concurrent identical requests wait for one computation.
 * The first request for a key leads; the others join as waiters and are
 * handed the leader's result (or told it failed, and then compute on their
 * own) when the leader leaves.
 */
#ifndef RK_CORE_SINGLEFLIGHT_H
#define RK_CORE_SINGLEFLIGHT_H

#include <stddef.h>

typedef struct sflight sflight;
/* data/len: the leader's result, valid during the call; NULL: it failed. */
typedef void (*sflight_fn)(void *ud, const void *data, size_t len);

sflight *sflight_new(void);
/* Every flight must have been left first. */
void sflight_free(sflight *s);
/* 0: no flight for key, the caller now leads it (and must sflight_leave).
 * 1: a flight exists; fn(ud, ...) will be called when it ends.
 * -1: out of memory (the caller computes on its own, leading nothing). */
int sflight_join(sflight *s, const char *key, sflight_fn fn, void *ud);
/* The leader is done: every waiter's fn runs, on the calling thread, outside
 * the table's lock; the key is free for a new flight. */
void sflight_leave(sflight *s, const char *key, const void *data, size_t len);
/* Waiters currently parked (tests, metrics). */
size_t sflight_waiting(sflight *s);

#endif
