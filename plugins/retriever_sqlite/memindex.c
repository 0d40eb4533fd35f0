/*
 * memindex — owns the in-memory inverted index and BM25 ranking. SQLite
 * FTS5 ranks by running bm25() per matching row through the virtual-table
 * machinery, which is what makes OR queries over 100k chunks take tens of
 * milliseconds; here a query is scored term-at-a-time into a dense float
 * accumulator (one slot per chunk of the tenant) straight from compact
 * varint posting lists, then a k-sized heap picks the winners. Terms go
 * rarest first, so when the deadline cuts a query short the terms already
 * scored are the ones that matter most. Chunk data is kept as parallel
 * arrays (struct of arrays) because the scoring loop only touches the
 * document lengths.
 */
#include "memindex.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"
#include "varint.h"

#define MI_DEAD UINT32_MAX
#define MI_NONE UINT32_MAX
#define MI_MAX_LANGS 64
#define MI_FAST_TERMS 8
#define MI_CLOCK_EVERY 65536 /* postings between deadline checks */

typedef struct mi_term {
    uint8_t *post;      /* varint(id gap) varint(tf) ... */
    uint32_t len, cap;
    uint32_t df;        /* live chunks containing the term */
    uint32_t last;      /* id of the last posting */
} mi_term;

typedef struct mi_doc {
    uint32_t head;      /* newest chunk, chained through next[] */
    uint32_t n;         /* live chunks */
} mi_doc;

struct mi_tenant {
    char *name;
    strmap term_ids;
    mi_term *terms;
    uint32_t terms_cap;
    strmap doc_ids;
    mi_doc *docs;
    uint32_t docs_cap;
    int64_t *rowid;     /* by chunk id */
    uint32_t *dl, *doc, *next;
    int8_t *lang;       /* by chunk id: its main language (-1 unknown) */
    uint32_t n_chunks, chunks_cap;
    uint32_t live, dead;
    uint64_t total_len; /* of live chunks */
    uint32_t latin_count[MI_MAX_LANGS];
};

struct mi_index {
    strmap names;
    mi_tenant **tenants; /* by name id; NULL once emptied */
    uint32_t cap;
};

/* ---- index and tenants --------------------------------------------------- */

mi_index *mi_index_new(void) { return calloc(1, sizeof(mi_index)); }

void mi_index_free(mi_index *ix)
{
    if (!ix)
        return;
    for (uint32_t i = 0; i < ix->names.n; i++)
        mi_tenant_free(ix->tenants[i]);
    free(ix->tenants);
    strmap_free(&ix->names);
    free(ix);
}

mi_tenant *mi_find(const mi_index *ix, const char *tenant)
{
    size_t n = strlen(tenant);
    int64_t id = strmap_find(&ix->names, tenant, n, strmap_hash(tenant, n));
    return id < 0 ? NULL : ix->tenants[id];
}

/* Slot for the tenant's pointer, creating the name if needed. */
static mi_tenant **tenant_slot(mi_index *ix, const char *name)
{
    size_t n = strlen(name);
    int64_t id = strmap_intern(&ix->names, name, n, strmap_hash(name, n));
    if (id < 0)
        return NULL;
    if ((uint32_t)id >= ix->cap) {
        uint32_t cap = ix->cap ? ix->cap * 2 : 8;
        mi_tenant **t = realloc(ix->tenants, (size_t)cap * sizeof *t);
        if (!t)
            return NULL;
        memset(t + ix->cap, 0, (size_t)(cap - ix->cap) * sizeof *t);
        ix->tenants = t;
        ix->cap = cap;
    }
    return &ix->tenants[id];
}

mi_tenant *mi_get(mi_index *ix, const char *tenant)
{
    mi_tenant **slot = tenant_slot(ix, tenant);
    if (slot && !*slot)
        *slot = mi_tenant_new(tenant);
    return slot ? *slot : NULL;
}

mi_tenant *mi_swap(mi_index *ix, mi_tenant *t)
{
    mi_tenant **slot = tenant_slot(ix, t->name);
    if (!slot) { /* cannot happen for a tenant that was found before */
        mi_tenant_free(t);
        return NULL;
    }
    mi_tenant *old = *slot;
    if (t->live == 0) {
        mi_tenant_free(t);
        t = NULL;
    }
    *slot = t;
    return old;
}

mi_tenant *mi_tenant_new(const char *name)
{
    mi_tenant *t = calloc(1, sizeof *t);
    if (t && !(t->name = strdup(name))) {
        free(t);
        t = NULL;
    }
    return t;
}

void mi_tenant_free(mi_tenant *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; i < t->term_ids.n; i++)
        free(t->terms[i].post);
    free(t->terms);
    strmap_free(&t->term_ids);
    free(t->docs);
    strmap_free(&t->doc_ids);
    free(t->rowid);
    free(t->dl);
    free(t->lang);
    free(t->doc);
    free(t->next);
    free(t->name);
    free(t);
}

const char *mi_tenant_name(const mi_tenant *t) { return t->name; }
uint32_t mi_tenant_live(const mi_tenant *t) { return t->live; }

int mi_tenant_wants_rebuild(const mi_tenant *t)
{
    return t->dead >= 1024 && t->dead > t->live / 2;
}

int mi_tenant_latin(const mi_tenant *t)
{
    int best = -1;
    for (int l = 0; l < MI_MAX_LANGS; l++)
        if (t->latin_count[l] && (best < 0 || t->latin_count[l] > t->latin_count[best]))
            best = l;
    return best;
}

/* ---- adding and removing ----------------------------------------------- */

