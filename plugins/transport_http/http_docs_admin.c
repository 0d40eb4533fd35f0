/*
 * http_docs_admin — per-document status, re-index and asynchronous upload
 * over HTTP. The host calls follow http_docs.c's pattern (the shared
 * steps and the outcome are http_job.c's): suspend the connection before
 * the call (so a fast on_done cannot resume it first), record what the
 * worker thread reports under r->mu, resume, and answer on the MHD
 * thread. The status arrives as an rk_doc_status and is turned
 * into JSON on the worker (its strings live for the callback only). A host
 * older than these 1.1 slots gets 501 naming what is missing, so a client
 * can tell "not supported here" from "not found".
 */
#include "http_docs_admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "http_docmeta.h"
#include "http_docs.h"
#include "http_job.h"
#include "http_resp.h"
#include "http_server.h"

typedef struct adm_job {
    hjob out;       /* first: r->job is an hjob too (http_job.h) */
    json_t *status; /* the document's state, once on_status came */
} adm_job;

static void job_free(void *p)
{
    adm_job *j = p;
    if (!j)
        return;
    hjob_clear(&j->out);
    json_decref(j->status);
    free(j);
}

static json_t *opt_str(const char *s)
{
    return s ? hj_str(s) : json_null();
}

/* {"phase", "bytes_total", ...} while work is tracked, else null. */
static json_t *progress_json(const rk_doc_status *st)
{
    if (!st->phase || !st->phase[0])
        return json_null();
    return json_pack("{s:o,s:I,s:I,s:I,s:I}", "phase", hj_str(st->phase),
                     "bytes_total", (json_int_t)st->bytes_total, "bytes_stored",
                     (json_int_t)st->bytes_stored, "chunks_total",
                     (json_int_t)st->chunks_total, "chunks_indexed",
                     (json_int_t)st->chunks_indexed);
}

/* The stored document's fields (docs_meta_json), then the state. */
static json_t *status_json(const rk_doc_status *st)
{
    json_t *o = st->meta ? docmeta_json(st->meta) : json_object();
    if (!o)
        return NULL;
    if (!st->meta)
        json_object_set_new(o, "id", hj_str(st->id ? st->id : ""));
    json_object_set_new(o, "object", hj_str("document.status"));
    json_object_set_new(o, "state", hj_str(st->state ? st->state : "unknown"));
    json_object_set_new(o, "error", opt_str(st->error));
    json_object_set_new(o, "chunks", st->chunks >= 0 ? json_integer(st->chunks)
                                                     : json_null());
    json_object_set_new(o, "indexed_at",
                        st->indexed_ms > 0 ? json_integer(st->indexed_ms / 1000)
                                           : json_null());
    json_object_set_new(o, "version",
                        st->version && st->version[0] ? hj_str(st->version)
                                                      : json_null());
    json_object_set_new(o, "progress", progress_json(st));
    return o;
}

/* ---- host callbacks (a host worker thread) ------------------------------ */

static void on_status(void *ud, const rk_doc_status *st)
{
    http_req *r = ud;
    json_t *o = status_json(st); /* built outside the lock */
    pthread_mutex_lock(&r->mu);
    adm_job *j = r->job;
    json_decref(j->status);
    j->status = o;
    j->out.oom = o == NULL;
    pthread_mutex_unlock(&r->mu);
}

static const rk_doc_sink adm_sink = {
    .struct_size = sizeof(rk_doc_sink),
    .on_done = hjob_on_done,
    .on_status = on_status,
};

/* ---- answers (MHD thread, r->mu held) ------------------------------------ */

static enum MHD_Result send_status(http_req *r, adm_job *j)
{
    if (!j->status)
        return hr_fail(r, 503, NULL, "out of memory");
    json_t *o = j->status;
    j->status = NULL;
    if (j->out.http != 202)
        return hr_send_json(r, 200, o, NULL);
    const char *id = json_string_value(json_object_get(o, "id"));
    char loc[sizeof "/documents//status" + HTTP_DOC_ID_MAX];
    snprintf(loc, sizeof loc, "/documents/%s/status", id ? id : "");
    const char *extra[] = {MHD_HTTP_HEADER_LOCATION, loc, NULL};
    return hr_send_json(r, 202, o, extra);
}

