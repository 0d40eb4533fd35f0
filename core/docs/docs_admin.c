/*
 * docs_admin — per-document administration: status, re-index and
 * asynchronous uploads. Storage and the index are the truth for a stored
 * document (its metadata; whether the index holds its stored version);
 * docs_track adds what only this process knows (work under way, the
 * last failure and when it indexed the document). A recorded failure
 * wins over "indexed": a failed replacement keeps the previous version
 * searchable, and the client that sent it must still learn it failed.
 * A later successful upload or re-index clears it. Jobs run on the pool
 * and are counted like docs_jobs.c's, so docs_free waits for them.
 */
#define _GNU_SOURCE
#include "docs_admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docs_impl.h"
#include "docs_track.h"
#include "docver.h"
#include "gate.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"

typedef enum adm_op { ADM_STATUS, ADM_REINDEX, ADM_PUT } adm_op;

typedef struct adm_job {
    docs *d;
    adm_op op;
    rk_doc_sink sink;
    void *ud;
    char *tenant, *id, *filename, *ctype;
    void *data;
    size_t len;
} adm_job;

/* What storage, the index and the tracker say of one document. */
typedef struct st_view {
    track_rec tr;
    int have_tr, stored;
    rk_doc_meta meta;
    char filename[DOCS_FILENAME_MAX + 1], ctype[128], sha[SHA256_HEX_LEN];
    int64_t chunks;
    char version[RK_DOC_VERSION_MAX];
    int current; /* 1: the index holds the stored version */
} st_view;

static void copy(char *dst, size_t cap, const char *s) { snprintf(dst, cap, "%s", s ? s : ""); }

static void on_stat(void *ud, const rk_doc_meta *m)
{
    st_view *v = ud;
    v->stored = 1;
    v->meta = *m;
    copy(v->filename, sizeof v->filename, m->filename);
    copy(v->ctype, sizeof v->ctype, m->content_type);
    copy(v->sha, sizeof v->sha, m->sha256);
    v->meta.filename = v->filename;
    v->meta.content_type = v->ctype;
    v->meta.sha256 = v->sha;
}

/* The index's side: chunks, recorded version, whether it is current. */
static int view_index(docs *d, const char *tenant, const char *id, st_view *v, rk_err *err)
{
    v->chunks = GATE_CALL(d->retriever, rk_retriever_vtable, doc_chunks,
                          (int64_t)RK_ERR_UNSUPPORTED, tenant, id, err);
    if (v->chunks < 0) return (int)v->chunks;
    if (RK_HAS_FIELD(d->rvt, rk_retriever_vtable, doc_version) && d->rvt->doc_version) {
        int rc = GATE_CALL(d->retriever, rk_retriever_vtable, doc_version, RK_ERR_UNSUPPORTED,
                           tenant, id, v->version, sizeof v->version, err);
        if (rc != RK_OK && rc != RK_ERR_NOT_FOUND) return rc;
        v->version[sizeof v->version - 1] = '\0';
    }
    if (!v->stored) return RK_OK;
    int cur = docs__index_current(d, tenant, id, v->sha, err);
    if (cur < 0) return cur;
    v->current = cur;
    return RK_OK;
}

/* 200, 404 or 503 (*status and err set); v filled for 200. */
static int view_load(docs *d, const char *tenant, const char *id, st_view *v, int *status,
                     rk_err *err)
{
    memset(v, 0, sizeof *v);
    v->chunks = -1;
    v->have_tr = track_get(d->track, tenant, id, &v->tr);
    int rc = docs__stat(d, tenant, id, on_stat, v, err);
    if (rc != RK_OK && rc != RK_ERR_NOT_FOUND) {
        *status = rc;
        rk_fail(err, rc, "storage unavailable: %s", err->msg);
        return 503;
    }
    if (!v->stored && !v->have_tr) {
        *status = rk_fail(err, RK_ERR_NOT_FOUND, "no document '%s'", id);
        return 404;
    }
    rk_err e = {{0}};
    if (d->retriever && (rc = view_index(d, tenant, id, v, &e)) != RK_OK) {
        *status = rk_fail(err, rc, "index unavailable: %s", e.msg);
        return 503;
    }
    return 200;
}

/* The state and error to report for v. */
static const char *view_state(docs *d, const st_view *v, const char **error)
{
    *error = NULL;
    if (v->have_tr && v->tr.state == TRACK_PENDING) return "pending";
    if (v->have_tr && v->tr.state == TRACK_FAILED) {
        *error = v->tr.error;
        return "failed";
    }
    if (!d->retriever) return "stored";
    if (v->current) return "indexed";
    if (atomic_load(&d->reindexing)) return "pending";
    *error = "the index does not hold the stored version (its upload or re-index was "
             "interrupted): POST /documents/{id}/reindex";
    return "failed";
}

