/*
 * http_download — owns streaming a stored document to a client. The host
 * pushes the bytes from a worker thread (on_data, which may block) and
 * MHD pulls them on its own thread (a content reader, which must not):
 * between them sits a bounded buffer under r->mu (http_dlbuf). The worker
 * waits while the buffer is full (backpressure that holds no MHD thread);
 * the reader, finding it empty, suspends the connection and
 * returns 0, and the next on_data resumes it. So a large document never
 * sits in memory whole, and a slow client slows the storage read instead
 * of growing a buffer. Workers are few and shared with the chat pipeline,
 * so a client that stops reading must not hold one: after DL_PAUSE_MS
 * without progress on_data stops the host call (the transfer "pauses",
 * no call in flight), and once the client has drained half the buffer the
 * reader asks the host for the rest, from the byte it had reached. The
 * stopped call counts as a cancelled get in the host's metrics.
 *
 * When the answer depends on the metadata (HEAD, If-None-Match, Range),
 * a one-byte probe comes first; the bytes are then asked for exactly, and
 * the headers are sent only once the second call confirms the document
 * is still the one the probe saw (same sha256).
 */
#include "http_download.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_dlbuf.h"
#include "http_docmeta.h"
#include "http_docs.h"
#include "http_range.h"
#include "http_resp.h"
#include "http_server.h"

#define DL_BUF_MAX (128 * 1024) /* bytes held between the worker and MHD */
#define DL_BLOCK (32 * 1024)    /* MHD's read size */
#define DL_PAUSE_MS 5000        /* no progress this long: release the worker */

typedef enum dl_step { STEP_PROBE, STEP_BODY } dl_step;

typedef struct dl_job {
    /* the request (MHD thread, before any host call) */
    int head;
    byte_range range;
    char *if_none_match, *if_range;
    /* metadata, from the probe or the body call */
    int have_meta;
    char *filename, *ctype;
    char sha256[65];
    uint64_t size;
    int64_t created_ms;
    /* the answer, under r->mu */
    dl_step step;
    int decided;         /* status, off, len are final: send the headers */
    int status;          /* 200, 206, 304, 416 */
    uint64_t off, len;   /* the bytes the body carries */
    uint64_t got;        /* body bytes taken from on_data */
    dlbuf buf;           /* between on_data and the reader */
    int cancelled;       /* on_data must stop */
    int pausing;         /* on_data stopped the call for lack of progress */
    int paused;          /* ... and its on_done came: no call in flight */
    int changed;         /* replaced between the probe and the body call */
    int queued;          /* the response is queued (the reader is live) */
    int done;            /* the last host call delivered on_done */
    int fail_status, fail_http;
    char *fail_msg;
} dl_job;

static void job_free(void *p)
{
    dl_job *j = p;
    if (!j)
        return;
    free(j->if_none_match);
    free(j->if_range);
    free(j->filename);
    free(j->ctype);
    free(j->fail_msg);
    dlbuf_free(&j->buf);
    free(j);
}

/* r->mu held: what to answer, from the metadata. */
static void decide(dl_job *j)
{
    j->status = range_decide(&j->range, j->if_none_match, j->if_range, j->sha256,
                             j->created_ms, j->size, &j->off, &j->len);
}

static int wants_body(const dl_job *j)
{
    return (j->status == 200 || j->status == 206) && !j->head && j->len > 0;
}

static void fail_locked(dl_job *j, int status, int http, const char *msg)
{
    if (j->fail_status)
        return; /* the first failure is the one to report */
    j->fail_status = status ? status : RK_ERR_INTERNAL;
    j->fail_http = http;
    j->fail_msg = strdup(msg && msg[0] ? msg : rk_strerror(j->fail_status));
}

/* ---- host callbacks (a host worker thread) ------------------------------ */

static void keep_meta(dl_job *j, const rk_doc_meta *m)
{
    j->have_meta = 1;
    free(j->filename);
    free(j->ctype);
    j->filename = strdup(m->filename ? m->filename : "");
    j->ctype = strdup(m->content_type && m->content_type[0]
                          ? m->content_type
                          : "application/octet-stream");
    snprintf(j->sha256, sizeof j->sha256, "%s", m->sha256 ? m->sha256 : "");
    j->size = m->size;
    j->created_ms = m->created_ms;
}

