/*
 * docs — the document service: upload, list, fetch and delete documents,
 * keeping the storage instance (the source of truth) and the retriever's
 * index in step. An upload is extracted and chunked before anything is
 * written, so bad input never reaches storage; it is stored before it is
 * indexed, and a failed index step removes what was stored (or, for a
 * replacement, puts the previous version back: docs_prev.c), so the index
 * never points at a document storage lacks and a failed upload loses
 * nothing. Everything blocking runs as a
 * job on the worker pool and reports through the caller's sink there
 * (docs_jobs.c). A counter of accepted jobs lets docs_free wait for exactly
 * its own work.
 * The start-up work (seeding an empty store, re-indexing documents the
 * index lacks, e.g. after its file was deleted) runs as a chain of short
 * pool jobs, a few documents each, so it neither holds a worker for long
 * nor delays docs_free by more than one document. The re-index and seed
 * code lives in docs_reindex.c.
 */
#define _GNU_SOURCE
#include "docs_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docname.h"
#include "docs_prev.h"
#include "docs_track.h"
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
    track_progress(d->track, req->tenant, res->id, "storing", NULL, NULL, NULL);
    if (rc == RK_OK) rc = docs__store(d, &res->meta, req->data, req->len, &e);
    if (rc == RK_OK) {
        uint64_t stored = req->len;
        track_progress(d->track, req->tenant, res->id, d->retriever ? "indexing" : NULL,
                       &stored, NULL, NULL);
    }
    if (rc != RK_OK) {
        if (rc == RK_ERR_TOO_LARGE) res->http = 413;
        rc = rk_fail(err, rc, "storage unavailable: %s", e.msg);
    } else if (d->retriever &&
               (rc = docs__index(d, req->tenant, res->id, doc, res->sha256, &e)) != RK_OK) {
        put_undo(d, req, res->id, &prev, rc, e.msg, err);
    } else {
        res->http = 201;
        res->chunks = doc->chunks.n;
        uint64_t n = d->retriever ? doc->chunks.n : 0;
        track_progress(d->track, req->tenant, res->id, "done", NULL, NULL, &n);
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
    track_progress(d->track, req->tenant, res->id, "extracting", NULL, NULL, NULL);
    if ((rc = ingest_run(d->ingest, req->data, req->len, filename, req->content_type, &doc, err)) != RK_OK) {
        res->http = ingest_http_status(rc);
        return rc;
    }
    uint64_t total = doc.chunks.n;
    track_progress(d->track, req->tenant, res->id, NULL, NULL, &total, NULL);
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
    if (!d || !(d->track = track_new()) || (seed_dir && !(d->seed_dir = strdup(seed_dir)))) {
        if (d) track_free(d->track);
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
    ingest_set_free(d->ingest);
    track_free(d->track);
    free(d->seed_dir);
    free(d);
}

void docs_set_cache(docs *d, rk_instance *cache)
{
    if (d) d->cache = cache;
}

void docs_set_ingest(docs *d, ingest_set *s)
{
    if (!d) {
        ingest_set_free(s);
        return;
    }
    ingest_set_free(d->ingest);
    d->ingest = s;
}