static enum MHD_Result answer_locked(http_req *r)
{
    enum MHD_Result rc;
    if (hjob_answered_locked(r, &rc))
        return rc;
    return send_status(r, r->job);
}

static enum MHD_Result adm_resume(http_req *r)
{
    return hjob_resume(r, answer_locked);
}

/* Status and re-index end by themselves; on_done then frees the request. */
static const http_job_ops adm_ops = {
    .resume = adm_resume,
    .cancel = hjob_no_cancel,
    .free = job_free,
};

/* ---- starting a host call (MHD thread) ----------------------------------- */

typedef enum adm_call { CALL_STATUS, CALL_REINDEX, CALL_PUT } adm_call;

/* 0 when the host has the slot for call, else -1 with the 501 queued. */
static int slot_check(http_req *r, adm_call call, enum MHD_Result *rc)
{
    const rk_docs_service *d = r->srv->docs;
    static const char *const names[] = {"doc_status", "doc_reindex",
                                        "doc_put_async"};
    int has = 0;
    if (d && call == CALL_STATUS)
        has = RK_HAS_FIELD(d, rk_docs_service, doc_status) && d->doc_status;
    else if (d && call == CALL_REINDEX)
        has = RK_HAS_FIELD(d, rk_docs_service, doc_reindex) && d->doc_reindex;
    else if (d)
        has = RK_HAS_FIELD(d, rk_docs_service, doc_put_async) &&
              d->doc_put_async;
    if (has)
        return 0;
    *rc = hr_fail(r, d ? 501 : 400, NULL,
                  d ? "This host's document service has no %s (ragkernel 1.1 "
                      "or later has it)"
                    : "Documents are not supported by this server",
                  names[call]);
    return -1;
}

/* Suspend, call, and answer from here when the host refused at once. */
static enum MHD_Result start(http_req *r, adm_call call, const rk_doc_upload *up)
{
    enum MHD_Result rc = MHD_YES;
    if (slot_check(r, call, &rc) < 0)
        return rc;
    adm_job *j = calloc(1, sizeof *j);
    if (!j)
        return hr_fail(r, 503, NULL, "out of memory");
    r->ops = &adm_ops; /* req_free frees the job from here on */
    r->job = j;
    r->phase = PHASE_ASYNC;
    if (hjob_suspend(r, &rc) < 0)
        return rc;
    const rk_docs_service *d = r->srv->docs;
    rk_err err = {{0}};
    const char *tenant = docmeta_tenant(r);
    int st = call == CALL_STATUS
                 ? d->doc_status(r->srv->self, tenant, r->doc_id, &adm_sink, r, &err)
             : call == CALL_REINDEX
                 ? d->doc_reindex(r->srv->self, tenant, r->doc_id, &adm_sink, r, &err)
                 : d->doc_put_async(r->srv->self, up, &adm_sink, r, &err);
    return hjob_called(r, st, err.msg);
}

enum MHD_Result docs_status_handle(http_req *r)
{
    return start(r, CALL_STATUS, NULL);
}

enum MHD_Result docs_reindex_handle(http_req *r)
{
    hbuf_free(&r->body); /* the body means nothing here */
    return start(r, CALL_REINDEX, NULL);
}

enum MHD_Result docs_admin_upload_async(http_req *r, const rk_doc_upload *up)
{
    return start(r, CALL_PUT, up);
}

/* "respond-async" among the Prefer header's comma-separated preferences. */
static int prefers_async(const char *v)
{
    while (v && *v) {
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        size_t n = strcspn(v, ",;");
        while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
            n--;
        if (n == 13 && strncasecmp(v, "respond-async", 13) == 0)
            return 1;
        v = strchr(v, ',');
    }
    return 0;
}

int docs_admin_async_wanted(http_req *r, size_t len)
{
    const char *q = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
                                                "async");
    if (q && (strcmp(q, "0") == 0 || strcmp(q, "false") == 0))
        return 0;
    if (q && (strcmp(q, "1") == 0 || strcmp(q, "true") == 0 || !*q))
        return 1;
    if (q)
        return -1;
    const char *p = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                "Prefer");
    if (prefers_async(p))
        return 1;
    return r->srv->async_over > 0 && len > r->srv->async_over;
}
