/*
 * snippet — the excerpt of a passage shown with a search hit: a window of
 * about `window` tokens with the most distinct query terms, every token
 * whose stem is a query term marked as **token**.
 *
 * Threads: an snip_ctx and the analyzer belong to one thread at a time.
 */
#ifndef RK_RETRIEVER_SQLITE_SNIPPET_H
#define RK_RETRIEVER_SQLITE_SNIPPET_H

#include <stddef.h>
#include <stdint.h>

#include "analyze.h"

typedef struct snip_ctx snip_ctx;
snip_ctx *snip_new(void);
void snip_free(snip_ctx *c);

/* Excerpt of text (stemmed as Latin language latin) for query terms
 * q[i] with bit i set in used. The NUL-terminated result is in c and
 * valid until the next call; NULL on no memory. */
const char *snip_make(snip_ctx *c, tp_analyzer *a, const char *text, int latin,
                      const an_qterm *q, size_t nq, uint64_t used, size_t window);

#endif
