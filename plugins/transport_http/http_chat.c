/*
 * http_chat — owns one chat from the HTTP side: it starts the host pipeline
 * with the connection already suspended (so a fast answer cannot resume it
 * before it is suspended), collects what the host's loop thread sends under
 * the request mutex, and answers when there is something to say. A streamed
 * answer becomes a 200 event stream only at the first delta (or a
 * successful end), so failures before any text keep their real HTTP status
 * (429, 502, 504...) instead of turning into an in-stream error.
 */
#include "http_chat.h"

#include <stdlib.h>
#include <string.h>

#include "http_auth.h"
#include "http_chat_parse.h"
#include "http_job.h"
#include "http_resp.h"
#include "http_server.h"
#include "http_sse.h"

#define SNIPPET_MAX 300 /* bytes of passage text when there is no snippet */

typedef struct chat_job {
    sse_dialect dialect;
    chat_req req;
    char cmpl_id[40];
    int64_t created;
    rk_chat *chat;  /* valid while r->pending */
    int cancelled;
    /* from on_meta */
    char *model;
    char *conv_id;
    int cache_hit;
    json_t *sources;
    /* from on_done */
    int done;
    int status, http_status;
    char *err_type, *err_code, *err_msg;
    char *finish, *answer, *res_model, *res_conv;
    rk_usage usage;
    int64_t retry_after_ms;
    int hist_saved; /* rk_chat_result.history_saved: 1, -1, or 0 = not said */
    sse_stream sse;
} chat_job;

static void job_free(void *p)
{
    chat_job *j = p;
    if (!j)
        return;
    chat_req_free(&j->req);
    free(j->model);
    free(j->conv_id);
    json_decref(j->sources);
    free(j->err_type);
    free(j->err_code);
    free(j->err_msg);
    free(j->finish);
    free(j->answer);
    free(j->res_model);
    free(j->res_conv);
    sse_free(&j->sse);
    free(j);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static const char *answer_model(const chat_job *j)
{
    if (j->res_model && j->res_model[0])
        return j->res_model;
    if (j->model && j->model[0])
        return j->model;
    return j->req.in.model ? j->req.in.model : "ragkernel";
}

/* ---- host callbacks (core loop thread) ---------------------------------- */

static void chat_cancel_op(http_req *r);
static void chat_flow_op(http_req *r, int pause);

static json_t *sources_json(const rk_chat_meta *m)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < m->n_sources; i++) {
        const rk_passage *p = &m->sources[i];
        json_t *snip;
        if (p->snippet)
            snip = hj_str(p->snippet);
        else {
            size_t n = p->text ? strlen(p->text) : 0;
            if (n > SNIPPET_MAX)
                n = utf8_complete_prefix(p->text, SNIPPET_MAX);
            snip = hj_strn(p->text ? p->text : "", n);
        }
        json_array_append_new(
            arr, json_pack("{s:o,s:o,s:o,s:f}", "doc_id", hj_str(p->doc_id),
                           "title", hj_str(p->title ? p->title : ""),
                           "snippet", snip, "score", p->score));
    }
    return arr;
}

static void on_meta(void *ud, const rk_chat_meta *meta)
{
    http_req *r = ud;
    json_t *src = sources_json(meta); /* built outside the lock */
    pthread_mutex_lock(&r->mu);
    chat_job *j = r->job;
    free(j->model);
    free(j->conv_id);
    json_decref(j->sources);
    j->model = dup_or_null(meta->model);
    j->conv_id = dup_or_null(meta->conversation_id);
    j->cache_hit = meta->cache_hit;
    j->sources = src;
    if (req_client_gone_locked(r))
        chat_cancel_op(r);
    pthread_mutex_unlock(&r->mu);
}

static void open_stream(chat_job *j)
{
    sse_open(&j->sse, j->cmpl_id, j->created, answer_model(j), j->sources);
}

