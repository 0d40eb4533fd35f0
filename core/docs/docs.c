/*
 * docs — the document service: upload, list, fetch and delete documents,
 * keeping the storage instance (the source of truth) and the retriever's
 * index in step. An upload is extracted and chunked before anything is
 * written, so bad input never reaches storage; it is stored before it is
 * indexed, and a failed index step removes what was stored (or, for a
 * replacement, puts the previous version back: docs_prev.c), so the index
 * never points at a document storage lacks and a failed upload loses
 * nothing. Everything blocking runs as a
 * job on the worker pool and reports through the caller's sink there. A
 * counter of accepted jobs lets docs_free wait for exactly its own work.
 * The start-up work (seeding an empty store, re-indexing documents the
 * index lacks, e.g. after its file was deleted) runs as a chain of short
 * pool jobs, a few documents each, so it neither holds a worker for long
 * nor delays docs_free by more than one document. The re-index and seed
 * code lives in docs_reindex.c.
 */
#define _GNU_SOURCE
#include "docs_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docname.h"
#include "docs_prev.h"
#include "docver.h"
#include "extract.h"
#include "gate.h"
#include "ingest.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "sha256.h"

#define DERIVED_BASE_MAX 48

/* ---- names ------------------------------------------------------------ */

static int name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

int docs_name_ok(const char *s)
{
    size_t n = 0;
    if (!s) return 0;
    for (; s[n]; n++)
        if (n >= DOCS_ID_MAX || !name_char((unsigned char)s[n])) return 0;
    return n > 0;
}

void docs_derive_id(const char *filename, char out[DOCS_ID_MAX + 1])
{
    size_t n = 0;
    int sep = 0;
    for (const unsigned char *p = (const unsigned char *)filename; *p; p++) {
        unsigned char c = *p >= 'A' && *p <= 'Z' ? (unsigned char)(*p + 32) : *p;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            sep = 1;
            continue;
        }
        if (n + (sep && n) + 1 > DERIVED_BASE_MAX) break;
        if (sep && n) out[n++] = '-';
        sep = 0;
        out[n++] = (char)c;
    }
    if (n == 0) {
        memcpy(out, "doc", 3);
        n = 3;
    }
    sha256_ctx c;
    char hex[SHA256_HEX_LEN];
    sha256_init(&c);
    sha256_update(&c, filename, strlen(filename));
    sha256_final_hex(&c, hex);
    out[n++] = '-';
    memcpy(out + n, hex, 8);
    out[n + 8] = '\0';
}

/* The filename to store: its last path component, printable UTF-8. */
static int filename_of(const char *given, const char *id, const char **out, rk_err *err)
{
    if (!given || !*given) {
        if (!id) return rk_fail(err, RK_ERR_INVALID, "a filename or an id is required");
        *out = id;
        return RK_OK;
    }
    const char *base = given;
    for (const char *p = given; *p; p++)
        if (*p == '/' || *p == '\\') base = p + 1;
    size_t n = strlen(base);
    if (n == 0 || n > DOCS_FILENAME_MAX)
        return rk_fail(err, RK_ERR_INVALID, "filename must be 1..%d bytes", DOCS_FILENAME_MAX);
    int rc = docname_chars_ok(base, n, err);
    if (rc != RK_OK) return rc;
    *out = base;
    return RK_OK;
}

/* ---- calls into the instances, through the gate (gate.h) ---- */

typedef struct mem_reader {
    const char *p;
    size_t left;
} mem_reader;

static int64_t mem_read(void *ud, void *buf, size_t cap)
{
    mem_reader *r = ud;
    size_t n = r->left < cap ? r->left : cap;
    memcpy(buf, r->p, n);
    r->p += n;
    r->left -= n;
    return (int64_t)n;
}

int docs__store(docs *d, const rk_doc_meta *m, const void *data, size_t len, rk_err *err)
{
    mem_reader r = {data, len};
    return GATE_CALL(d->storage, rk_storage_vtable, put, RK_ERR_UNSUPPORTED, m, mem_read, &r, err);
}