static void on_meta(void *ud, const rk_doc_meta *m)
{
    http_req *r = ud;
    pthread_mutex_lock(&r->mu);
    dl_job *j = r->job;
    if (j->step == STEP_PROBE || !j->have_meta) {
        keep_meta(j, m);
        if (j->step == STEP_BODY) /* no probe: answer from this call */
            decide(j);
    } else if (strcmp(j->sha256, m->sha256 ? m->sha256 : "") != 0) {
        j->changed = 1; /* replaced since the probe: stop, answer 503 */
        j->cancelled = 1;
    }
    if (j->step == STEP_BODY && !j->cancelled) {
        j->decided = 1;
        req_wake_locked(r);
    }
    pthread_mutex_unlock(&r->mu);
}

/* r->mu held: wait until the reader makes room. 0: room; -1: the
 * transfer must stop (cancelled, client gone, aborting); -2: no progress
 * for DL_PAUSE_MS. */
static int wait_space(http_req *r, dl_job *j)
{
    int64_t deadline = dlbuf_now_ms() + DL_PAUSE_MS;
    size_t before = dlbuf_unread(&j->buf);
    while (!j->cancelled && !r->completed && !r->stopping &&
           dlbuf_unread(&j->buf) >= before)
        if (dlbuf_wait(&j->buf, &r->mu, deadline) < 0)
            return -2;
    return j->cancelled || r->completed || r->stopping ? -1 : 0;
}

