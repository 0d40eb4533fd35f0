/*
 * ops — the retriever vtable slots. A write analyses its chunks before
 * taking any lock (stemming is the expensive part and runs in parallel
 * across worker threads), commits to SQLite under the writer mutex, and
 * only then applies the change to the in-memory index under the write
 * lock, so memory never shows what the file does not hold. A search ranks
 * under the read lock, releases it, and fetches texts for the winners
 * through its own read handle; a winner replaced in between is skipped.
 */
#include "ops.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "load.h"
#include "pool.h"

#define RS_MAX_K 10000 /* most passages one search returns */
#define RS_LANG_BOOST 1.25f /* score factor for chunks in the query's language */

static double mono_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- writes ---------------------------------------------------------------- */

typedef struct old_rows {
    an_buf bytes;        /* the bags, back to back */
    mi_old *rows;
    size_t n, cap;
    int nomem;
} old_rows;

static void collect_old(void *ud, const st_row *r)
{
    old_rows *o = ud;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 8;
        mi_old *p = realloc(o->rows, cap * sizeof *p);
        if (!p) {
            o->nomem = 1;
            return;
        }
        o->rows = p;
        o->cap = cap;
    }
    if (an_buf_reserve(&o->bytes, r->terms_len) < 0) {
        o->nomem = 1;
        return;
    }
    if (r->terms_len)
        memcpy(o->bytes.p + o->bytes.len, r->terms, r->terms_len);
    /* bag holds an offset until the buffer stops moving (fix_old) */
    o->rows[o->n++] = (mi_old){(const uint8_t *)(uintptr_t)o->bytes.len, r->terms_len,
                               tp_lang_find(r->latin)};
    o->bytes.len += r->terms_len;
}

static void fix_old(old_rows *o)
{
    for (size_t i = 0; i < o->n; i++) /* an empty bag may have no buffer at all */
        o->rows[i].bag = o->rows[i].len ? o->bytes.p + (uintptr_t)o->rows[i].bag : NULL;
}

/* Apply a committed replace to memory. Caller holds wmu. */
static int apply(rs_ctx *c, const char *tenant, const char *doc_id, old_rows *old,
                 const st_row *rows, size_t n, const int *latins, rk_err *err)
{
    int rc = RK_OK;
    uint32_t before = 0, after = 0;
    fix_old(old);
    pthread_rwlock_wrlock(&c->lock);
    /* a removal must not create the tenant it did not find */
    mi_tenant *t = n ? mi_get(c->mi, tenant) : mi_find(c->mi, tenant);
    if (!t && n == 0 && old->n == 0) {
        pthread_rwlock_unlock(&c->lock);
        return RK_OK;
    }
    if (!t || old->nomem) {
        rc = RK_ERR_NOMEM;
    } else {
        before = mi_tenant_live(t);
        mi_remove_doc(t, doc_id, old->rows, old->n);
        for (size_t i = 0; i < n && rc == RK_OK; i++)
            if (mi_add(t, rows[i].rowid, doc_id, rows[i].dl, latins[i],
                       tp_lang_find(rows[i].lang), rows[i].terms, rows[i].terms_len) < 0)
                rc = RK_ERR_NOMEM;
        after = mi_tenant_live(t);
    }
    int rebuild = rc != RK_OK || mi_tenant_wants_rebuild(t);
    pthread_rwlock_unlock(&c->lock);
    c->n_chunks = c->n_chunks - before + after;
    if (rebuild) /* out of memory midway, or too many dead postings */
        rc = rs_rebuild_tenant(c, tenant, err);
    rs_set_chunk_gauge(c);
    return rc;
}

/* Analyse every chunk into w->blobs; rows[i].terms are offsets until
 * all are done. */
static int analyse_chunks(rs_ctx *c, rs_worker *w, const rk_chunk *chunks, size_t n,
                          st_row *rows, int *latins, rk_err *err)
{
    an_buf one = {0};
    int rc = RK_OK;
    w->blobs.len = 0;
    for (size_t i = 0; i < n && rc == RK_OK; i++) {
        const rk_chunk *ch = &chunks[i];
        const char *hint = RK_HAS_FIELD(ch, rk_chunk, lang) ? ch->lang : NULL;
        an_chunk_info info;
        if (an_chunk(w->an, w->bag, &c->opts, ch->title, ch->text, hint, -1, &info, &one) < 0 ||
            an_buf_reserve(&w->blobs, one.len) < 0) {
            rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
            break;
        }
        rows[i] = (st_row){.title = ch->title ? ch->title : "", .text = ch->text,
                           .idx = ch->index, .lang = tp_lang_code(info.main),
                           .latin = tp_lang_code(info.latin), .dl = info.dl,
                           .terms = (const uint8_t *)(uintptr_t)w->blobs.len,
                           .terms_len = one.len};
        latins[i] = info.latin;
        if (one.len) /* a chunk without words has an empty bag */
            memcpy(w->blobs.p + w->blobs.len, one.p, one.len);
        w->blobs.len += one.len;
    }
    an_buf_free(&one);
    for (size_t i = 0; i < n && rc == RK_OK; i++)
        rows[i].terms = rows[i].terms_len ? w->blobs.p + (uintptr_t)rows[i].terms : NULL;
    return rc;
}