static void emit(adm_job *j, const st_view *v)
{
    if (!RK_HAS_FIELD(&j->sink, rk_doc_sink, on_status) || !j->sink.on_status) return;
    const char *error = NULL;
    const char *state = view_state(j->d, v, &error);
    int64_t indexed = v->have_tr && v->tr.indexed_ms ? v->tr.indexed_ms : 0;
    if (!indexed && v->current) indexed = v->meta.created_ms; /* indexed right after storing */
    rk_doc_status st = {
        .struct_size = sizeof st, .tenant = j->tenant, .id = j->id,
        .meta = v->stored ? &v->meta : NULL, .state = state, .error = error,
        .chunks = v->chunks, .indexed_ms = indexed,
        .version = j->d->retriever ? v->version : NULL,
        .phase = v->have_tr ? v->tr.phase : "",
        .bytes_total = v->tr.bytes_total,
        .bytes_stored = v->tr.bytes_stored,
        .chunks_total = v->tr.chunks_total,
        .chunks_indexed = v->tr.chunks_indexed,
    };
    j->sink.on_status(j->ud, &st);
}

static void done_fail(adm_job *j, int status, int http, const char *msg)
{
    if (http >= 500)
        log_warn("documents", "tenant=%s id=%s: %s", j->tenant, j->id ? j->id : "-", msg);
    j->sink.on_done(j->ud, status, http, msg, NULL);
}

/* Report the document's state now: on_status + on_done(200), or a failure. */
static void report(adm_job *j)
{
    st_view v;
    rk_err err = {{0}};
    int status = RK_OK;
    int http = view_load(j->d, j->tenant, j->id, &v, &status, &err);
    if (http != 200) {
        done_fail(j, status, http, err.msg);
        return;
    }
    emit(j, &v);
    j->sink.on_done(j->ud, RK_OK, 200, NULL, NULL);
}

/* ---- re-index ------------------------------------------------------------ */

static void fail_record(docs *d, const char *tenant, const char *id, int http, const char *msg)
{
    track_rec r = {.state = TRACK_FAILED, .http = http};
    copy(r.phase, sizeof r.phase, "done");
    copy(r.error, sizeof r.error, msg);
    track_set(d->track, tenant, id, &r);
}

static void run_reindex(adm_job *j)
{
    docs *d = j->d;
    rk_err err = {{0}};
    if (!d->retriever) {
        done_fail(j, RK_ERR_UNSUPPORTED, 409,
                  "no index is configured (pipeline.retriever): nothing to re-index");
        return;
    }
    size_t n = 0;
    track_rec before;
    int had = track_get(d->track, j->tenant, j->id, &before);
    docs__doc_lock(d, j->tenant, j->id);
    int rc = docs__redo(d, j->tenant, j->id, &n, &err);
    docs__doc_unlock(d, j->tenant, j->id);
    docver_bump(d->cache, j->tenant); /* the index changed, or lost the document */
    if (rc == RK_ERR_NOT_FOUND) {
        if (had && before.state != TRACK_PENDING) track_drop(d->track, j->tenant, j->id);
        done_fail(j, rc, 404, err.msg);
        return;
    }
    if (rc != RK_OK) {
        int http = ingest_http_status(rc);
        if (http >= 500) http = 503;
        fail_record(d, j->tenant, j->id, http, err.msg);
        done_fail(j, rc, http, err.msg);
        return;
    }
    track_rec r = {.state = TRACK_DONE, .indexed_ms = clock_wall_ms(),
                   .chunks_total = n, .chunks_indexed = n};
    copy(r.phase, sizeof r.phase, "done");
    track_set(d->track, j->tenant, j->id, &r);
    log_info("documents", "re-indexed tenant=%s id=%s chunks=%zu", j->tenant, j->id, n);
    report(j);
}

/* ---- asynchronous upload ---------------------------------------------------- */

/* The id docs__put will use: the given one, or derived from the last
 * component of the filename. 0, or -1 with a message. */
static int async_id(adm_job *j, char id[DOCS_ID_MAX + 1], const char **why)
{
    if (j->id) {
        if (!docs_name_ok(j->id)) {
            *why = "invalid document id (want [A-Za-z0-9_-]{1,64})";
            return -1;
        }
        copy(id, DOCS_ID_MAX + 1, j->id);
        return 0;
    }
    const char *base = j->filename ? j->filename : "";
    for (const char *p = base; *p; p++)
        if (*p == '/' || *p == '\\') base = p + 1;
    if (!*base || strlen(base) > DOCS_FILENAME_MAX) {
        *why = "a filename of 1..255 bytes (its last path component) or an id is required";
        return -1;
    }
    docs_derive_id(base, id);
    return 0;
}