static int grow_chunks(mi_tenant *t)
{
    uint32_t cap = t->chunks_cap ? t->chunks_cap * 2 : 64;
    int64_t *rowid = realloc(t->rowid, (size_t)cap * sizeof *rowid);
    if (rowid)
        t->rowid = rowid;
    uint32_t *dl = realloc(t->dl, (size_t)cap * sizeof *dl);
    if (dl)
        t->dl = dl;
    uint32_t *doc = realloc(t->doc, (size_t)cap * sizeof *doc);
    if (doc)
        t->doc = doc;
    uint32_t *next = realloc(t->next, (size_t)cap * sizeof *next);
    if (next)
        t->next = next;
    int8_t *lang = realloc(t->lang, (size_t)cap * sizeof *lang);
    if (lang)
        t->lang = lang;
    if (!rowid || !dl || !doc || !next || !lang)
        return -1;
    t->chunks_cap = cap;
    return 0;
}

/* Id of a string in map, growing the parallel array arr (of elem bytes,
 * zero-filled) so that the id indexes it. -1 on no memory. */
static int64_t intern_with(strmap *map, void **arr, uint32_t *cap, size_t elem,
                           const char *s, size_t n)
{
    int64_t id = strmap_intern(map, s, n, strmap_hash(s, n));
    if (id < 0 || (uint32_t)id < *cap)
        return id;
    uint32_t ncap = *cap ? *cap * 2 : 64;
    void *p = realloc(*arr, (size_t)ncap * elem);
    if (!p)
        return -1;
    memset((char *)p + (size_t)*cap * elem, 0, (size_t)(ncap - *cap) * elem);
    *arr = p;
    *cap = ncap;
    return id;
}

static int posting_append(mi_term *term, uint32_t id, uint32_t tf)
{
    if (term->cap - term->len < 2 * VARINT_MAX) {
        uint32_t cap = term->cap ? term->cap * 2 : 16;
        uint8_t *p = realloc(term->post, cap);
        if (!p)
            return -1;
        term->post = p;
        term->cap = cap;
    }
    uint32_t gap = term->len ? id - term->last : id;
    term->len += (uint32_t)varint_put(term->post + term->len, gap);
    term->len += (uint32_t)varint_put(term->post + term->len, tf);
    term->last = id;
    term->df++;
    return 0;
}

static int add_terms(mi_tenant *t, uint32_t id, const uint8_t *bag, size_t len)
{
    an_iter it = {bag, bag ? bag + len : bag};
    const char *s;
    uint32_t n, tf;
    int r;
    while ((r = an_next(&it, &s, &n, &tf)) == 1) {
        int64_t tid = intern_with(&t->term_ids, (void **)&t->terms, &t->terms_cap,
                                  sizeof *t->terms, s, n);
        if (tid < 0 || posting_append(&t->terms[tid], id, tf) < 0)
            return -1;
    }
    return r;
}

int mi_add(mi_tenant *t, int64_t rowid, const char *doc_id, uint32_t dl,
           int latin, int lang, const uint8_t *bag, size_t bag_len)
{
    if (t->n_chunks == MI_NONE - 1 ||
        (t->n_chunks == t->chunks_cap && grow_chunks(t) < 0))
        return -1;
    int64_t d = intern_with(&t->doc_ids, (void **)&t->docs, &t->docs_cap,
                            sizeof *t->docs, doc_id, strlen(doc_id));
    if (d < 0)
        return -1;
    uint32_t id = t->n_chunks++;
    mi_doc *doc = &t->docs[d];
    if (doc->n == 0)
        doc->head = MI_NONE;
    t->rowid[id] = rowid;
    t->dl[id] = dl;
    t->lang[id] = (int8_t)(lang >= 0 && lang < 127 ? lang : -1);
    t->doc[id] = (uint32_t)d;
    t->next[id] = doc->head;
    doc->head = id;
    doc->n++;
    t->live++;
    t->total_len += dl;
    if (latin >= 0 && latin < MI_MAX_LANGS)
        t->latin_count[latin]++;
    return add_terms(t, id, bag, bag_len);
}

static void forget_terms(mi_tenant *t, const mi_old *o)
{
    an_iter it = {o->bag, o->bag ? o->bag + o->len : o->bag};
    const char *s;
    uint32_t n, tf;
    while (an_next(&it, &s, &n, &tf) == 1) {
        int64_t tid = strmap_find(&t->term_ids, s, n, strmap_hash(s, n));
        if (tid >= 0 && t->terms[tid].df > 0)
            t->terms[tid].df--;
    }
    if (o->latin >= 0 && o->latin < MI_MAX_LANGS && t->latin_count[o->latin] > 0)
        t->latin_count[o->latin]--;
}

uint32_t mi_remove_doc(mi_tenant *t, const char *doc_id, const mi_old *old,
                       size_t n_old)
{
    size_t n = strlen(doc_id);
    int64_t d = strmap_find(&t->doc_ids, doc_id, n, strmap_hash(doc_id, n));
    uint32_t died = 0;
    if (d >= 0) {
        for (uint32_t c = t->docs[d].head; t->docs[d].n && c != MI_NONE; c = t->next[c]) {
            if (t->doc[c] == MI_DEAD)
                continue;
            t->doc[c] = MI_DEAD;
            t->total_len -= t->dl[c];
            t->live--;
            t->dead++;
            died++;
        }
        t->docs[d] = (mi_doc){MI_NONE, 0};
    }
    for (size_t i = 0; i < n_old; i++)
        forget_terms(t, &old[i]);
    return died;
}

uint32_t mi_doc_chunks(const mi_tenant *t, const char *doc_id)
{
    size_t n = strlen(doc_id);
    int64_t d = strmap_find(&t->doc_ids, doc_id, n, strmap_hash(doc_id, n));
    return d < 0 ? 0 : t->docs[d].n;
}

/* ---- search -------------------------------------------------------------- */

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