static int check_chunks(const rk_chunk *chunks, size_t n, rk_err *err)
{
    if (!chunks || n == 0)
        return rk_fail(err, RK_ERR_INVALID, "no chunks");
    const char *tenant = chunks[0].tenant, *doc_id = chunks[0].doc_id;
    if (!tenant || !*tenant || !doc_id || !*doc_id)
        return rk_fail(err, RK_ERR_INVALID, "chunk without tenant or doc_id");
    for (size_t i = 0; i < n; i++) {
        if (!chunks[i].text)
            return rk_fail(err, RK_ERR_INVALID, "chunk %zu of %s has no text", i, doc_id);
        if (!chunks[i].tenant || strcmp(chunks[i].tenant, tenant) != 0 ||
            !chunks[i].doc_id || strcmp(chunks[i].doc_id, doc_id) != 0)
            return rk_fail(err, RK_ERR_INVALID, "chunks of one call must share tenant and doc_id");
    }
    return RK_OK;
}

/* Replace (tenant, doc_id) by rows[0..n) in SQLite, then in memory. */
static int write_doc(rs_ctx *c, const char *tenant, const char *doc_id, st_row *rows,
                     size_t n, const char *version, const int *latins, size_t *n_old,
                     rk_err *err)
{
    old_rows old = {0};
    pthread_mutex_lock(&c->wmu);
    int rc = st_replace(c->wdb, tenant, doc_id, rows, n, version, collect_old, &old, n_old,
                        err);
    if (rc == RK_OK)
        rc = apply(c, tenant, doc_id, &old, rows, n, latins, err);
    pthread_mutex_unlock(&c->wmu);
    an_buf_free(&old.bytes);
    free(old.rows);
    return rc;
}

static int index_doc(rs_ctx *c, const rk_chunk *chunks, size_t n, const char *version,
                     rk_err *err)
{
    int rc = check_chunks(chunks, n, err);
    if (rc != RK_OK)
        return rc;
    rs_worker *w = rs_worker_get(c);
    st_row *rows = calloc(n, sizeof *rows);
    int *latins = calloc(n, sizeof *latins);
    size_t n_old;
    if (!w || !rows || !latins)
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
    if (rc == RK_OK)
        rc = analyse_chunks(c, w, chunks, n, rows, latins, err);
    if (rc == RK_OK)
        rc = write_doc(c, chunks[0].tenant, chunks[0].doc_id, rows, n, version, latins,
                       &n_old, err);
    if (w)
        rs_worker_put(c, w);
    free(rows);
    free(latins);
    return rc;
}

int rs_index(void *ctx, const rk_chunk *chunks, size_t n, rk_err *err)
{
    return index_doc(ctx, chunks, n, NULL, err);
}

int rs_index_versioned(void *ctx, const rk_chunk *chunks, size_t n, const char *version,
                       rk_err *err)
{
    if (version && strlen(version) >= RK_DOC_VERSION_MAX)
        return rk_fail(err, RK_ERR_INVALID, "document version longer than %d bytes",
                       RK_DOC_VERSION_MAX - 1);
    return index_doc(ctx, chunks, n, version, err);
}

int rs_remove(void *ctx, const char *tenant, const char *doc_id, rk_err *err)
{
    rs_ctx *c = ctx;
    size_t n_old = 0;
    if (!tenant || !doc_id)
        return rk_fail(err, RK_ERR_INVALID, "tenant and doc_id are required");
    int rc = write_doc(c, tenant, doc_id, NULL, 0, NULL, NULL, &n_old, err);
    if (rc == RK_OK && n_old == 0)
        rc = rk_fail(err, RK_ERR_NOT_FOUND, "document %s is not indexed", doc_id);
    return rc;
}

int64_t rs_doc_chunks(void *ctx, const char *tenant, const char *doc_id, rk_err *err)
{
    rs_ctx *c = ctx;
    if (!tenant || !doc_id)
        return rk_fail(err, RK_ERR_INVALID, "tenant and doc_id are required");
    pthread_rwlock_rdlock(&c->lock);
    const mi_tenant *t = mi_find(c->mi, tenant);
    int64_t n = t ? mi_doc_chunks(t, doc_id) : 0;
    pthread_rwlock_unlock(&c->lock);
    return n;
}

int rs_doc_version(void *ctx, const char *tenant, const char *doc_id, char *out,
                   size_t cap, rk_err *err)
{
    rs_ctx *c = ctx;
    if (!tenant || !doc_id || !out || cap == 0)
        return rk_fail(err, RK_ERR_INVALID, "tenant, doc_id and a buffer are required");
    out[0] = '\0';
    int64_t n = rs_doc_chunks(ctx, tenant, doc_id, err);
    if (n <= 0)
        return n < 0 ? (int)n : rk_fail(err, RK_ERR_NOT_FOUND, "document %s is not indexed",
                                        doc_id);
    pthread_mutex_lock(&c->wmu);
    int rc = st_doc_version(c->wdb, tenant, doc_id, out, cap, err);
    pthread_mutex_unlock(&c->wmu);
    return rc < 0 ? rc : RK_OK;
}

