/*
 * mi_search — owns BM25 ranking over memindex. SQLite FTS5 ranks by
 * running bm25() per matching row through the virtual-table machinery,
 * which is what makes OR queries over 100k chunks take tens of
 * milliseconds; here a query is scored term-at-a-time into a dense float
 * accumulator (one slot per chunk of the tenant, in a per-thread
 * mi_scratch) straight from the posting lists, then a k-sized heap picks
 * the winners. Terms go rarest first, so when the deadline cuts a query
 * short the terms already scored are the ones that matter most.
 */
#include "mi_search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "memindex_impl.h"
#include "varint.h"

#define MI_FAST_TERMS 8
#define MI_CLOCK_EVERY 65536 /* postings between deadline checks */

typedef struct heap_ent {
    float score;
    uint32_t id;
} heap_ent;

struct mi_scratch {
    float *acc;          /* by chunk id; all zero between searches */
    uint32_t *touched;   /* ids whose acc is non-zero */
    uint32_t cap;
    uint32_t *docset;    /* sorted document numbers of the filter */
    size_t docset_cap;
    heap_ent *heap;
    size_t heap_cap;
};

typedef struct qterm {
    const mi_term *term;
    double idf;
    size_t qi;           /* index in the query */
    uint32_t qtf;
} qterm;

mi_scratch *mi_scratch_new(void) { return calloc(1, sizeof(mi_scratch)); }

void mi_scratch_free(mi_scratch *s)
{
    if (!s)
        return;
    free(s->acc);
    free(s->touched);
    free(s->docset);
    free(s->heap);
    free(s);
}

static int scratch_fit(mi_scratch *s, uint32_t n_chunks, size_t k, size_t n_docs)
{
    if (n_chunks > s->cap) {
        uint32_t cap = n_chunks + n_chunks / 4 + 64;
        float *acc = realloc(s->acc, (size_t)cap * sizeof *acc);
        if (acc) {
            memset(acc + s->cap, 0, (size_t)(cap - s->cap) * sizeof *acc);
            s->acc = acc;
        }
        uint32_t *touched = realloc(s->touched, (size_t)cap * sizeof *touched);
        if (touched)
            s->touched = touched;
        if (!acc || !touched)
            return -1;
        s->cap = cap;
    }
    if (k > s->heap_cap) {
        heap_ent *h = realloc(s->heap, k * sizeof *h);
        if (!h)
            return -1;
        s->heap = h;
        s->heap_cap = k;
    }
    if (n_docs > s->docset_cap) {
        uint32_t *d = realloc(s->docset, n_docs * sizeof *d);
        if (!d)
            return -1;
        s->docset = d;
        s->docset_cap = n_docs;
    }
    return 0;
}

static int past_deadline(const mi_params *p)
{
    return p->deadline_ms > 0 && p->now_ms && p->now_ms() > p->deadline_ms;
}

/* The query's terms present in the tenant, rarest first, at most the limit. */
static size_t pick_terms(const mi_tenant *t, const an_qterm *q, size_t nq,
                         const mi_params *p, qterm *out)
{
    size_t n = 0, limit = p->max_terms ? p->max_terms : 64;
    if (limit > 64)
        limit = 64;
    if (p->fast && limit > MI_FAST_TERMS)
        limit = MI_FAST_TERMS;
    for (size_t i = 0; i < nq && i < 64; i++) {
        int64_t tid = strmap_find(&t->term_ids, q[i].s, q[i].n, strmap_hash(q[i].s, q[i].n));
        if (tid < 0 || t->terms[tid].df == 0)
            continue;
        double df = t->terms[tid].df;
        qterm e = {&t->terms[tid], log(1.0 + (t->live - df + 0.5) / (df + 0.5)), i, q[i].qtf};
        size_t j = n++;
        for (; j > 0 && out[j - 1].idf < e.idf; j--)
            out[j] = out[j - 1];
        out[j] = e;
    }
    return n < limit ? n : limit;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Document numbers of the filter, sorted; how many matched. */
static size_t resolve_docs(const mi_tenant *t, mi_scratch *s, const mi_params *p)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_doc_ids; i++) {
        const char *id = p->doc_ids[i];
        if (!id)
            continue;
        size_t len = strlen(id);
        int64_t d = strmap_find(&t->doc_ids, id, len, strmap_hash(id, len));
        if (d >= 0 && t->docs[d].n)
            s->docset[n++] = (uint32_t)d;
    }
    qsort(s->docset, n, sizeof *s->docset, cmp_u32);
    return n;
}

