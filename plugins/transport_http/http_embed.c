/*
 * http_embed — owns one embeddings request. Same suspend-then-call pattern
 * as chats (see http_chat.c), with host->embed_start. Vectors are copied as
 * they arrive (they are valid only during on_vector) and the response is
 * written by hand rather than through jansson: a batch of 1536-dimension
 * vectors is large, and "%.9g" round-trips a float exactly. base64 is
 * supported because the OpenAI SDKs ask for it by default.
 */
#include "http_embed.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_auth.h"
#include "http_resp.h"
#include "http_server.h"

#define EMBED_MAX_INPUTS 2048

typedef struct embed_job {
    json_t *root;        /* keeps inputs and model alive */
    const char **inputs;
    size_t n;
    const char *model;   /* NULL = default */
    int base64;
    float **vecs;        /* vecs[i] has dims[i] values, or NULL */
    size_t *dims;
    rk_chat *call;       /* valid while r->pending */
    int cancelled;
    int done, status, http_status, oom;
    char *msg, *res_model;
    rk_usage usage;
    int64_t retry_after_ms;
} embed_job;

static void job_free(void *p)
{
    embed_job *j = p;
    if (!j)
        return;
    for (size_t i = 0; j->vecs && i < j->n; i++)
        free(j->vecs[i]);
    free(j->vecs);
    free(j->dims);
    free(j->inputs);
    free(j->msg);
    free(j->res_model);
    json_decref(j->root);
    free(j);
}

static void on_vector(void *ud, const rk_embedding *e)
{
    http_req *r = ud;
    pthread_mutex_lock(&r->mu);
    embed_job *j = r->job;
    if (e->index < j->n && !j->vecs[e->index] && e->dim > 0) {
        j->vecs[e->index] = malloc(e->dim * sizeof(float));
        if (j->vecs[e->index]) {
            memcpy(j->vecs[e->index], e->values, e->dim * sizeof(float));
            j->dims[e->index] = e->dim;
        } else {
            j->oom = 1;
        }
    }
    pthread_mutex_unlock(&r->mu);
}

static void on_done(void *ud, int status, const rk_llm_result *res,
                    const char *message)
{
    http_req *r = ud;
    pthread_mutex_lock(&r->mu);
    embed_job *j = r->job;
    j->done = 1;
    j->status = status;
    j->msg = message ? strdup(message) : NULL;
    if (res) {
        j->http_status = res->http_status;
        j->res_model = res->model ? strdup(res->model) : NULL;
        j->usage = res->usage;
        j->retry_after_ms = res->retry_after_ms;
    }
    int free_now = req_async_end_locked(r);
    pthread_mutex_unlock(&r->mu);
    if (free_now)
        req_free(r);
}

static const rk_embed_sink embed_sink = {
    .struct_size = sizeof(rk_embed_sink),
    .on_vector = on_vector,
    .on_done = on_done,
};

static void put_vector(hbuf *b, const embed_job *j, size_t i)
{
    if (j->base64) {
        /* little-endian float32, as OpenAI encodes it */
        hbuf_append(b, "\"", 1);
        hbuf_base64(b, j->vecs[i], j->dims[i] * sizeof(float));
        hbuf_append(b, "\"", 1);
        return;
    }
    hbuf_append(b, "[", 1);
    for (size_t k = 0; k < j->dims[i]; k++) {
        float v = j->vecs[i][k];
        hbuf_printf(b, k ? ",%.9g" : "%.9g", isfinite(v) ? (double)v : 0.0);
    }
    hbuf_append(b, "]", 1);
}

static enum MHD_Result send_vectors(http_req *r, embed_job *j)
{
    hbuf b = {0};
    hbuf_puts(&b, "{\"object\":\"list\",\"data\":[");
    for (size_t i = 0; i < j->n; i++) {
        hbuf_printf(&b, "%s{\"object\":\"embedding\",\"index\":%zu,"
                        "\"embedding\":",
                    i ? "," : "", i);
        put_vector(&b, j, i);
        hbuf_append(&b, "}", 1);
    }
    const char *model = j->res_model ? j->res_model
                        : j->model   ? j->model
                                     : "ragkernel";
    hbuf_puts(&b, "],\"model\":");
    hbuf_json_str(&b, model, strlen(model));
    hbuf_printf(&b, ",\"usage\":{\"prompt_tokens\":%lld,\"total_tokens\":%lld}}",
                (long long)j->usage.prompt_tokens,
                (long long)j->usage.prompt_tokens);
    if (b.oom) {
        hbuf_free(&b);
        return hr_fail(r, 503, NULL, "out of memory");
    }
    size_t len;
    char *body = hbuf_take(&b, &len);
    return hr_send_buf(r, 200, CT_JSON, body, len, NULL);
}

static enum MHD_Result answer_locked(http_req *r, embed_job *j)
{
    if (!j->done) {
        if (r->stopping)
            return hr_fail(r, 503, NULL, "The server is shutting down");
        req_suspend_locked(r);
        return MHD_YES;
    }
    if (j->status == RK_ERR_UNSUPPORTED)
        return hr_fail(r, 400, "model",
                       "Embeddings are not supported by the configured "
                       "models%s%s",
                       j->msg ? ": " : "", j->msg ? j->msg : "");
    if (j->status != RK_OK) {
        hr_error e = {.status = j->http_status >= 400
                                    ? j->http_status
                                    : hr_status_for(j->status),
                      .message = j->msg ? j->msg : rk_strerror(j->status),
                      .retry_after_ms = j->retry_after_ms};
        return hr_send_error(r, &e);
    }
    if (j->oom)
        return hr_fail(r, 503, NULL, "out of memory");
    for (size_t i = 0; i < j->n; i++)
        if (!j->vecs[i])
            return hr_fail(r, 502, NULL,
                           "The embedding provider returned no vector for "
                           "input %zu", i);
    return send_vectors(r, j);
}