int docs__unstore(docs *d, const char *tenant, const char *id, rk_err *err)
{
    return GATE_CALL(d->storage, rk_storage_vtable, remove, RK_ERR_UNSUPPORTED, tenant, id, err);
}

int docs__list(docs *d, const char *tenant, const char *after, size_t limit,
               void (*on_meta)(void *ud, const rk_doc_meta *m), void *ud, rk_err *err)
{
    return GATE_CALL(d->storage, rk_storage_vtable, list, RK_ERR_UNSUPPORTED, tenant, after, limit, on_meta, ud, err);
}

int docs__fetch(docs *d, const char *tenant, const char *id, uint64_t off, uint64_t len,
                rk_write_fn write, void *wud, rk_err *err)
{
    return GATE_CALL(d->storage, rk_storage_vtable, get, RK_ERR_UNSUPPORTED, tenant, id, off, len, write, wud, err);
}

int docs__stat(docs *d, const char *tenant, const char *id,
               void (*on_meta)(void *ud, const rk_doc_meta *m), void *ud, rk_err *err)
{
    return GATE_CALL(d->storage, rk_storage_vtable, stat, RK_ERR_UNSUPPORTED, tenant, id, on_meta, ud, err);
}

/* ---- put ---------------------------------------------------------------- */

/* The new version could not be indexed: take it out again, putting the
 * previous one back if there was one. */
static void put_undo(docs *d, const docs_put_req *req, const char *id, docs_prev *prev,
                     int rc, const char *why, rk_err *err)
{
    rk_err e2 = {{0}};
    if (prev->have) {
        if (docs__prev_restore(d, prev, &e2) == RK_OK) {
            rk_fail(err, rc, "index unavailable; the previous version is kept: %s", why);
            return;
        }
        log_warn("documents", "tenant=%s id=%s: restoring the previous version: %s",
                 req->tenant, id, e2.msg);
        rk_fail(err, rc, "index unavailable; the previous version is stored but not "
                "searchable until the index is back (it is re-indexed at start): %s", why);
        return;
    }
    /* nothing was there: no chunk may stay pointing at a missing document.
     * Index first, as a delete does: a crash in between leaves the stored
     * copy, which the start-up pass indexes (storage is the truth). */
    docs__unindex(d, req->tenant, id, &e2);
    if (docs__unstore(d, req->tenant, id, &e2) != RK_OK)
        log_warn("documents", "tenant=%s id=%s: removing after a failed index: %s",
                 req->tenant, id, e2.msg);
    rk_fail(err, rc, "index unavailable: %s", why);
}

/* Store and index an extracted upload (docs__put's second half), under
 * the document's lock. The index records the stored sha256, so a crash
 * between the two steps is found and repaired at start (docs_index.c). */
static int put_store_index(docs *d, const docs_put_req *req, docs_put_res *res,
                           const ingest_doc *doc, rk_err *err)
{
    rk_err e = {{0}};
    docs_prev prev = {0};
    int rc = RK_OK;
    res->http = 503;
    docs__doc_lock(d, req->tenant, res->id);
    if (d->retriever) rc = docs__prev_load(d, req->tenant, res->id, &prev, &e);
    if (rc == RK_OK) rc = docs__store(d, &res->meta, req->data, req->len, &e);
    if (rc != RK_OK) {
        if (rc == RK_ERR_TOO_LARGE) res->http = 413;
        rc = rk_fail(err, rc, "storage unavailable: %s", e.msg);
    } else if (d->retriever &&
               (rc = docs__index(d, req->tenant, res->id, doc, res->sha256, &e)) != RK_OK) {
        put_undo(d, req, res->id, &prev, rc, e.msg, err);
    } else {
        res->http = 201;
        res->chunks = doc->chunks.n;
    }
    docs__doc_unlock(d, req->tenant, res->id);
    docs__prev_free(&prev);
    return rc;
}

/* Extract + chunk, store, index; see docs_put. res->meta points into res
 * and req. */