static void on_delta(void *ud, const char *text, size_t len)
{
    http_req *r = ud;
    pthread_mutex_lock(&r->mu);
    chat_job *j = r->job;
    if (req_client_gone_locked(r))
        chat_cancel_op(r); /* on_done follows; the deltas go nowhere */
    if (!r->completed) { /* nobody to send to once MHD is done */
        /* a whole answer comes in on_done's result (rk_chat_result.answer
         * is the whole text): no second copy of it here */
        if (j->req.in.stream) {
            open_stream(j);
            sse_delta(&j->sse, text, len);
            if (sse_should_pause(&j->sse))
                chat_flow_op(r, 1);
            req_wake_locked(r);
        }
    }
    pthread_mutex_unlock(&r->mu);
}

static void keep_result(chat_job *j, const rk_chat_result *res)
{
    j->status = res->status;
    j->http_status = res->http_status;
    if (j->status == RK_OK && j->http_status >= 400)
        j->status = RK_ERR_INTERNAL; /* a failure whatever the code says */
    j->err_type = dup_or_null(res->error_type);
    j->err_code = dup_or_null(res->error_code);
    j->err_msg = dup_or_null(res->message);
    j->finish = dup_or_null(res->finish_reason);
    j->answer = dup_or_null(res->answer);
    j->res_model = dup_or_null(res->model);
    j->res_conv = dup_or_null(res->conversation_id);
    j->usage = res->usage;
    j->cache_hit = j->cache_hit || res->cache_hit;
    j->retry_after_ms = res->retry_after_ms;
    j->hist_saved = RK_HAS_FIELD(res, rk_chat_result, history_saved) ? res->history_saved : 0;
}

static hr_error job_error(const chat_job *j)
{
    hr_error e = {
        .status = j->http_status >= 400 ? j->http_status
                                        : hr_status_for(j->status),
        .type = j->err_type,
        .code = j->err_code,
        .message = j->err_msg && j->err_msg[0] ? j->err_msg
                                               : rk_strerror(j->status),
        .retry_after_ms = j->retry_after_ms,
    };
    return e;
}

static json_t *legacy_json(const chat_job *j);

/* The end of a streamed chat: close the events, or report the failure in
 * them if the stream is already open. */
static void stream_end(chat_job *j)
{
    if (j->status == RK_OK) {
        open_stream(j);
        if (j->sse.text_bytes == 0 && j->answer && j->answer[0])
            sse_delta(&j->sse, j->answer, strlen(j->answer));
        json_t *final = j->dialect == SSE_LEGACY ? legacy_json(j) : NULL;
        sse_finish(&j->sse, j->finish, j->req.include_usage ? &j->usage : NULL,
                   final);
        json_decref(final);
    } else if (j->sse.open) {
        hr_error e = job_error(j);
        json_t *err = hr_error_json(&e);
        sse_fail(&j->sse, err);
        json_decref(err);
    }
}

static void on_done(void *ud, const rk_chat_result *res)
{
    http_req *r = ud;
    if (res->status == RK_OK && r->authed) /* r->who is fixed by now */
        auth_charge_after(r->srv, &r->who, res->usage.completion_tokens);
    pthread_mutex_lock(&r->mu);
    chat_job *j = r->job;
    keep_result(j, res);
    j->done = 1;
    if (j->req.in.stream && !r->completed)
        stream_end(j);
    int free_now = req_async_end_locked(r);
    pthread_mutex_unlock(&r->mu);
    if (free_now)
        req_free(r);
}

static const rk_chat_sink chat_sink = {
    .struct_size = sizeof(rk_chat_sink),
    .on_meta = on_meta,
    .on_delta = on_delta,
    .on_done = on_done,
};

/* ---- answers (MHD thread, r->mu held) ------------------------------------ */

/* A new reference to the sources (an empty list if no meta came). */
static json_t *sources_ref(const chat_job *j)
{
    return j->sources ? json_incref(j->sources) : json_array();
}

static json_t *legacy_json(const chat_job *j)
{
    const char *answer = j->answer;
    const char *conv = j->res_conv ? j->res_conv : j->conv_id;
    json_t *o = json_pack("{s:o,s:o,s:o}", "answer", hj_str(answer ? answer : ""),
                          "sources", sources_ref(j), "conversation_id", hj_str(conv));
    if (o && j->hist_saved)
        json_object_set_new(o, "history_saved", json_boolean(j->hist_saved > 0));
    return o;
}

