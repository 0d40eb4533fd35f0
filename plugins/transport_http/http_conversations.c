/*
 * http_conversations — list, read, export and delete stored conversations.
 * Same suspend-then-call pattern as http_docs.c: the connection is
 * suspended before the host call, the worker thread builds the JSON items
 * under r->mu as they come, on_done resumes, and the MHD thread answers.
 * Listing asks the host for one item more than the page so has_more is
 * exact. Which tenant is read is decided here, before any host call: the
 * key's own, or with ?tenant= one an admin key names; the host then treats
 * another tenant's conversation as absent, so isolation does not depend on
 * this module getting a comparison right after the fact.
 */
#include "http_conversations.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "http_docmeta.h"
#include "http_docs.h"
#include "http_resp.h"
#include "http_server.h"

#define LIST_DEFAULT 100

typedef enum conv_op { COP_LIST, COP_GET, COP_EXPORT, COP_DELETE } conv_op;

typedef struct conv_job {
    conv_op op;
    size_t limit;   /* list: the page size the client asked for */
    json_t *items;  /* conversations or messages so far */
    int oom, done, rc, http;
    char *msg, *next;
    char tenant[sizeof ((rk_principal *)0)->tenant];
} conv_job;

static void job_free(void *p)
{
    conv_job *j = p;
    if (!j)
        return;
    json_decref(j->items);
    free(j->msg);
    free(j->next);
    free(j);
}

int conv_id_ok(const char *id)
{
    size_t n = 0;
    for (; id[n]; n++)
        if (n >= HTTP_PATH_ID_MAX || (unsigned char)id[n] < 0x20 || id[n] == 0x7f ||
            id[n] == '/')
            return 0;
    return n > 0;
}