/* ---- search ---------------------------------------------------------------- */

typedef struct ranked {
    size_t nq;          /* analysed query terms in w->q */
    mi_result res;      /* hits in w->hits */
} ranked;

static int rank(rs_ctx *c, rs_worker *w, const rk_query *q, size_t k, ranked *out)
{
    int fast = RK_HAS_FIELD(q, rk_query, fast) ? q->fast : 0;
    mi_params p = {.k1 = c->k1, .b = c->b, .k = k, .max_terms = c->max_terms,
                   .fast = fast, .now_ms = c->host->now_ms,
                   .deadline_ms = RK_HAS_FIELD(q, rk_query, deadline_ms) ? q->deadline_ms : 0,
                   .doc_ids = q->doc_ids, .n_doc_ids = q->n_doc_ids};
    int rc = 0;
    *out = (ranked){0};
    pthread_rwlock_rdlock(&c->lock);
    const mi_tenant *t = mi_find(c->mi, q->tenant);
    if (t) {
        /* a query is too short to tell its Latin language reliably: unless
         * its stopwords say otherwise, stem it like most of the tenant's text */
        int fallback = mi_tenant_latin(t);
        tp_langinfo li;
        tp_detect(q->text, strlen(q->text), c->opts.enabled,
                  fallback >= 0 ? fallback : c->opts.default_latin, &li);
        out->nq = an_query(w->an, q->text, li.latin, w->q, RS_MAX_Q);
        /* in a tenant with documents in several languages, near ties (a
         * name both a guide and its translation contain) go to the
         * question's; one language alone ranks exactly as without this */
        p.lang = li.main;
        p.lang_boost = RS_LANG_BOOST;
        rc = mi_search(t, w->mis, w->q, out->nq, &p, w->hits, &out->res);
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

static int deliver(rs_ctx *c, rs_worker *w, const rk_query *q, const ranked *r,
                   void (*on_hit)(void *ud, const rk_passage *p), void *ud, rk_err *err)
{
    int delivered = 0, rc = RK_OK;
    int64_t deadline = RK_HAS_FIELD(q, rk_query, deadline_ms) ? q->deadline_ms : 0;
    if (r->res.n_hits && !w->rd)
        rc = st_open(c->path, c->busy_ms, 1, &w->rd, err);
    for (size_t i = 0; rc == RK_OK && i < r->res.n_hits; i++) {
        if (delivered && deadline > 0 && c->host->now_ms() > deadline)
            break; /* the best ones are out; the rest would be late */
        st_row row;
        int found = st_fetch(w->rd, w->hits[i].rowid, q->tenant, &row, err);
        if (found < 0)
            rc = found;
        if (found <= 0) /* gone: the document was replaced after ranking */
            continue;
        const char *snippet = snip_make(w->snip, w->an, row.text, tp_lang_find(row.latin),
                                        w->q, r->nq, r->res.used, c->snippet_tokens);
        rk_passage p = {.struct_size = sizeof p, .doc_id = row.doc_id, .title = row.title,
                        .text = row.text, .snippet = snippet, .score = w->hits[i].score,
                        .chunk_index = row.idx};
        on_hit(ud, &p);
        delivered++;
    }
    if (w->rd)
        st_fetch_done(w->rd);
    if (rc != RK_OK && delivered) { /* keep what the caller already has */
        c->host->log(c->self, RK_LOG_WARN, "search: %s", err->msg);
        rc = RK_OK;
    }
    return rc != RK_OK ? rc : delivered;
}

static int fit_hits(rs_worker *w, size_t k)
{
    if (k <= w->hits_cap)
        return 0;
    mi_hit *h = realloc(w->hits, k * sizeof *h);
    if (!h)
        return -1;
    w->hits = h;
    w->hits_cap = k;
    return 0;
}

int rs_search(void *ctx, const rk_query *q,
              void (*on_hit)(void *ud, const rk_passage *p), void *ud, rk_err *err)
{
    rs_ctx *c = ctx;
    if (!q || !q->tenant || !q->text || !on_hit)
        return rk_fail(err, RK_ERR_INVALID, "query needs a tenant, a text and a callback");
    if (q->k == 0)
        return 0;
    double t0 = mono_seconds();
    size_t k = q->k < RS_MAX_K ? q->k : RS_MAX_K;
    rs_worker *w = rs_worker_get(c);
    if (!w || fit_hits(w, k) < 0) {
        if (w)
            rs_worker_put(c, w);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    ranked r;
    int rc = rank(c, w, q, k, &r);
    if (rc < 0)
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
    else
        rc = deliver(c, w, q, &r, on_hit, ud, err);
    rs_worker_put(c, w);
    if (r.res.timed_out)
        c->host->log(c->self, RK_LOG_DEBUG, "search stopped at its deadline");
    if (c->m_search && c->host->metric_observe)
        c->host->metric_observe(c->m_search, mono_seconds() - t0);
    return rc;
}
