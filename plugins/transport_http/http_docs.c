/*
 * http_docs — owns upload, listing and deletion of documents from the HTTP
 * side. Same suspend-then-call pattern as chats (http_chat.c): the
 * connection is suspended before the host call so a fast on_done cannot
 * resume it first, the host's worker thread records what it learns under
 * r->mu, on_done resumes, and the MHD thread answers (those steps and the
 * outcome they share with the other host calls are http_job.c's). Uploads
 * reach the host as one buffer (the body, bounded by max_body, or the file
 * part of a multipart body, sliced without a copy) because the host
 * ingests the whole document at once anyway. Listing asks for one item more than the
 * page so `has_more` is exact instead of "maybe".
 */
#include "http_docs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_docs_admin.h"
#include "http_job.h"
#include "http_multipart.h"
#include "http_resp.h"
#include "http_server.h"

#define LIST_DEFAULT 100
#define LIST_MAX 1000 /* the host's cap on one page */
#define HDR_FILENAME "X-Filename"

typedef enum docs_op { DOP_PUT, DOP_LIST, DOP_DELETE } docs_op;

typedef struct docs_job {
    hjob out; /* first: r->job is an hjob too (http_job.h) */
    docs_op op;
    size_t limit;   /* list: the page size the client asked for */
    json_t *result; /* put: the document; list: the items so far */
} docs_job;

static void job_free(void *p)
{
    docs_job *j = p;
    if (!j)
        return;
    hjob_clear(&j->out);
    json_decref(j->result);
    free(j);
}

int docs_available(const http_req *r)
{
    return r->srv->docs != NULL;
}

/* ---- host callbacks (a host worker thread) ------------------------------ */

static void on_meta(void *ud, const rk_doc_meta *m)
{
    http_req *r = ud;
    json_t *doc = docmeta_json(m); /* built outside the lock */
    pthread_mutex_lock(&r->mu);
    docs_job *j = r->job;
    if (!doc) {
        j->out.oom = 1;
    } else if (j->op == DOP_LIST) {
        if (json_array_append_new(j->result, doc) < 0)
            j->out.oom = 1;
    } else {
        json_decref(j->result);
        j->result = doc;
    }
    pthread_mutex_unlock(&r->mu);
}

static const rk_doc_sink docs_sink = {
    .struct_size = sizeof(rk_doc_sink),
    .on_meta = on_meta,
    .on_done = hjob_on_done,
};

/* ---- answers (MHD thread, r->mu held) ------------------------------------ */

static enum MHD_Result send_put(http_req *r, docs_job *j)
{
    if (!j->result)
        return hr_fail(r, 500, NULL,
                       "The document was stored but no metadata came back");
    const char *id = json_string_value(json_object_get(j->result, "id"));
    char loc[sizeof "/documents/" + HTTP_DOC_ID_MAX];
    snprintf(loc, sizeof loc, "/documents/%s", id ? id : "");
    const char *extra[] = {MHD_HTTP_HEADER_LOCATION, loc, NULL};
    json_t *doc = j->result;
    j->result = NULL;
    return hr_send_json(r, 201, doc, extra);
}

static enum MHD_Result answer_locked(http_req *r)
{
    docs_job *j = r->job;
    enum MHD_Result rc;
    if (hjob_answered_locked(r, &rc))
        return rc;
    if (j->op == DOP_PUT)
        return send_put(r, j);
    if (j->op == DOP_LIST) {
        json_t *items = j->result;
        j->result = NULL;
        return hjob_send_page(r, items, j->limit, j->out.next);
    }
    return hr_send_empty(r, 204, NULL);
}

static enum MHD_Result docs_resume(http_req *r)
{
    return hjob_resume(r, answer_locked);
}

/* Nothing to cancel: put, list and delete are short and end by
 * themselves; on_done then frees the request. */
static const http_job_ops docs_ops = {
    .resume = docs_resume,
    .cancel = hjob_no_cancel,
    .free = job_free,
};