static const char *query(http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* ---- host callbacks (a host worker thread) ------------------------------ */

static void append_locked(http_req *r, json_t *item)
{
    conv_job *j = r->job;
    if (!item || json_array_append_new(j->items, item) < 0)
        j->oom = 1;
}

static void on_conv(void *ud, const rk_conv_info *c)
{
    http_req *r = ud;
    json_t *o = json_pack("{s:o,s:s,s:I,s:I,s:I}", "id", hj_str(c->id), "object",
                          "conversation", "created_at", (json_int_t)(c->created_ms / 1000),
                          "updated_at", (json_int_t)(c->updated_ms / 1000), "messages",
                          (json_int_t)c->messages);
    pthread_mutex_lock(&r->mu);
    append_locked(r, o);
    pthread_mutex_unlock(&r->mu);
}

static void on_message(void *ud, const rk_history_entry *e)
{
    http_req *r = ud;
    json_t *o = json_pack("{s:o,s:o,s:I,s:I}", "role", hj_str(e->role), "content",
                          hj_str(e->content), "created_at",
                          (json_int_t)(e->created_ms / 1000), "created_ms",
                          (json_int_t)e->created_ms);
    pthread_mutex_lock(&r->mu);
    append_locked(r, o);
    pthread_mutex_unlock(&r->mu);
}

static void on_done(void *ud, int status, int http_status, const char *message,
                    const char *next)
{
    http_req *r = ud;
    pthread_mutex_lock(&r->mu);
    conv_job *j = r->job;
    j->done = 1;
    j->rc = status;
    j->http = http_status;
    j->msg = message ? strdup(message) : NULL;
    j->next = next ? strdup(next) : NULL;
    if (next && !j->next)
        j->oom = 1;
    int free_now = req_async_end_locked(r);
    pthread_mutex_unlock(&r->mu);
    if (free_now)
        req_free(r);
}

static const rk_conv_sink conv_sink = {
    .struct_size = sizeof(rk_conv_sink),
    .on_conv = on_conv,
    .on_message = on_message,
    .on_done = on_done,
};

/* ---- answers (MHD thread, r->mu held) ------------------------------------ */

static enum MHD_Result send_list(http_req *r, conv_job *j)
{
    json_t *items = j->items, *next = NULL;
    j->items = NULL;
    if (json_array_size(items) > j->limit) {
        /* the extra item proves there is more: the cursor is the last id
         * of this page */
        next = json_incref(json_object_get(json_array_get(items, j->limit - 1), "id"));
        while (json_array_size(items) > j->limit)
            json_array_remove(items, j->limit);
    } else if (j->next) {
        next = hj_str(j->next); /* a full page at the host's cap */
    }
    int more = next != NULL;
    return hr_send_json(r, 200,
                        json_pack("{s:s,s:o,s:b,s:o}", "object", "list", "data", items,
                                  "has_more", more, "next", next ? next : json_null()),
                        NULL);
}

/* A filename safe in a header: the id when it is plain, else generic. */
static void export_name(const char *id, char *out, size_t cap)
{
    if (docs_id_ok(id))
        snprintf(out, cap, "attachment; filename=\"conversation-%s.json\"", id);
    else
        snprintf(out, cap, "attachment; filename=\"conversation.json\"");
}

static enum MHD_Result send_conversation(http_req *r, conv_job *j)
{
    json_t *msgs = j->items;
    size_t n = json_array_size(msgs);
    j->items = NULL;
    if (j->op == COP_GET)
        return hr_send_json(r, 200,
                            json_pack("{s:s,s:o,s:o}", "object", "conversation", "id",
                                      hj_str(r->doc_id), "messages", msgs),
                            NULL);
    char disp[sizeof "attachment; filename=\"conversation-.json\"" + HTTP_PATH_ID_MAX];
    export_name(r->doc_id, disp, sizeof disp);
    const char *extra[] = {"Content-Disposition", disp, NULL};
    json_int_t now = (json_int_t)(r->srv->host->wall_ms() / 1000);
    return hr_send_json(r, 200,
                        json_pack("{s:s,s:o,s:o,s:I,s:I,s:o}", "object", "conversation.export",
                                  "id", hj_str(r->doc_id), "tenant", hj_str(j->tenant),
                                  "exported_at", now, "message_count", (json_int_t)n,
                                  "messages", msgs),
                        extra);
}

static enum MHD_Result answer_locked(http_req *r, conv_job *j)
{
    if (!j->done) {
        if (r->stopping)
            return hr_fail(r, 503, NULL, "The server is shutting down");
        req_suspend_locked(r); /* woken too early: wait for on_done */
        return MHD_YES;
    }
    if (j->rc != RK_OK) {
        hr_error e = {
            .status = j->http >= 400 && j->http <= 599 ? j->http : hr_status_for(j->rc),
            .message = j->msg && j->msg[0] ? j->msg : rk_strerror(j->rc),
        };
        if (e.status == 503)
            e.retry_after_ms = 2000;
        return hr_send_error(r, &e);
    }
    if (j->oom)
        return hr_fail(r, 503, NULL, "out of memory");
    if (j->op == COP_LIST)
        return send_list(r, j);
    if (j->op == COP_DELETE)
        return hr_send_empty(r, 204, NULL);
    return send_conversation(r, j);
}

static enum MHD_Result conv_resume(http_req *r)
{
    pthread_mutex_lock(&r->mu);
    hr_hold_locked(r); /* queued below, after r->mu (see http_resp.h) */
    enum MHD_Result rc = answer_locked(r, r->job);
    pthread_mutex_unlock(&r->mu);
    return hr_release(r, rc);
}

/* Nothing to cancel: each call is one short query; on_done frees. */
static void conv_cancel(http_req *r)
{
    (void)r;
}

static const http_job_ops conv_ops = {
    .resume = conv_resume,
    .cancel = conv_cancel,
    .free = job_free,
};

/* ---- starting a host call (MHD thread) ----------------------------------- */

/* The tenant r may read: its own (chat or admin scope), or ?tenant= with
 * the admin scope. 0, or -1 with the error queued. */
static int pick_tenant(http_req *r, conv_job *j, enum MHD_Result *rc)
{
    uint32_t scopes = r->authed ? r->who.scopes : RK_SCOPE_ALL;
    const char *t = query(r, "tenant");
    hr_error e = {.status = 403, .type = "permission_error", .code = "missing_scope"};
    if (t && !(scopes & RK_SCOPE_ADMIN)) {
        e.param = "tenant";
        e.message = "?tenant= needs a key with the 'admin' scope; without it a key "
                    "sees its own tenant's conversations";
    } else if (!t && !(scopes & (RK_SCOPE_CHAT | RK_SCOPE_ADMIN))) {
        e.message = "Conversations need a key with the 'chat' or 'admin' scope";
    } else if (t && !docs_id_ok(t)) {
        *rc = hr_fail(r, 400, "tenant", "'tenant' must be 1 to %d characters of A-Z, "
                                        "a-z, 0-9, '_' and '-'", HTTP_DOC_ID_MAX);
        return -1;
    } else {
        const char *mine = docmeta_tenant(r);
        snprintf(j->tenant, sizeof j->tenant, "%s", t ? t : mine ? mine : "default");
        return 0;
    }
    *rc = hr_send_error(r, &e);
    return -1;
}

/* Suspend, call the host, and answer from here when it refused at once. */
static enum MHD_Result start(http_req *r, conv_op op, size_t limit, const char *after)
{
    const rk_conv_service *cs = r->srv->convs;
    if (!cs)
        return hr_fail(r, 501, NULL, "This host has no conversations service "
                                     "(ragkernel 1.1 or later has it)");
    conv_job *j = calloc(1, sizeof *j);
    if (!j || !(j->items = json_array())) {
        free(j);
        return hr_fail(r, 503, NULL, "out of memory");
    }
    enum MHD_Result rc = MHD_YES;
    r->ops = &conv_ops; /* req_free frees the job from here on */
    r->job = j;
    j->op = op;
    j->limit = limit;
    if (pick_tenant(r, j, &rc) < 0)
        return rc;
    r->phase = PHASE_ASYNC;
    pthread_mutex_lock(&r->mu);
    if (req_suspend_locked(r) < 0) {
        pthread_mutex_unlock(&r->mu);
        return hr_fail(r, 503, NULL, "The server is shutting down");
    }
    r->pending = 1;
    pthread_mutex_unlock(&r->mu);
    rk_err err = {{0}};
    int st = op == COP_LIST
                 ? cs->conv_list(r->srv->self, j->tenant, after, limit + 1, &conv_sink, r, &err)
             : op == COP_DELETE
                 ? cs->conv_delete(r->srv->self, j->tenant, r->doc_id, &conv_sink, r, &err)
                 : cs->conv_get(r->srv->self, j->tenant, r->doc_id, &conv_sink, r, &err);
    if (st == RK_OK)
        return MHD_YES;
    pthread_mutex_lock(&r->mu);
    j->done = 1;
    j->rc = st;
    j->msg = strdup(err.msg[0] ? err.msg : rk_strerror(st));
    r->pending = 0;
    req_wake_locked(r);
    pthread_mutex_unlock(&r->mu);
    return MHD_YES;
}

/* 1..RK_CONV_LIST_MAX in plain digits. */
static int parse_limit(const char *s, size_t *out)
{
    size_t n = 0, i = 0;
    for (; s[i] >= '0' && s[i] <= '9' && n <= RK_CONV_LIST_MAX; i++)
        n = n * 10 + (size_t)(s[i] - '0');
    if (i == 0 || s[i] || n < 1 || n > RK_CONV_LIST_MAX)
        return -1;
    *out = n;
    return 0;
}

enum MHD_Result conv_list_handle(http_req *r)
{
    size_t limit = LIST_DEFAULT;
    const char *l = query(r, "limit"), *after = query(r, "after");
    if (l && parse_limit(l, &limit) < 0)
        return hr_fail(r, 400, "limit", "'limit' must be an integer from 1 to %d",
                       RK_CONV_LIST_MAX);
    if (after && !*after)
        after = NULL;
    if (after && !conv_id_ok(after))
        return hr_fail(r, 400, "after", "'after' must be the 'next' cursor of a previous "
                                        "page (1 to %d bytes)", HTTP_PATH_ID_MAX);
    return start(r, COP_LIST, limit, after);
}

enum MHD_Result conv_get_handle(http_req *r)
{
    const char *f = query(r, "format");
    if (f && strcmp(f, "export") == 0)
        return start(r, COP_EXPORT, 0, NULL);
    if (f && *f && strcmp(f, "json") != 0)
        return hr_fail(r, 400, "format", "'format' must be 'json' (the default) or "
                                         "'export'");
    return start(r, COP_GET, 0, NULL);
}

enum MHD_Result conv_export_handle(http_req *r)
{
    return start(r, COP_EXPORT, 0, NULL);
}

enum MHD_Result conv_delete_handle(http_req *r)
{
    return start(r, COP_DELETE, 0, NULL);
}