/* Accepted: pending from here, on_done(202); then the whole upload. */
static void run_put_async(adm_job *j)
{
    docs *d = j->d;
    char id[DOCS_ID_MAX + 1];
    const char *why = NULL;
    if (async_id(j, id, &why) < 0) {
        done_fail(j, RK_ERR_INVALID, 400, why);
        return;
    }
    free(j->id);
    if (!(j->id = strdup(id))) {
        done_fail(j, RK_ERR_NOMEM, 503, "out of memory");
        return;
    }
    track_rec r = {.state = TRACK_PENDING, .bytes_total = j->len};
    copy(r.phase, sizeof r.phase, "queued");
    if (track_set(d->track, j->tenant, id, &r) != RK_OK) {
        done_fail(j, RK_ERR_UNAVAILABLE, 503, "too many uploads under way: try again later");
        return;
    }
    st_view v = {.have_tr = 1, .tr = r, .chunks = -1};
    emit(j, &v);
    j->sink.on_done(j->ud, RK_OK, 202, NULL, NULL); /* the sink is gone from here on */

    int64_t t0 = clock_now_ms();
    docs_put_req req = {j->tenant, id, j->filename, j->ctype, j->data, j->len};
    docs_put_res res;
    rk_err err = {{0}};
    if (docs__put(d, &req, &res, &err) != RK_OK) {
        fail_record(d, j->tenant, id, res.http, err.msg);
        log_warn("documents", "async upload tenant=%s id=%s: %s", j->tenant, id, err.msg);
        return;
    }
    r = (track_rec){.state = TRACK_DONE, .indexed_ms = clock_wall_ms(), .bytes_total = j->len,
                    .bytes_stored = j->len, .chunks_total = res.chunks,
                    .chunks_indexed = d->retriever ? res.chunks : 0};
    copy(r.phase, sizeof r.phase, "done");
    track_set(d->track, j->tenant, id, &r);
    docver_bump(d->cache, j->tenant);
    metrics_add(d->m_uploaded, 1);
    metrics_observe(d->m_ingest, (double)(clock_now_ms() - t0) / 1000.0);
    log_info("documents", "stored tenant=%s id=%s bytes=%zu chunks=%zu (async)", j->tenant, id,
             j->len, res.chunks);
}

/* ---- jobs --------------------------------------------------------------------- */

static void job_free(adm_job *j)
{
    free(j->tenant);
    free(j->id);
    free(j->filename);
    free(j->ctype);
    free(j->data);
    free(j);
}

static void job_run(void *ud)
{
    adm_job *j = ud;
    docs *d = j->d;
    if (!docs_name_ok(j->tenant))
        done_fail(j, RK_ERR_INVALID, 400, "invalid tenant (want [A-Za-z0-9_-]{1,64})");
    else if (j->op != ADM_PUT && !docs_name_ok(j->id))
        done_fail(j, RK_ERR_INVALID, 400, "invalid document id (want [A-Za-z0-9_-]{1,64})");
    else if (j->op == ADM_STATUS)
        report(j);
    else if (j->op == ADM_REINDEX)
        run_reindex(j);
    else
        run_put_async(j);
    job_free(j);
    docs__job_done(d);
}

static int dup_opt(char **dst, const char *s)
{
    return !s || (*dst = strdup(s)) != NULL;
}

static int job_submit(docs *d, adm_op op, const rk_doc_sink *sink, void *ud,
                      const char *tenant, const char *id, const rk_doc_upload *up,
                      rk_err *err)
{
    if (!d || !sink || !RK_HAS_FIELD(sink, rk_doc_sink, on_done) || !sink->on_done)
        return rk_fail(err, RK_ERR_INVALID, "docs: missing service or sink");
    adm_job *j = calloc(1, sizeof *j);
    if (!j) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    *j = (adm_job){.d = d, .op = op, .ud = ud};
    memcpy(&j->sink, sink, sink->struct_size < sizeof j->sink ? sink->struct_size : sizeof j->sink);
    j->sink.struct_size = sink->struct_size < sizeof j->sink ? sink->struct_size : sizeof j->sink;
    int ok = dup_opt(&j->tenant, tenant ? tenant : DOCS_DEFAULT_TENANT) && dup_opt(&j->id, id);
    if (ok && up) {
        ok = dup_opt(&j->filename, up->filename) && dup_opt(&j->ctype, up->content_type) &&
             (j->data = malloc(up->len ? up->len : 1)) != NULL;
        if (ok && up->len) memcpy(j->data, up->data, up->len);
        j->len = up->len;
    }
    if (!ok) {
        job_free(j);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    int rc = docs__submit(d, job_run, j, err);
    if (rc != RK_OK) job_free(j);
    return rc;
}

int docs_status(docs *d, const char *tenant, const char *id, const rk_doc_sink *sink,
                void *ud, rk_err *err)
{
    return job_submit(d, ADM_STATUS, sink, ud, tenant, id ? id : "", NULL, err);
}

int docs_reindex(docs *d, const char *tenant, const char *id, const rk_doc_sink *sink,
                 void *ud, rk_err *err)
{
    return job_submit(d, ADM_REINDEX, sink, ud, tenant, id ? id : "", NULL, err);
}

int docs_put_async(docs *d, const rk_doc_upload *up, const rk_doc_sink *sink, void *ud,
                   rk_err *err)
{
    if (!up || (up->len && !up->data)) return rk_fail(err, RK_ERR_INVALID, "docs: no upload");
    return job_submit(d, ADM_PUT, sink, ud, up->tenant, up->id, up, err);
}