/* ---- starting a host call (MHD thread) ----------------------------------- */

static docs_job *job_new(http_req *r, docs_op op)
{
    docs_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->op = op;
    r->ops = &docs_ops; /* req_free frees the job from here on */
    r->job = j;
    r->phase = PHASE_ASYNC;
    return j;
}

static enum MHD_Result unavailable(http_req *r)
{
    return hr_fail(r, 400, NULL, "Documents are not supported by this server");
}

/* ---- POST /documents ----------------------------------------------------- */

typedef struct upload {
    const char *data;
    size_t len;
    char filename[MP_FILENAME_MAX];
    char ctype[MP_VALUE_MAX]; /* "" = let the host decide */
    char id[MP_VALUE_MAX];    /* "" = derived from the filename */
} upload;

static const char *query(http_req *r, const char *name)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
                                                name);
    return v && *v ? v : NULL;
}

/* curl -d / --data-binary label every body as a form: that says nothing
 * about the document, so the host guesses from the name and bytes. */
static void raw_type(http_req *r, char *out, size_t cap)
{
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    out[0] = '\0';
    while (ct && (*ct == ' ' || *ct == '\t'))
        ct++;
    if (!ct || !*ct ||
        strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0)
        return;
    snprintf(out, cap, "%s", ct);
}

/* The raw body: ?filename= or X-Filename (percent-encoded UTF-8, so any
 * name fits in a header), the type from Content-Type. */
static int upload_raw(http_req *r, upload *u, enum MHD_Result *rc)
{
    const char *q = query(r, "filename");
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                HDR_FILENAME);
    int dec = 0;
    if (q)
        snprintf(u->filename, sizeof u->filename, "%s", q);
    else if (h && *h)
        dec = mp_pct_decode(h, strlen(h), u->filename, sizeof u->filename);
    if (dec == MP_NUL) {
        *rc = hr_fail(r, 400, "filename",
                      "X-Filename contains a NUL byte (%%00)");
        return -1;
    }
    if (dec < 0) {
        *rc = hr_fail(r, 400, "filename",
                      "X-Filename must be a percent-encoded UTF-8 name of at "
                      "most %d bytes",
                      MP_FILENAME_MAX - 1);
        return -1;
    }
    raw_type(r, u->ctype, sizeof u->ctype);
    u->data = r->body.data;
    u->len = r->body.len;
    return 0;
}

static int upload_form(http_req *r, const char *boundary, upload *u,
                       enum MHD_Result *rc)
{
    mp_form f;
    char err[160];
    if (mp_parse(r->body.data ? r->body.data : "", r->body.len, boundary, &f,
                 err, sizeof err) < 0) {
        *rc = hr_fail(r, 400, "file", "%s", err);
        return -1;
    }
    if (!f.has_file) {
        *rc = hr_fail(r, 400, "file",
                      "The multipart/form-data body has no 'file' part");
        return -1;
    }
    u->data = f.data;
    u->len = f.len;
    memcpy(u->filename, f.filename, sizeof u->filename);
    memcpy(u->ctype, f.content_type, sizeof u->ctype);
    if (f.has_id)
        memcpy(u->id, f.id, sizeof u->id);
    if (!u->filename[0]) { /* a file part without a name: the query's */
        const char *q = query(r, "filename");
        snprintf(u->filename, sizeof u->filename, "%s", q ? q : "");
    }
    return 0;
}

static int upload_parse(http_req *r, upload *u, enum MHD_Result *rc)
{
    char boundary[MP_BOUNDARY_MAX + 1];
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    int err = mp_form_boundary(ct, boundary, sizeof boundary)
                  ? upload_form(r, boundary, u, rc)
                  : upload_raw(r, u, rc);
    if (err < 0)
        return -1;
    const char *qid = query(r, "id");
    if (!u->id[0] && qid)
        snprintf(u->id, sizeof u->id, "%s", qid);
    if (!u->filename[0]) {
        *rc = hr_fail(r, 400, "filename",
                      "Name the document: send multipart/form-data with a "
                      "'file' part, or the raw bytes with ?filename=<name> "
                      "or an X-Filename header");
        return -1;
    }
    if (u->id[0] && !docs_id_ok(u->id)) {
        *rc = hr_fail(r, 400, "id",
                      "Invalid document id: use 1 to %d characters of A-Z, "
                      "a-z, 0-9, '_' and '-'",
                      HTTP_DOC_ID_MAX);
        return -1;
    }
    return 0;
}