/* The sources as JSON text: "[]" without a jansson round trip when there
 * are none, which is every answer without retrieval. */
static void put_sources(hbuf *b, const chat_job *j)
{
    char *txt = j->sources && json_array_size(j->sources)
                    ? json_dumps(j->sources, JSON_COMPACT)
                    : NULL;
    hbuf_puts(b, txt ? txt : "[]");
    if (j->sources && json_array_size(j->sources) && !txt)
        b->oom = 1;
    free(txt);
}

/* The chat.completion object, written straight into a buffer: it is the
 * body of every non-streamed answer, and building and dumping a jansson
 * tree for it cost more than the rest of the answer did. Same fields, same
 * order as before; NULL when out of memory. */
static char *completion_body(const chat_job *j, size_t *len)
{
    const char *answer = j->answer;
    const char *model = answer_model(j), *fr = j->finish ? j->finish : "stop";
    hbuf b = {0};
    hbuf_puts(&b, "{\"id\":");
    hbuf_json_str(&b, j->cmpl_id, strlen(j->cmpl_id));
    hbuf_puts(&b, ",\"object\":\"chat.completion\",\"created\":");
    hbuf_int(&b, (long long)j->created);
    hbuf_puts(&b, ",\"model\":");
    hbuf_json_str(&b, model, strlen(model));
    hbuf_puts(&b, ",\"choices\":[{\"index\":0,\"message\":{\"role\":"
                  "\"assistant\",\"content\":");
    hbuf_json_str(&b, answer ? answer : "", answer ? strlen(answer) : 0);
    hbuf_puts(&b, "},\"finish_reason\":");
    hbuf_json_str(&b, fr, strlen(fr));
    hbuf_puts(&b, "}],\"usage\":{\"prompt_tokens\":");
    hbuf_int(&b, (long long)j->usage.prompt_tokens);
    hbuf_puts(&b, ",\"completion_tokens\":");
    hbuf_int(&b, (long long)j->usage.completion_tokens);
    hbuf_puts(&b, ",\"total_tokens\":");
    hbuf_int(&b, (long long)(j->usage.prompt_tokens + j->usage.completion_tokens));
    hbuf_puts(&b, "},\"sources\":");
    put_sources(&b, j);
    hbuf_puts(&b, "}");
    if (b.oom) {
        hbuf_free(&b);
        return NULL;
    }
    return hbuf_take(&b, len);
}

static enum MHD_Result answer_locked(http_req *r)
{
    chat_job *j = r->job;
    /* X-History-Saved whenever the outcome is known before the headers go:
     * every non-streamed answer; a stream says it in its last event (only
     * /chat keeps conversations, and its last event is legacy_json) */
    const char *cache[] = {"X-Cache", j->cache_hit ? "hit" : "miss",
                           j->done && j->hist_saved ? "X-History-Saved" : NULL,
                           j->hist_saved > 0 ? "true" : "false", NULL};
    if (j->sse.open && !j->sse.queued)
        return sse_queue(r, cache);
    if (j->done && !j->sse.open) {
        if (j->status != RK_OK) {
            hr_error e = job_error(j);
            return hr_send_error(r, &e);
        }
        if (j->dialect == SSE_LEGACY)
            return hr_send_json(r, 200, legacy_json(j), cache);
        size_t len = 0;
        char *body = completion_body(j, &len);
        if (!body) {
            hr_error e = {.status = 503, .message = "out of memory"};
            return hr_send_error(r, &e);
        }
        return hr_send_buf(r, 200, CT_JSON, body, len, cache);
    }
    if (r->stopping)
        return hr_fail(r, 503, NULL, "The server is shutting down");
    /* resumed with nothing to say yet: wait for the next callback */
    req_suspend_locked(r);
    return MHD_YES;
}

static enum MHD_Result chat_resume(http_req *r)
{
    return hjob_resume(r, answer_locked);
}

static void chat_cancel_op(http_req *r)
{
    chat_job *j = r->job;
    if (j->chat && !j->cancelled) {
        j->cancelled = 1;
        r->srv->chat->chat_cancel(j->chat);
    }
}

