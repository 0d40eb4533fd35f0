/*
 * postq — a queue of function calls (fn, ud) made of two growable arrays:
 * producers append to one while the consumer runs the other, so a steady
 * stream of posts allocates nothing. No locking of its own: the loop holds
 * its mutex around push and take for posts from other threads, and none
 * for its own thread's queue.
 */
#ifndef RK_CORE_POSTQ_H
#define RK_CORE_POSTQ_H

#include <stddef.h>

typedef struct postq_item {
    void (*fn)(void *ud);
    void *ud;
} postq_item;

typedef struct postq {
    postq_item *q, *spare;
    size_t n, cap, capspare;
} postq;

/* A batch taken out of a queue, to run outside any lock. */
typedef struct postq_batch {
    postq_item *items;
    size_t n, cap;
} postq_batch;

/* Append: RK_OK or RK_ERR_NOMEM. */
int postq_push(postq *q, void (*fn)(void *ud), void *ud);
/* Everything queued so far, leaving q empty (on its spare array). */
postq_batch postq_take(postq *q);
/* Run b's calls in order, then give its array back to q as the spare (or
 * free it after a burst). Returns how many ran. */
size_t postq_run(postq *q, postq_batch b);
void postq_free(postq *q);

#endif
