/*
 * mi_search — ranking a memindex tenant's chunks for a query (BM25).
 * Threads: the caller holds the index's read lock; an mi_scratch is used
 * by one thread at a time.
 */
#ifndef RK_RETRIEVER_SQLITE_MI_SEARCH_H
#define RK_RETRIEVER_SQLITE_MI_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "analyze.h"
#include "memindex.h"

typedef struct mi_scratch mi_scratch; /* per thread: accumulators */
mi_scratch *mi_scratch_new(void);
void mi_scratch_free(mi_scratch *s);

typedef struct mi_params {
    double k1, b;
    size_t k;
    size_t max_terms;              /* keep the rarest max_terms (<= 64) terms */
    int fast;                      /* fewer terms, smaller candidate set */
    int64_t deadline_ms;           /* 0 = none */
    int64_t (*now_ms)(void);
    const char *const *doc_ids;    /* filter, NULL = all */
    size_t n_doc_ids;
    int lang;                      /* the query's language (-1: unknown) and */
    float lang_boost;              /* the factor for chunks written in it */
} mi_params;

typedef struct mi_hit {
    int64_t rowid;
    double score;
} mi_hit;

typedef struct mi_result {
    size_t n_hits;
    int timed_out;     /* stopped early at the deadline */
    uint64_t used;     /* bit i: query term i was scored (for highlights) */
} mi_result;

/* Best chunks for the query terms, at most p->k (hits has room for k).
 * 0, or -1 on no memory. */
int mi_search(const mi_tenant *t, mi_scratch *s, const an_qterm *q, size_t nq,
              const mi_params *p, mi_hit *hits, mi_result *res);

#endif
