/*
 * good_retriever — a minimal in-memory retriever for tests: chunks in one
 * mutex-protected array, scored by how many distinct query words (ASCII
 * letters and digits, case-folded) occur as whole words in the chunk.
 * Crude ranking, but it keeps tenants apart and replaces a document's
 * chunks atomically, which is what the retriever contract asks.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

typedef struct chunk {
    char *tenant, *doc, *title, *text;
    uint32_t index;
} chunk;

typedef struct gr {
    pthread_mutex_t mu;
    chunk *v;
    size_t n;
} gr;

typedef struct hit {
    const chunk *c;
    double score;
} hit;

static void chunk_free(chunk *c)
{
    free(c->tenant); free(c->doc); free(c->title); free(c->text);
}

/* Caller holds mu. Returns how many chunks were dropped. */
static size_t drop_doc(gr *r, const char *tenant, const char *doc)
{
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->v[i].tenant, tenant) == 0 && strcmp(r->v[i].doc, doc) == 0) {
            chunk_free(&r->v[i]);
            dropped++;
        } else {
            r->v[kept++] = r->v[i];
        }
    }
    r->n = kept;
    return dropped;
}

static int gr_index(void *ctx, const rk_chunk *chunks, size_t n, rk_err *err)
{
    gr *r = ctx;
    if (!n) return RK_OK;
    chunk *add = calloc(n, sizeof *add);
    size_t made = 0;
    for (; add && made < n; made++) {
        const rk_chunk *s = &chunks[made];
        chunk *c = &add[made];
        c->index = s->index;
        if (!(c->tenant = strdup(s->tenant)) || !(c->doc = strdup(s->doc_id)) ||
            !(c->title = strdup(s->title ? s->title : "")) || !(c->text = strdup(s->text))) {
            chunk_free(c);
            break;
        }
    }
    pthread_mutex_lock(&r->mu);
    chunk *nv = made == n ? realloc(r->v, (r->n + n) * sizeof *nv) : NULL;
    if (nv) {
        r->v = nv;
        drop_doc(r, chunks[0].tenant, chunks[0].doc_id);
        memcpy(r->v + r->n, add, n * sizeof *add);
        r->n += n;
    }
    pthread_mutex_unlock(&r->mu);
    if (!nv)
        for (size_t i = 0; i < made; i++) chunk_free(&add[i]);
    free(add);
    return nv ? RK_OK : rk_fail(err, RK_ERR_NOMEM, "out of memory");
}

static int gr_remove(void *ctx, const char *tenant, const char *doc, rk_err *err)
{
    gr *r = ctx;
    pthread_mutex_lock(&r->mu);
    size_t dropped = drop_doc(r, tenant, doc);
    pthread_mutex_unlock(&r->mu);
    return dropped ? RK_OK : rk_fail(err, RK_ERR_NOT_FOUND, "no such document");
}

static int has_word(const char *text, const char *w, size_t wl)
{
    for (const char *p = text; *p;) {
        while (*p && !isalnum((unsigned char)*p)) p++;
        const char *s = p;
        while (*p && isalnum((unsigned char)*p)) p++;
        if ((size_t)(p - s) == wl && strncasecmp(s, w, wl) == 0) return 1;
    }
    return 0;
}

static double score(const char *text, const char *q)
{
    double sc = 0;
    for (const char *p = q; *p;) {
        while (*p && !isalnum((unsigned char)*p)) p++;
        const char *s = p;
        while (*p && isalnum((unsigned char)*p)) p++;
        if (p > s && has_word(text, s, (size_t)(p - s))) sc += 1;
    }
    return sc;
}

static int allowed(const rk_query *q, const char *doc)
{
    if (!q->doc_ids) return 1;
    for (size_t i = 0; i < q->n_doc_ids; i++)
        if (strcmp(q->doc_ids[i], doc) == 0) return 1;
    return 0;
}

static int by_score(const void *a, const void *b)
{
    const hit *x = a, *y = b;
    return x->score < y->score ? 1 : x->score > y->score ? -1 : 0;
}

static int gr_search(void *ctx, const rk_query *q,
                     void (*on_hit)(void *ud, const rk_passage *p), void *ud, rk_err *err)
{
    gr *r = ctx;
    pthread_mutex_lock(&r->mu);
    hit *h = malloc((r->n ? r->n : 1) * sizeof *h);
    size_t nh = 0;
    for (size_t i = 0; h && i < r->n; i++) {
        if (strcmp(r->v[i].tenant, q->tenant) != 0 || !allowed(q, r->v[i].doc)) continue;
        double sc = score(r->v[i].text, q->text ? q->text : "");
        if (sc > 0) h[nh++] = (hit){&r->v[i], sc};
    }
    if (h) qsort(h, nh, sizeof *h, by_score);
    if (nh > q->k) nh = q->k;
    for (size_t i = 0; i < nh; i++) {
        rk_passage p = {.struct_size = sizeof p, .doc_id = h[i].c->doc,
                        .title = h[i].c->title, .text = h[i].c->text,
                        .score = h[i].score, .chunk_index = h[i].c->index};
        on_hit(ud, &p);
    }
    pthread_mutex_unlock(&r->mu);
    if (!h) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    free(h);
    return (int)nh;
}

static int64_t gr_doc_chunks(void *ctx, const char *tenant, const char *doc, rk_err *err)
{
    gr *r = ctx;
    int64_t n = 0;
    pthread_mutex_lock(&r->mu);
    for (size_t i = 0; i < r->n; i++)
        n += strcmp(r->v[i].tenant, tenant) == 0 && strcmp(r->v[i].doc, doc) == 0;
    pthread_mutex_unlock(&r->mu);
    return n;
}

static int gr_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    gr *r = calloc(1, sizeof *r);
    if (!r) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&r->mu, NULL);
    *ctx = r;
    return RK_OK;
}

static void gr_destroy(void *ctx)
{
    gr *r = ctx;
    for (size_t i = 0; i < r->n; i++) chunk_free(&r->v[i]);
    free(r->v);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static const rk_retriever_vtable vt = {
    .struct_size = sizeof(rk_retriever_vtable),
    .index = gr_index, .remove = gr_remove, .search = gr_search,
    .doc_chunks = gr_doc_chunks,
};

static const rk_plugin desc = {
    .struct_size = sizeof(rk_plugin),
    .abi_major = RK_ABI_MAJOR,
    .abi_minor = RK_ABI_MINOR,
    .kind = RK_KIND_RETRIEVER,
    .name = "good_retriever",
    .version = "1.0.0",
    .description = "in-memory word-overlap test retriever",
    .create = gr_create,
    .destroy = gr_destroy,
    .vtable = &vt,
};

RK_PLUGIN_DEFINE(desc)