/* Backpressure: the host stops reading this chat's upstream while the
 * client's unsent events pass the high-water mark (host 1.1; an older
 * host keeps reading and only its answer cap bounds the buffer). */
static void chat_flow_op(http_req *r, int pause)
{
    chat_job *j = r->job;
    const rk_chat_service *c = r->srv->chat;
    if (j->chat && !j->cancelled && !j->done && RK_HAS_FIELD(c, rk_chat_service, chat_flow) &&
        c->chat_flow)
        c->chat_flow(j->chat, pause);
}

static const http_job_ops chat_ops = {
    .resume = chat_resume,
    .cancel = chat_cancel_op,
    .free = job_free,
    .flow = chat_flow_op,
};

/* ---- start (MHD thread) -------------------------------------------------- */

static enum MHD_Result start_chat(http_req *r, chat_job *j)
{
    enum MHD_Result rc;
    if (hjob_suspend(r, &rc) < 0) /* BEFORE the host can call back */
        return rc;
    rk_chat *chat = NULL;
    rk_err err = {{0}};
    int st = r->srv->chat->chat_start(r->srv->self, &j->req.in, &chat_sink, r, &chat,
                           &err);
    pthread_mutex_lock(&r->mu);
    if (st != RK_OK) { /* no callback follows: answer from here */
        j->done = 1;
        j->status = st;
        j->err_msg = strdup(err.msg[0] ? err.msg : rk_strerror(st));
        r->pending = 0;
        req_wake_locked(r);
    } else if (r->pending) {
        j->chat = chat;
        if (r->stopping) /* an abort ran while chat_start did */
            chat_cancel_op(r);
        else if (j->sse.paused) /* the client filled up before we knew the chat */
            chat_flow_op(r, 1);
    }
    pthread_mutex_unlock(&r->mu);
    return MHD_YES;
}

/* The prompt's size in tokens, roughly: bytes / 4. */
static int64_t estimate_tokens(const rk_chat_input *in)
{
    size_t bytes = 0;
    for (size_t i = 0; i < in->n_messages; i++)
        bytes += strlen(in->messages[i].content);
    return (int64_t)((bytes + 3) / 4);
}

static enum MHD_Result chat_begin(http_req *r, const char *body, size_t len,
                                  sse_dialect d)
{
    chat_job *j = malloc(sizeof *j); /* see req_new */
    if (j)
        *j = (chat_job){0};
    if (!j)
        return hr_fail(r, 503, NULL, "out of memory");
    j->dialect = d;
    sse_init(&j->sse, d);
    r->ops = &chat_ops; /* from here on req_free frees the job */
    r->job = j;
    r->sse = &j->sse;
    parse_err pe = {{0}, {0}, 0};
    int rc = chat_parse(body, len, d != SSE_OPENAI, &r->srv->chat_limits,
                        &j->req, &pe);
    if (rc == -2)
        return hr_fail(r, 503, NULL, "out of memory");
    if (rc < 0)
        return hr_fail(r, pe.status ? pe.status : 400,
                       pe.param[0] ? pe.param : NULL, "%s", pe.msg);
    /* the tenant scopes history, cache and retrieval in the core */
    j->req.in.tenant = r->authed ? r->who.tenant : NULL;
    enum MHD_Result lrc = MHD_YES;
    if (auth_charge(r, 1, estimate_tokens(&j->req.in), &lrc) < 0)
        return lrc;
    memcpy(j->cmpl_id, "chatcmpl-", 9);
    req_random_hex(j->cmpl_id + 9, 12);
    j->created = r->srv->host->wall_ms() / 1000;
    j->req.in.request_id = r->id;
    r->phase = PHASE_ASYNC;
    return start_chat(r, j);
}

enum MHD_Result chat_completions(http_req *r, const char *body, size_t len)
{
    return chat_begin(r, body, len, SSE_OPENAI);
}

enum MHD_Result chat_legacy(http_req *r, const char *body, size_t len)
{
    return chat_begin(r, body, len, SSE_LEGACY);
}
