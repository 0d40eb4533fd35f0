/*
 * docs_jobs — the document service's public calls (docs_put, docs_list,
 * docs_get, docs_delete) as jobs on the worker pool: each copies what it
 * needs from the caller, runs the blocking storage/retriever work through
 * docs.c's helpers on a worker, and reports through the caller's sink
 * there. The counter of accepted jobs (docs__submit, docs__job_done) is
 * what lets docs_free wait for exactly its own work.
 */
#define _GNU_SOURCE
#include "docs_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docs_track.h"
#include "docver.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"

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
    track_rec tr = {.state = TRACK_DONE, .indexed_ms = clock_wall_ms(), .phase = "done",
                    .bytes_total = j->len, .bytes_stored = j->len, .chunks_total = res.chunks,
                    .chunks_indexed = d->retriever ? res.chunks : 0};
    track_set(d->track, j->tenant, res.id, &tr); /* clears an earlier failure */
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
        track_drop(d->track, j->tenant, j->id);
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
