/*
 * postq — see postq.h.
 */
#include "postq.h"

#include <stdlib.h>

#include <ragkernel/error.h>

#define POSTQ_MIN 256
#define POSTQ_KEEP 65536 /* a larger array is a burst's: give it back */

int postq_push(postq *q, void (*fn)(void *ud), void *ud)
{
    if (q->n == q->cap) {
        size_t c = q->cap ? q->cap * 2 : POSTQ_MIN;
        postq_item *nq = realloc(q->q, c * sizeof *nq);
        if (!nq) return RK_ERR_NOMEM;
        q->q = nq;
        q->cap = c;
    }
    q->q[q->n++] = (postq_item){fn, ud};
    return RK_OK;
}

postq_batch postq_take(postq *q)
{
    postq_batch b = {q->q, q->n, q->cap};
    q->q = q->spare;
    q->cap = q->capspare;
    q->n = 0;
    q->spare = NULL;
    q->capspare = 0;
    return b;
}

size_t postq_run(postq *q, postq_batch b)
{
    for (size_t i = 0; i < b.n; i++) b.items[i].fn(b.items[i].ud);
    if (b.cap > POSTQ_KEEP) {
        free(b.items);
        b.items = NULL;
        b.cap = 0;
    }
    free(q->spare); /* NULL unless a run was nested: keep one spare */
    q->spare = b.items;
    q->capspare = b.cap;
    return b.n;
}

void postq_free(postq *q)
{
    free(q->q);
    free(q->spare);
    *q = (postq){0};
}