static enum MHD_Result embed_resume(http_req *r)
{
    pthread_mutex_lock(&r->mu);
    hr_hold_locked(r); /* queued below, after r->mu (see http_resp.h) */
    enum MHD_Result rc = answer_locked(r, r->job);
    pthread_mutex_unlock(&r->mu);
    return hr_release(r, rc);
}

/* The host cancels embeddings through chat_cancel too. */
static void embed_cancel(http_req *r)
{
    embed_job *j = r->job;
    if (j->call && !j->cancelled) {
        j->cancelled = 1;
        r->srv->chat->chat_cancel(j->call);
    }
}

static const http_job_ops embed_ops = {
    .resume = embed_resume,
    .cancel = embed_cancel,
    .free = job_free,
};

/* MHD_YES with nothing queued when valid; otherwise the 400 is queued
 * (r->phase is then PHASE_ANSWERED). */
static enum MHD_Result parse_input(http_req *r, embed_job *j, json_t *in)
{
    if (json_is_string(in)) {
        if (json_string_length(in) == 0)
            return hr_fail(r, 400, "input", "'input' must not be empty");
        j->n = 1;
    } else if (json_is_array(in)) {
        j->n = json_array_size(in);
        if (j->n == 0 || j->n > EMBED_MAX_INPUTS)
            return hr_fail(r, 400, "input",
                           "'input' must hold 1..%d strings", EMBED_MAX_INPUTS);
    } else {
        return hr_fail(r, 400, "input",
                       "'input' must be a string or an array of strings");
    }
    j->inputs = calloc(j->n, sizeof *j->inputs);
    j->vecs = calloc(j->n, sizeof *j->vecs);
    j->dims = calloc(j->n, sizeof *j->dims);
    if (!j->inputs || !j->vecs || !j->dims)
        return hr_fail(r, 503, NULL, "out of memory");
    for (size_t i = 0; i < j->n; i++) {
        json_t *s = json_is_array(in) ? json_array_get(in, i) : in;
        if (!json_is_string(s) || json_string_length(s) == 0)
            return hr_fail(r, 400, "input",
                           "input[%zu] must be a non-empty string (token "
                           "arrays are not supported)", i);
        j->inputs[i] = json_string_value(s);
    }
    return MHD_YES;
}

static enum MHD_Result parse(http_req *r, embed_job *j, json_t *body)
{
    json_t *model = json_object_get(body, "model");
    if (model && !json_is_null(model) && !json_is_string(model))
        return hr_fail(r, 400, "model", "'model' must be a string");
    if (json_string_length(model) > 0)
        j->model = json_string_value(model);
    const char *fmt = json_string_value(json_object_get(body,
                                                        "encoding_format"));
    if (fmt && strcmp(fmt, "base64") == 0)
        j->base64 = 1;
    else if (fmt && strcmp(fmt, "float") != 0)
        return hr_fail(r, 400, "encoding_format",
                       "'encoding_format' must be \"float\" or \"base64\"");
    return parse_input(r, j, json_object_get(body, "input"));
}

static enum MHD_Result start_embed(http_req *r, embed_job *j)
{
    pthread_mutex_lock(&r->mu);
    if (req_suspend_locked(r) < 0) { /* suspend before the host can answer */
        pthread_mutex_unlock(&r->mu);
        return hr_fail(r, 503, NULL, "The server is shutting down");
    }
    r->pending = 1;
    pthread_mutex_unlock(&r->mu);
    rk_chat *call = NULL;
    rk_err err = {{0}};
    int st = r->srv->chat->embed_start(r->srv->self, j->model, j->inputs, j->n,
                            &embed_sink, r, &call, &err);
    pthread_mutex_lock(&r->mu);
    if (st != RK_OK) { /* no callback follows: answer from here */
        j->done = 1;
        j->status = st;
        j->msg = strdup(err.msg[0] ? err.msg : rk_strerror(st));
        r->pending = 0;
        req_wake_locked(r);
    } else if (r->pending) {
        j->call = call;
        if (r->stopping) /* an abort ran while embed_start did */
            embed_cancel(r);
    }
    pthread_mutex_unlock(&r->mu);
    return MHD_YES;
}

enum MHD_Result embed_handle(http_req *r, json_t *body)
{
    embed_job *j = calloc(1, sizeof *j);
    if (!j)
        return hr_fail(r, 503, NULL, "out of memory");
    j->root = json_incref(body);
    r->ops = &embed_ops; /* req_free frees the job from here on */
    r->job = j;
    if (!r->srv->chat->embed_start)
        return hr_fail(r, 400, NULL,
                       "Embeddings are not supported by this server");
    enum MHD_Result rc = parse(r, j, body);
    if (r->phase == PHASE_ANSWERED || rc != MHD_YES)
        return rc;
    size_t bytes = 0;
    for (size_t i = 0; i < j->n; i++)
        bytes += strlen(j->inputs[i]);
    if (auth_charge(r, 1, (int64_t)((bytes + 3) / 4), &rc) < 0)
        return rc;
    r->phase = PHASE_ASYNC;
    return start_embed(r, j);
}