int docs__put(docs *d, const docs_put_req *req, docs_put_res *res, rk_err *err)
{
    ingest_doc doc = {0};
    const char *filename = NULL;
    int rc = RK_ERR_INVALID;
    res->http = 400;
    if (!docs_name_ok(req->tenant))
        return rk_fail(err, rc, "invalid tenant (want [A-Za-z0-9_-]{1,%d})", DOCS_ID_MAX);
    if (req->id && !docs_name_ok(req->id))
        return rk_fail(err, rc, "invalid document id (want [A-Za-z0-9_-]{1,%d})", DOCS_ID_MAX);
    if ((rc = filename_of(req->filename, req->id, &filename, err)) != RK_OK) return rc;
    if (req->id) snprintf(res->id, sizeof res->id, "%s", req->id);
    else docs_derive_id(filename, res->id);
    if ((rc = ingest_run(req->data, req->len, filename, req->content_type, &doc, err)) != RK_OK) {
        res->http = ingest_http_status(rc);
        return rc;
    }
    sha256_ctx sc;
    sha256_init(&sc);
    sha256_update(&sc, req->data, req->len);
    sha256_final_hex(&sc, res->sha256);
    res->meta = (rk_doc_meta){.struct_size = sizeof res->meta, .tenant = req->tenant,
                              .id = res->id, .filename = filename,
                              .content_type = doc.content_type, .size = req->len,
                              .sha256 = res->sha256, .created_ms = clock_wall_ms()};
    rc = put_store_index(d, req, res, &doc, err);
    ingest_doc_free(&doc);
    return rc;
}

/* ---- jobs ---------------------------------------------------------------- */

typedef enum doc_op { OP_PUT, OP_LIST, OP_GET, OP_DELETE } doc_op;
static const char *const op_names[] = {"put", "list", "get", "delete"};

typedef struct doc_job {
    docs *d;
    doc_op op;
    rk_doc_sink sink;
    void *ud;
    char *tenant, *id, *after, *filename, *ctype;
    void *data;
    size_t len, limit;
    uint64_t offset, length;
} doc_job;

void docs__job_done(docs *d)
{
    pthread_mutex_lock(&d->mu);
    if (--d->inflight == 0) pthread_cond_broadcast(&d->idle);
    pthread_mutex_unlock(&d->mu);
}

int docs__submit(docs *d, void (*fn)(void *), void *arg, rk_err *err)
{
    pthread_mutex_lock(&d->mu);
    int stopping = d->stopping;
    if (!stopping) d->inflight++;
    pthread_mutex_unlock(&d->mu);
    if (stopping) return rk_fail(err, RK_ERR_UNAVAILABLE, "the document service is stopping");
    if (pool_submit(d->pool, fn, arg) != RK_OK) {
        docs__job_done(d);
        return rk_fail(err, RK_ERR_UNAVAILABLE, "the worker pool is shutting down");
    }
    return RK_OK;
}

static void job_free(doc_job *j)
{
    free(j->tenant);
    free(j->id);
    free(j->after);
    free(j->filename);
    free(j->ctype);
    free(j->data);
    free(j);
}

