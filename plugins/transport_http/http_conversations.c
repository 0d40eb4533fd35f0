/*
 * http_conversations — list, read, export and delete stored conversations.
 * Same suspend-then-call pattern as http_docs.c (the shared steps and the
 * outcome are http_job.c's): the connection is suspended before the host
 * call, the worker thread builds the JSON items under r->mu as they come,
 * on_done resumes, and the MHD thread answers.
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
#include "http_job.h"
#include "http_resp.h"
#include "http_server.h"

#define LIST_DEFAULT 100

typedef enum conv_op { COP_LIST, COP_GET, COP_EXPORT, COP_DELETE } conv_op;

typedef struct conv_job {
    hjob out; /* first: r->job is an hjob too (http_job.h) */
    conv_op op;
    size_t limit;   /* list: the page size the client asked for */
    json_t *items;  /* conversations or messages so far */
    char tenant[sizeof ((rk_principal *)0)->tenant];
} conv_job;

static void job_free(void *p)
{
    conv_job *j = p;
    if (!j)
        return;
    hjob_clear(&j->out);
    json_decref(j->items);
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
        j->out.oom = 1;
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

static const rk_conv_sink conv_sink = {
    .struct_size = sizeof(rk_conv_sink),
    .on_conv = on_conv,
    .on_message = on_message,
    .on_done = hjob_on_done,
};

/* ---- answers (MHD thread, r->mu held) ------------------------------------ */

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

static enum MHD_Result answer_locked(http_req *r)
{
    conv_job *j = r->job;
    enum MHD_Result rc;
    if (hjob_answered_locked(r, &rc))
        return rc;
    if (j->op == COP_LIST) {
        json_t *items = j->items;
        j->items = NULL;
        return hjob_send_page(r, items, j->limit, j->out.next);
    }
    if (j->op == COP_DELETE)
        return hr_send_empty(r, 204, NULL);
    return send_conversation(r, j);
}

static enum MHD_Result conv_resume(http_req *r)
{
    return hjob_resume(r, answer_locked);
}

/* Nothing to cancel: each call is one short query; on_done frees. */
static const http_job_ops conv_ops = {
    .resume = conv_resume,
    .cancel = hjob_no_cancel,
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
    if (hjob_suspend(r, &rc) < 0)
        return rc;
    rk_err err = {{0}};
    int st = op == COP_LIST
                 ? cs->conv_list(r->srv->self, j->tenant, after, limit + 1, &conv_sink, r, &err)
             : op == COP_DELETE
                 ? cs->conv_delete(r->srv->self, j->tenant, r->doc_id, &conv_sink, r, &err)
                 : cs->conv_get(r->srv->self, j->tenant, r->doc_id, &conv_sink, r, &err);
    return hjob_called(r, st, err.msg);
}

enum MHD_Result conv_list_handle(http_req *r)
{
    size_t limit = LIST_DEFAULT;
    const char *l = query(r, "limit"), *after = query(r, "after");
    if (l && hjob_parse_limit(l, RK_CONV_LIST_MAX, &limit) < 0)
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