/* Score all postings of the terms into s->acc. 1 if the deadline hit. */
static int accumulate(const mi_tenant *t, mi_scratch *s, const qterm *q, size_t nq,
                      const mi_params *p, uint32_t *n_touched, uint64_t *used)
{
    double avgdl = t->live ? (double)t->total_len / t->live : 1.0;
    float k0 = (float)(p->k1 * (1.0 - p->b)), kl = (float)(p->k1 * p->b / (avgdl > 0 ? avgdl : 1.0));
    float *acc = s->acc;
    const uint32_t *dl = t->dl;
    uint32_t nt = 0, clock = 0;
    for (size_t j = 0; j < nq; j++) {
        if (j > 0 && past_deadline(p))
            return (*n_touched = nt), 1;
        float w = (float)(q[j].idf * (p->k1 + 1.0) * q[j].qtf);
        const uint8_t *ptr = q[j].term->post, *end = ptr + q[j].term->len;
        uint32_t id = 0, gap, tf;
        while (ptr < end) {
            if (!varint_get(&ptr, end, &gap) || !varint_get(&ptr, end, &tf))
                break; /* cannot happen: lists are only written here */
            id += gap;
            float ftf = (float)tf, sc = w * ftf / (ftf + k0 + kl * (float)dl[id]);
            if (acc[id] == 0.0f)
                s->touched[nt++] = id;
            acc[id] += sc;
            if (++clock == MI_CLOCK_EVERY) {
                clock = 0;
                if (past_deadline(p))
                    return (*n_touched = nt), 1;
            }
        }
        *used |= 1ull << q[j].qi;
    }
    *n_touched = nt;
    return 0;
}

static int heap_better(heap_ent a, heap_ent b)
{
    return a.score > b.score || (a.score == b.score && a.id < b.id);
}

static void heap_sift_down(heap_ent *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && heap_better(h[m], h[l]))
            m = l;
        if (r < n && heap_better(h[m], h[r]))
            m = r;
        if (m == i)
            return;
        heap_ent tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
}

static void heap_push(heap_ent *h, size_t *n, size_t k, heap_ent e)
{
    if (*n < k) {
        size_t i = (*n)++;
        for (; i > 0 && heap_better(h[(i - 1) / 2], e); i = (i - 1) / 2)
            h[i] = h[(i - 1) / 2];
        h[i] = e;
    } else if (heap_better(e, h[0])) {
        h[0] = e;
        heap_sift_down(h, *n, 0);
    }
}

static int cmp_heap(const void *a, const void *b)
{
    heap_ent x = *(const heap_ent *)a, y = *(const heap_ent *)b;
    return heap_better(x, y) ? -1 : heap_better(y, x);
}

/* Top k of the touched chunks that are alive and pass the filter; resets
 * the accumulators it reads. */
static size_t select_top(const mi_tenant *t, mi_scratch *s, uint32_t n_touched,
                         size_t n_docs, const mi_params *p)
{
    size_t n = 0, k = p->k;
    int filtered = p->doc_ids != NULL;
    for (uint32_t i = 0; i < n_touched; i++) {
        uint32_t id = s->touched[i];
        float sc = s->acc[id];
        if (p->lang >= 0 && t->lang[id] == p->lang)
            sc *= p->lang_boost; /* a tie between languages goes to the query's */
        s->acc[id] = 0.0f;
        uint32_t d = t->doc[id];
        if (d == MI_DEAD ||
            (filtered && !bsearch(&d, s->docset, n_docs, sizeof d, cmp_u32)))
            continue;
        heap_push(s->heap, &n, k, (heap_ent){sc, id});
    }
    qsort(s->heap, n, sizeof *s->heap, cmp_heap);
    return n;
}

int mi_search(const mi_tenant *t, mi_scratch *s, const an_qterm *q, size_t nq,
              const mi_params *p, mi_hit *hits, mi_result *res)
{
    *res = (mi_result){0};
    qterm terms[64];
    if (p->k == 0 || !t || t->live == 0)
        return 0;
    size_t nt = pick_terms(t, q, nq, p, terms);
    if (nt == 0)
        return 0;
    if (scratch_fit(s, t->n_chunks, p->k, p->doc_ids ? p->n_doc_ids : 0) < 0)
        return -1;
    size_t n_docs = p->doc_ids ? resolve_docs(t, s, p) : 0;
    if (p->doc_ids && n_docs == 0)
        return 0;
    uint32_t n_touched;
    res->timed_out = accumulate(t, s, terms, nt, p, &n_touched, &res->used);
    size_t n = select_top(t, s, n_touched, n_docs, p);
    for (size_t i = 0; i < n; i++)
        hits[i] = (mi_hit){t->rowid[s->heap[i].id], s->heap[i].score};
    res->n_hits = n;
    return 0;
}