static int on_data(void *ud, const void *data, size_t len)
{
    http_req *r = ud;
    const char *p = data;
    int rc = 0;
    pthread_mutex_lock(&r->mu);
    dl_job *j = r->job;
    while (j->step == STEP_BODY && len > 0 && j->got < j->len) {
        if (j->cancelled || r->completed || r->stopping || j->buf.buf.oom) {
            rc = -1;
            break;
        }
        if (len > j->len - j->got)
            len = (size_t)(j->len - j->got); /* more than asked: drop it */
        size_t n = dlbuf_push(&j->buf, p, len);
        int w = n == 0 && !j->buf.buf.oom ? wait_space(r, j) : 0;
        if (w < 0) {
            if (w == -2)
                j->pausing = 1; /* resumed by the reader (continue_locked) */
            else
                j->cancelled = 1;
            rc = -1;
            break;
        }
        p += n;
        len -= n;
        j->got += n;
        if (n && j->queued)
            req_wake_locked(r); /* the reader may be waiting for bytes */
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static const rk_doc_sink dl_sink;

/* r->mu held, any thread: ask for the rest of the body after a pause.
 * The host returns at once (callbacks come on a worker), so holding the
 * mutex across the call is safe. */
static void continue_locked(http_req *r, dl_job *j)
{
    j->paused = 0;
    r->pending = 1;
    rk_err err = {{0}};
    int st = r->srv->docs->doc_get(r->srv->self, docmeta_tenant(r), r->doc_id,
                                   j->off + j->got, j->len - j->got, &dl_sink,
                                   r, &err);
    if (st != RK_OK) {
        fail_locked(j, st, 0, err.msg);
        j->done = 1;
        r->pending = 0;
        req_wake_locked(r); /* the reader ends the response */
    }
}

/* r->mu held: on_done of a call that on_data stopped for lack of
 * progress. 1 when the transfer is paused (no call in flight, the request
 * stays with MHD), 0 when it ends as a failure after all. */
static int pause_locked(http_req *r, dl_job *j, int status)
{
    if (!j->pausing || status != RK_ERR_CANCELLED || j->cancelled ||
        j->changed || r->completed || r->stopping)
        return 0;
    j->pausing = 0;
    j->paused = 1;
    r->pending = 0; /* MHD may now free the request when the client goes */
    if (dlbuf_unread(&j->buf) <= DL_BUF_MAX / 2)
        continue_locked(r, j); /* the reader caught up meanwhile */
    return 1;
}

/* The probe delivered on_done: ask for the bytes, or finish. Called with
 * r->mu held; returns 1 when a body call was started (unlocked then). */
static int after_probe(http_req *r, dl_job *j)
{
    decide(j);
    if (!wants_body(j)) {
        j->decided = 1;
        return 0;
    }
    j->step = STEP_BODY;
    pthread_mutex_unlock(&r->mu); /* the host call may take locks */
    rk_err err = {{0}};
    int st = r->srv->docs->doc_get(r->srv->self, docmeta_tenant(r), r->doc_id,
                                   j->off, j->len, &dl_sink, r, &err);
    if (st == RK_OK)
        return 1;
    pthread_mutex_lock(&r->mu);
    fail_locked(j, st, 0, err.msg);
    return 0;
}

static void on_done(void *ud, int status, int http_status, const char *message,
                    const char *next)
{
    (void)next;
    http_req *r = ud;
    pthread_mutex_lock(&r->mu);
    dl_job *j = r->job;
    if (pause_locked(r, j, status)) {
        pthread_mutex_unlock(&r->mu);
        return;
    }
    if (j->changed)
        fail_locked(j, RK_ERR_UNAVAILABLE, 503,
                    "The document was replaced during the request: retry");
    else if (status != RK_OK)
        fail_locked(j, status, http_status, message);
    else if (!j->have_meta)
        fail_locked(j, RK_ERR_INTERNAL, 500, "no metadata came back");
    else if (j->step == STEP_PROBE && !r->completed && !r->stopping &&
             after_probe(r, j))
        return; /* the body call's on_done comes next */
    j->done = 1;
    int free_now = req_async_end_locked(r);
    pthread_mutex_unlock(&r->mu);
    if (free_now)
        req_free(r);
}

static const rk_doc_sink dl_sink = {
    .struct_size = sizeof(rk_doc_sink),
    .on_meta = on_meta,
    .on_data = on_data,
    .on_done = on_done,
};

/* ---- the response (MHD thread) ------------------------------------------- */

static ssize_t dl_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    http_req *r = cls;
    ssize_t rc;
    pthread_mutex_lock(&r->mu);
    dl_job *j = r->job;
    size_t n = dlbuf_take(&j->buf, out, max);
    if (n) {
        if (j->paused && dlbuf_unread(&j->buf) <= DL_BUF_MAX / 2) {
            if (r->stopping)
                j->cancelled = 1;
            else
                continue_locked(r, j);
        }
        rc = (ssize_t)n;
    } else if (j->done || j->cancelled || j->buf.buf.oom) {
        /* MHD stops reading at Content-Length: being asked for more
         * means the transfer failed; cut the connection */
        rc = MHD_CONTENT_READER_END_WITH_ERROR;
    } else if (req_suspend_locked(r) == 0) {
        rc = 0; /* the next on_data resumes us */
    } else {
        rc = MHD_CONTENT_READER_END_WITH_ERROR; /* the server is aborting */
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

static enum MHD_Result send_body(http_req *r, dl_job *j, const char **hdrs)
{
    struct MHD_Response *resp =
        j->len == 0 && !j->head
            ? MHD_create_response_from_buffer(0, (void *)"",
                                              MHD_RESPMEM_PERSISTENT)
            : MHD_create_response_from_callback(j->len, DL_BLOCK, dl_read, r,
                                                NULL);
    if (!resp)
        return MHD_NO;
    /* text is stored as UTF-8 (the host refuses text that is not), and a
     * browser would otherwise guess the charset of a Russian .txt */
    char ctype[160];
    const char *t = j->ctype ? j->ctype : "application/octet-stream";
    snprintf(ctype, sizeof ctype, "%s%s", t,
             strncmp(t, "text/", 5) == 0 && !strchr(t, ';')
                 ? "; charset=utf-8"
                 : "");
    if (hr_headers_add(r, resp, ctype, hdrs) < 0) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    enum MHD_Result rc = hr_queue(r, j->status, resp);
    if (rc == MHD_YES)
        j->queued = 1;
    return rc;
}

static enum MHD_Result send_decided(http_req *r, dl_job *j)
{
    char etag[68], lm[HTTP_DATE_LEN], disp[900], crange[80];
    snprintf(etag, sizeof etag, "\"%s\"", j->sha256);
    http_date(j->created_ms, lm);
    content_disposition(j->filename ? j->filename : "", disp, sizeof disp);
    const char *hdrs[16] = {
        MHD_HTTP_HEADER_ETAG, etag, MHD_HTTP_HEADER_LAST_MODIFIED, lm,
        MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes", NULL};
    size_t n = 6;
    if (j->status == 304)
        return hr_send_not_modified(r, j->size, hdrs);
    if (j->status == 416) {
        snprintf(crange, sizeof crange, "bytes */%llu",
                 (unsigned long long)j->size);
        hdrs[n++] = MHD_HTTP_HEADER_CONTENT_RANGE;
        hdrs[n++] = crange;
        hr_error e = {.status = 416, .param = "Range", .headers = hdrs,
                      .message = "The requested range is outside the document"};
        return hr_send_error(r, &e);
    }
    if (j->status == 206) {
        snprintf(crange, sizeof crange, "bytes %llu-%llu/%llu",
                 (unsigned long long)j->off,
                 (unsigned long long)(j->off + j->len - 1),
                 (unsigned long long)j->size);
        hdrs[n++] = MHD_HTTP_HEADER_CONTENT_RANGE;
        hdrs[n++] = crange;
    }
    hdrs[n++] = MHD_HTTP_HEADER_CONTENT_DISPOSITION;
    hdrs[n++] = disp;
    /* uploaded HTML must never be sniffed into a page on our origin */
    hdrs[n++] = "X-Content-Type-Options";
    hdrs[n++] = "nosniff";
    hdrs[n] = NULL;
    return send_body(r, j, hdrs);
}

static enum MHD_Result dl_resume(http_req *r)
{
    enum MHD_Result rc = MHD_YES;
    pthread_mutex_lock(&r->mu);
    hr_hold_locked(r); /* queued below, after r->mu (see http_resp.h) */
    dl_job *j = r->job;
    if (j->decided && !j->fail_status) {
        rc = send_decided(r, j);
    } else if (j->done) {
        hr_error e = {
            .status = j->fail_http >= 400 && j->fail_http <= 599
                          ? j->fail_http
                          : hr_status_for(j->fail_status),
            .message = j->fail_msg ? j->fail_msg : "download failed",
        };
        if (e.status == 499)
            e.status = 503; /* the transfer stopped before any header */
        rc = hr_send_error(r, &e);
    } else if (r->stopping) {
        rc = hr_fail(r, 503, NULL, "The server is shutting down");
    } else {
        req_suspend_locked(r); /* woken early: wait for the host */
    }
    pthread_mutex_unlock(&r->mu);
    return hr_release(r, rc);
}

/* r->mu held: the client went away or the server aborts. */
static void dl_cancel(http_req *r)
{
    dl_job *j = r->job;
    j->cancelled = 1;
    dlbuf_wake(&j->buf);
}

static const http_job_ops dl_ops = {
    .resume = dl_resume,
    .cancel = dl_cancel,
    .free = job_free,
};

/* ---- start (MHD thread) -------------------------------------------------- */

static char *header_dup(http_req *r, const char *name)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
    return v && *v ? strdup(v) : NULL;
}

static dl_job *job_new(http_req *r)
{
    dl_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    if (dlbuf_init(&j->buf, DL_BUF_MAX) < 0) {
        free(j);
        return NULL;
    }
    r->ops = &dl_ops; /* req_free frees the job from here on */
    r->job = j;
    r->phase = PHASE_ASYNC;
    j->head = r->method == METHOD_HEAD;
    range_parse(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                            MHD_HTTP_HEADER_RANGE),
                &j->range);
    j->if_none_match = header_dup(r, MHD_HTTP_HEADER_IF_NONE_MATCH);
    j->if_range = j->range.kind ? header_dup(r, MHD_HTTP_HEADER_IF_RANGE)
                                : NULL;
    return j;
}

enum MHD_Result download_handle(http_req *r)
{
    if (!docs_available(r))
        return hr_fail(r, 400, NULL,
                       "Documents are not supported by this server");
    dl_job *j = job_new(r);
    if (!j)
        return hr_fail(r, 503, NULL, "out of memory");
    /* a plain GET needs no metadata before the bytes: one call */
    int probe = j->head || j->if_none_match || j->range.kind != RANGE_NONE;
    j->step = probe ? STEP_PROBE : STEP_BODY;
    pthread_mutex_lock(&r->mu);
    if (req_suspend_locked(r) < 0) { /* suspend before the host can answer */
        pthread_mutex_unlock(&r->mu);
        return hr_fail(r, 503, NULL, "The server is shutting down");
    }
    r->pending = 1;
    pthread_mutex_unlock(&r->mu);
    rk_err err = {{0}};
    int st = r->srv->docs->doc_get(r->srv->self, docmeta_tenant(r), r->doc_id, 0,
                                   probe ? 1 : 0, &dl_sink, r, &err);
    if (st != RK_OK) { /* no callback follows: answer from here */
        pthread_mutex_lock(&r->mu);
        fail_locked(j, st, 0, err.msg);
        j->done = 1;
        r->pending = 0;
        req_wake_locked(r);
        pthread_mutex_unlock(&r->mu);
    }
    return MHD_YES;
}