enum MHD_Result docs_upload_handle(http_req *r)
{
    if (!docs_available(r))
        return unavailable(r);
    upload u;
    memset(&u, 0, sizeof u);
    enum MHD_Result rc = MHD_YES;
    if (upload_parse(r, &u, &rc) < 0)
        return rc;
    rk_doc_upload up = {
        .struct_size = sizeof up,
        .tenant = docmeta_tenant(r),
        .id = u.id[0] ? u.id : NULL,
        .filename = u.filename,
        .content_type = u.ctype[0] ? u.ctype : NULL,
        .data = u.data,
        .len = u.len,
    };
    int async = docs_admin_async_wanted(r, u.len);
    if (async < 0)
        return hr_fail(r, 400, "async", "'async' must be 1, true, 0 or false");
    if (async) {
        rc = docs_admin_upload_async(r, &up);
        hbuf_free(&r->body); /* doc_put_async took its own copy */
        return rc;
    }
    docs_job *j = job_new(r, DOP_PUT);
    if (!j)
        return hr_fail(r, 503, NULL, "out of memory");
    if (hjob_suspend(r, &rc) < 0)
        return rc;
    rk_err err = {{0}};
    int st = r->srv->docs->doc_put(r->srv->self, &up, &docs_sink, r, &err);
    rc = hjob_called(r, st, err.msg);
    hbuf_free(&r->body); /* doc_put took its own copy */
    return rc;
}

/* ---- GET /documents, DELETE /documents/{id} ------------------------------ */

enum MHD_Result docs_list_handle(http_req *r)
{
    if (!docs_available(r))
        return unavailable(r);
    size_t limit = LIST_DEFAULT;
    const char *l = query(r, "limit"), *after = query(r, "after");
    if (l && hjob_parse_limit(l, LIST_MAX, &limit) < 0)
        return hr_fail(r, 400, "limit", "'limit' must be an integer from 1 "
                                        "to %d", LIST_MAX);
    if (after && !docs_id_ok(after))
        return hr_fail(r, 400, "after", "'after' must be the 'next' cursor "
                                        "of a previous page");
    docs_job *j = job_new(r, DOP_LIST);
    if (!j || !(j->result = json_array()))
        return hr_fail(r, 503, NULL, "out of memory");
    j->limit = limit;
    enum MHD_Result rc = MHD_YES;
    if (hjob_suspend(r, &rc) < 0)
        return rc;
    rk_err err = {{0}};
    int st = r->srv->docs->doc_list(r->srv->self, docmeta_tenant(r), after,
                                    limit + 1, &docs_sink, r, &err);
    return hjob_called(r, st, err.msg);
}

enum MHD_Result docs_delete_handle(http_req *r)
{
    if (!docs_available(r))
        return unavailable(r);
    docs_job *j = job_new(r, DOP_DELETE);
    if (!j)
        return hr_fail(r, 503, NULL, "out of memory");
    enum MHD_Result rc = MHD_YES;
    if (hjob_suspend(r, &rc) < 0)
        return rc;
    rk_err err = {{0}};
    int st = r->srv->docs->doc_delete(r->srv->self, docmeta_tenant(r), r->doc_id,
                                      &docs_sink, r, &err);
    return hjob_called(r, st, err.msg);
}

int docs_id_ok(const char *id)
{
    size_t n = strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          "0123456789_-");
    return n > 0 && n <= HTTP_DOC_ID_MAX && id[n] == '\0';
}
