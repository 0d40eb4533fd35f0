/*
 * memindex — owns the in-memory inverted index: its tenants, the dense
 * chunk ids, the compact varint posting lists appended as chunks arrive,
 * and the statistics BM25 needs (document frequencies, lengths), kept
 * right as chunks are added and documents removed. Chunk data is kept as
 * parallel arrays (struct of arrays) because the scoring loop (mi_search.c)
 * only touches the document lengths.
 */
#include "memindex.h"

#include <stdlib.h>
#include <string.h>

#include "memindex_impl.h"
#include "varint.h"

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