__attribute__((format(printf, 5, 6))) static void fail(doc_job *j, int status, int http,
                                                      const char *next, const char *fmt, ...)
{
    char msg[RK_ERR_MSG_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char labels[32];
    snprintf(labels, sizeof labels, "op=\"%s\"", op_names[j->op]);
    metrics_add(metrics_get(RK_METRIC_COUNTER, "ragkernel_document_errors_total",
                            "document operations that failed", labels), 1);
    char pub[256];
    if (http >= 500) {
        log_warn("documents", "op=%s tenant=%s id=%s: %s", op_names[j->op], j->tenant,
                 j->id ? j->id : "-", msg);
        /* "storage unavailable: <the backend's text>": a tenant gets the
         * host's words only; the backend's (S3 shows bucket, key, host and
         * what it signed) went to the log above, redacted */
        const char *colon = strstr(msg, ": ");
        int n = colon ? (int)(colon - msg) : (int)strlen(msg);
        snprintf(pub, sizeof pub, "%.*s (%s; details in the server log)", n > 160 ? 160 : n,
                 msg, rk_strerror(status));
        j->sink.on_done(j->ud, status, http, pub, next);
        return;
    }
    j->sink.on_done(j->ud, status, http, msg, next);
}

static void run_put(doc_job *j)
{
    docs *d = j->d;
    int64_t t0 = clock_now_ms();
    docs_put_req req = {j->tenant, j->id, j->filename, j->ctype, j->data, j->len};
    docs_put_res res;
    rk_err err = {{0}};
    int rc = docs__put(d, &req, &res, &err);
    if (rc != RK_OK) {
        fail(j, rc, res.http, NULL, "%s", err.msg);
        return;
    }
    docver_bump(d->cache, j->tenant);
    metrics_add(d->m_uploaded, 1);
    metrics_observe(d->m_ingest, (double)(clock_now_ms() - t0) / 1000.0);
    log_info("documents", "stored tenant=%s id=%s bytes=%zu chunks=%zu", j->tenant, res.id,
             j->len, res.chunks);
    if (j->sink.on_meta) j->sink.on_meta(j->ud, &res.meta);
    j->sink.on_done(j->ud, RK_OK, 201, NULL, NULL);
}

typedef struct list_ctx {
    doc_job *j;
    size_t count;
    char last[DOCS_ID_MAX + 1];
} list_ctx;

static void on_list_meta(void *ud, const rk_doc_meta *m)
{
    list_ctx *lc = ud;
    snprintf(lc->last, sizeof lc->last, "%s", m->id ? m->id : "");
    lc->count++;
    if (lc->j->sink.on_meta) lc->j->sink.on_meta(lc->j->ud, m);
}

static void run_list(doc_job *j)
{
    rk_err err = {{0}};
    list_ctx lc = {.j = j};
    size_t limit = j->limit == 0 ? DOCS_LIST_DEFAULT : j->limit;
    if (limit > DOCS_LIST_MAX) limit = DOCS_LIST_MAX;
    if (j->after && !docs_name_ok(j->after)) {
        fail(j, RK_ERR_INVALID, 400, NULL, "invalid cursor 'after'");
        return;
    }
    int rc = docs__list(j->d, j->tenant, j->after, limit, on_list_meta, &lc, &err);
    if (rc < 0) {
        fail(j, rc, rc == RK_ERR_INVALID ? 400 : 503, NULL, "storage unavailable: %s", err.msg);
        return;
    }
    j->sink.on_done(j->ud, RK_OK, 200, NULL, lc.count == limit && lc.count ? lc.last : NULL);
}

typedef struct get_ctx {
    doc_job *j;
    int found, range_bad, stopped;
} get_ctx;

static void on_get_meta(void *ud, const rk_doc_meta *m)
{
    get_ctx *g = ud;
    g->found = 1;
    g->range_bad = g->j->offset > m->size;
    if (!g->range_bad && g->j->sink.on_meta) g->j->sink.on_meta(g->j->ud, m);
}

static int on_get_data(void *ud, const void *data, size_t len)
{
    get_ctx *g = ud;
    if (!g->j->sink.on_data || g->j->sink.on_data(g->j->ud, data, len) >= 0) return 0;
    g->stopped = 1;
    return RK_ERR_CANCELLED;
}

static void run_get(doc_job *j)
{
    rk_err err = {{0}};
    get_ctx g = {.j = j};
    int rc = docs__stat(j->d, j->tenant, j->id, on_get_meta, &g, &err);
    if (rc == RK_OK && !g.found) rc = rk_fail(&err, RK_ERR_NOT_FOUND, "not found");
    if (rc == RK_OK && !g.range_bad)
        rc = docs__fetch(j->d, j->tenant, j->id, j->offset, j->length, on_get_data, &g, &err);
    if (rc == RK_OK && g.range_bad)
        fail(j, RK_ERR_INVALID, 416, NULL, "offset %llu is past the end",
             (unsigned long long)j->offset);
    else if (g.stopped)
        fail(j, RK_ERR_CANCELLED, 499, NULL, "the receiver stopped the transfer");
    else if (rc == RK_ERR_NOT_FOUND)
        fail(j, rc, 404, NULL, "no document '%s'", j->id);
    else if (rc != RK_OK)
        fail(j, rc, 503, NULL, "storage unavailable: %s", err.msg);
    else
        j->sink.on_done(j->ud, RK_OK, 200, NULL, NULL);
}

static void run_delete(doc_job *j)
{
    rk_err err = {{0}};
    docs *d = j->d;
    docs__doc_lock(d, j->tenant, j->id);
    int rc = d->retriever ? docs__unindex(d, j->tenant, j->id, &err) : RK_OK;
    int indexed = rc == RK_OK || rc == RK_ERR_NOT_FOUND;
    if (indexed) rc = docs__unstore(d, j->tenant, j->id, &err);
    docs__doc_unlock(d, j->tenant, j->id);
    docver_bump(d->cache, j->tenant); /* even a partial delete changed the index */
    if (!indexed) {
        fail(j, rc, 503, NULL, "index unavailable: %s", err.msg);
    } else if (rc == RK_ERR_NOT_FOUND) {
        fail(j, rc, 404, NULL, "no document '%s'", j->id);
    } else if (rc != RK_OK) {
        fail(j, rc, 503, NULL, "storage unavailable: %s", err.msg);
    } else {
        metrics_add(d->m_deleted, 1);
        log_info("documents", "deleted tenant=%s id=%s", j->tenant, j->id);
        j->sink.on_done(j->ud, RK_OK, 204, NULL, NULL);
    }
}

static void job_run(void *ud)
{
    doc_job *j = ud;
    docs *d = j->d;
    if (!docs_name_ok(j->tenant))
        fail(j, RK_ERR_INVALID, 400, NULL, "invalid tenant (want [A-Za-z0-9_-]{1,%d})",
             DOCS_ID_MAX);
    else if ((j->op == OP_GET || j->op == OP_DELETE) && !docs_name_ok(j->id))
        fail(j, RK_ERR_INVALID, 400, NULL, "invalid document id (want [A-Za-z0-9_-]{1,%d})",
             DOCS_ID_MAX);
    else if (j->op == OP_PUT) run_put(j);
    else if (j->op == OP_LIST) run_list(j);
    else if (j->op == OP_GET) run_get(j);
    else run_delete(j);
    job_free(j);
    docs__job_done(d);
}

/* A job with copies of everything the caller passed; NULL strings stay NULL. */
static doc_job *job_new(docs *d, doc_op op, const rk_doc_sink *sink, void *ud,
                        const char *tenant, const char *id, rk_err *err)
{
    if (!d || !sink || !RK_HAS_FIELD(sink, rk_doc_sink, on_done) || !sink->on_done) {
        rk_fail(err, RK_ERR_INVALID, "docs: missing service or sink");
        return NULL;
    }
    doc_job *j = calloc(1, sizeof *j);
    if (!j) goto nomem;
    j->d = d;
    j->op = op;
    j->ud = ud;
    memcpy(&j->sink, sink, sink->struct_size < sizeof j->sink ? sink->struct_size : sizeof j->sink);
    j->tenant = strdup(tenant ? tenant : DOCS_DEFAULT_TENANT);
    if (!j->tenant || (id && !(j->id = strdup(id)))) goto nomem;
    return j;
nomem:
    if (j) job_free(j);
    rk_fail(err, RK_ERR_NOMEM, "out of memory");
    return NULL;
}

static int job_submit(doc_job *j, rk_err *err)
{
    int rc = docs__submit(j->d, job_run, j, err);
    if (rc != RK_OK) job_free(j);
    return rc;
}

int docs_put(docs *d, const rk_doc_upload *up, const rk_doc_sink *sink, void *ud,
             rk_err *err)
{
    if (!up || (up->len && !up->data)) return rk_fail(err, RK_ERR_INVALID, "docs: no upload");
    doc_job *j = job_new(d, OP_PUT, sink, ud, up->tenant, up->id, err);
    if (!j) return RK_ERR_INVALID;
    j->len = up->len;
    if ((up->filename && !(j->filename = strdup(up->filename))) ||
        (up->content_type && !(j->ctype = strdup(up->content_type))) ||
        !(j->data = malloc(up->len ? up->len : 1))) {
        job_free(j);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    if (up->len) memcpy(j->data, up->data, up->len);
    return job_submit(j, err);
}

int docs_list(docs *d, const char *tenant, const char *after, size_t limit,
              const rk_doc_sink *sink, void *ud, rk_err *err)
{
    doc_job *j = job_new(d, OP_LIST, sink, ud, tenant, NULL, err);
    if (!j) return RK_ERR_INVALID;
    j->limit = limit;
    if (after && !(j->after = strdup(after))) {
        job_free(j);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    return job_submit(j, err);
}

int docs_get(docs *d, const char *tenant, const char *id, uint64_t offset,
             uint64_t length, const rk_doc_sink *sink, void *ud, rk_err *err)
{
    doc_job *j = job_new(d, OP_GET, sink, ud, tenant, id ? id : "", err);
    if (!j) return RK_ERR_INVALID;
    j->offset = offset;
    j->length = length;
    return job_submit(j, err);
}

int docs_delete(docs *d, const char *tenant, const char *id, const rk_doc_sink *sink,
                void *ud, rk_err *err)
{
    doc_job *j = job_new(d, OP_DELETE, sink, ud, tenant, id ? id : "", err);
    if (!j) return RK_ERR_INVALID;
    return job_submit(j, err);
}

/* ---- lifecycle ------------------------------------------------------------ */

docs *docs_new(rk_instance *storage, rk_instance *retriever, pool *p,
               const char *seed_dir, rk_err *err)
{
    if (!storage || !storage->plugin || storage->plugin->kind != RK_KIND_STORAGE || !p) {
        rk_fail(err, RK_ERR_CONFIG, "documents need a storage instance");
        return NULL;
    }
    if (retriever && (!retriever->plugin || retriever->plugin->kind != RK_KIND_RETRIEVER)) {
        rk_fail(err, RK_ERR_CONFIG, "instance '%s' is not a retriever", retriever->name);
        return NULL;
    }
    docs *d = calloc(1, sizeof *d);
    if (!d || (seed_dir && !(d->seed_dir = strdup(seed_dir)))) {
        free(d);
        rk_fail(err, RK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    d->storage = storage;
    d->svt = storage->plugin->vtable;
    d->retriever = retriever;
    d->rvt = retriever ? retriever->plugin->vtable : NULL;
    d->pool = p;
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->idle, NULL);
    docs__locks_init(d);
    d->m_uploaded = metrics_get(RK_METRIC_COUNTER, "ragkernel_documents_uploaded_total",
                                "documents stored and indexed", NULL);
    d->m_deleted = metrics_get(RK_METRIC_COUNTER, "ragkernel_documents_deleted_total",
                               "documents deleted", NULL);
    d->m_ingest = metrics_get(RK_METRIC_HISTOGRAM, "ragkernel_ingest_seconds",
                              "upload time: extract, chunk, store and index", NULL);
    return d;
}

void docs_free(docs *d)
{
    if (!d) return;
    atomic_store(&d->stop, 1);
    pthread_mutex_lock(&d->mu);
    d->stopping = 1;
    while (d->inflight > 0) pthread_cond_wait(&d->idle, &d->mu);
    pthread_mutex_unlock(&d->mu);
    pthread_cond_destroy(&d->idle);
    pthread_mutex_destroy(&d->mu);
    docs__locks_destroy(d);
    free(d->seed_dir);
    free(d);
}

void docs_set_cache(docs *d, rk_instance *cache)
{
    if (d) d->cache = cache;
}
