/*
 * openai_stream — turns OpenAI-compatible response bodies into deltas,
 * finish reasons, usage and vectors. It owns the per-call parse state: the
 * SSE parser, whether [DONE] came, and (until the first event) a copy of
 * the raw body, because some OpenAI-compatible servers ignore stream:true
 * and answer with a plain JSON object that must still be understood.
 * Anything that does not parse is RK_ERR_UPSTREAM "malformed upstream
 * response"; a stream that stops before [DONE] (and without a finish
 * reason) is RK_ERR_UNAVAILABLE, since the connection, not the data, failed.
 */
#include "openai_stream.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "llm_common.h"
#include "llm_sse.h"

#define SSE_MAX ((size_t)4 << 20) /* one line / one event */
#define RAW_MAX ((size_t)4 << 20) /* plain-JSON answer to a stream request */

typedef struct chat_state {
    llm_sse sse;
    int done;    /* data: [DONE] seen */
    int events;  /* SSE events seen in this attempt */
    llm_buf raw; /* the body while no event has come */
} chat_state;

void *oai_chat_state_new(void)
{
    chat_state *s = calloc(1, sizeof *s);
    if (s)
        llm_sse_init(&s->sse, SSE_MAX);
    return s;
}

static void chat_free(void *p)
{
    chat_state *s = p;
    if (!s)
        return;
    llm_sse_free(&s->sse);
    llm_buf_free(&s->raw);
    free(s);
}

static void chat_reset(rk_llm_call *c)
{
    chat_state *s = llm_call_state(c);
    llm_sse_reset(&s->sse);
    llm_buf_reset(&s->raw);
    s->done = 0;
    s->events = 0;
}

static int malformed(rk_llm_call *c, const char *what)
{
    return llm_call_fail(c, RK_ERR_UPSTREAM, "malformed upstream response: %s", what);
}

/* {"error": ...} inside a 200 response: vLLM and proxies report failures
 * found mid-generation this way. */
static int upstream_error(rk_llm_call *c, json_t *e)
{
    const char *m = json_is_string(e) ? json_string_value(e)
                                      : json_string_value(json_object_get(e, "message"));
    return llm_call_fail(c, RK_ERR_UPSTREAM, "upstream error: %s", m ? m : "(no message)");
}

static void apply_usage(rk_llm_call *c, json_t *u)
{
    json_t *p = json_object_get(u, "prompt_tokens");
    json_t *q = json_object_get(u, "completion_tokens");
    llm_call_set_usage(c, json_is_integer(p) ? json_integer_value(p) : -1,
                       json_is_integer(q) ? json_integer_value(q) : -1);
}

/* Fields common to a chunk and a whole completion; `key` is "delta" for a
 * chunk and "message" for a completion. */
static int apply_choice(rk_llm_call *c, json_t *root, const char *key)
{
    json_t *e = json_object_get(root, "error");
    if (e)
        return upstream_error(c, e);
    llm_call_set_model(c, json_string_value(json_object_get(root, "model")));
    apply_usage(c, json_object_get(root, "usage"));
    json_t *choices = json_object_get(root, "choices");
    if (choices && !json_is_array(choices))
        return malformed(c, "choices is not an array");
    json_t *choice = json_array_get(choices, 0);
    if (!choice)
        return RK_OK; /* the usage-only chunk at the end of a stream */
    json_t *content = json_object_get(json_object_get(choice, key), "content");
    if (content && !json_is_string(content) && !json_is_null(content))
        return malformed(c, "content is not a string");
    llm_call_set_finish(c, json_string_value(json_object_get(choice, "finish_reason")));
    if (json_is_string(content) &&
        llm_call_delta(c, json_string_value(content), json_string_length(content)))
        return RK_ERR_CANCELLED;
    return RK_OK;
}

static int chunk_event(void *ud, const char *event, const char *data, size_t len)
{
    rk_llm_call *c = ud;
    chat_state *s = llm_call_state(c);
    (void)event; /* OpenAI streams name no events */
    s->events++;
    if (s->done)
        return 0;
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        s->done = 1;
        return 0;
    }
    json_error_t je;
    json_t *root = json_loadb(data, len, 0, &je);
    if (!json_is_object(root)) {
        json_decref(root);
        return malformed(c, root ? "chunk is not an object" : je.text);
    }
    int rc = apply_choice(c, root, "delta");
    json_decref(root);
    return rc;
}

/* A nonzero result of the SSE parser as a status (failure already recorded
 * by a callback, cancellation, or an oversized line). */
static int feed_status(rk_llm_call *c, int rc)
{
    if (rc == 0)
        return RK_OK;
    if (llm_call_cancelled(c))
        return RK_ERR_CANCELLED;
    return malformed(c, "SSE line or event too large");
}

static int chat_stream_body(rk_llm_call *c, const char *data, size_t len)
{
    chat_state *s = llm_call_state(c);
    if (s->events == 0 && s->raw.len + len <= RAW_MAX &&
        llm_buf_add(&s->raw, data, len) != RK_OK)
        return llm_call_fail(c, RK_ERR_NOMEM, "out of memory");
    return feed_status(c, llm_sse_feed(&s->sse, data, len, chunk_event, c));
}

static int chat_json_end(rk_llm_call *c, const char *body, size_t len)
{
    json_error_t je;
    json_t *root = json_loadb(body ? body : "", len, 0, &je);
    int rc;
    if (!json_is_object(root))
        rc = malformed(c, root ? "response is not an object" : je.text);
    else if (!json_object_get(root, "error") &&
             !json_is_object(json_array_get(json_object_get(root, "choices"), 0)))
        rc = malformed(c, "no choices");
    else
        rc = apply_choice(c, root, "message");
    json_decref(root);
    return rc;
}

static int chat_stream_end(rk_llm_call *c, const char *body, size_t len)
{
    chat_state *s = llm_call_state(c);
    (void)body, (void)len; /* streamed: the pieces went through the parser */
    int rc = feed_status(c, llm_sse_finish(&s->sse, chunk_event, c));
    if (rc != RK_OK)
        return rc;
    size_t ws = s->raw.len > 0 ? strspn(s->raw.p, " \t\r\n") : 0;
    if (s->events == 0 && ws < s->raw.len && s->raw.p[ws] == '{')
        return chat_json_end(c, s->raw.p, s->raw.len); /* stream:true ignored */
    if (s->done || llm_call_has_finish(c))
        return RK_OK;
    return llm_call_fail(c, RK_ERR_UNAVAILABLE, "upstream stream ended before [DONE]");
}

const llm_proto oai_chat_stream_proto = {chat_stream_body, chat_stream_end,
                                         chat_reset, chat_free};
const llm_proto oai_chat_json_proto = {NULL, chat_json_end, NULL, NULL};

/* ---------------------------------------------------------------- embeddings */

typedef struct embed_state {
    rk_embed_sink sink;
    void *ud;
    size_t n; /* inputs sent: the answer must have as many vectors */
} embed_state;

void *oai_embed_state_new(const rk_embed_sink *sink, void *ud, size_t n)
{
    embed_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->sink = *sink;
    s->ud = ud;
    s->n = n;
    return s;
}

/* One data[] item -> on_vector; vals is reused between items. */
static int embed_item(rk_llm_call *c, embed_state *s, json_t *item, size_t i,
                      float **vals)
{
    json_t *emb = json_object_get(item, "embedding");
    json_t *idx = json_object_get(item, "index");
    size_t dim = json_array_size(emb);
    if (!json_is_array(emb) || dim == 0)
        return malformed(c, "embedding is not a non-empty array");
    float *v = realloc(*vals, dim * sizeof *v);
    if (!v)
        return llm_call_fail(c, RK_ERR_NOMEM, "out of memory");
    *vals = v;
    for (size_t k = 0; k < dim; k++) {
        json_t *x = json_array_get(emb, k);
        if (!json_is_number(x))
            return malformed(c, "embedding value is not a number");
        v[k] = (float)json_number_value(x);
    }
    rk_embedding e = {sizeof(rk_embedding), json_is_integer(idx) ? (size_t)json_integer_value(idx) : i,
                      v, dim};
    if (e.index >= s->n)
        return malformed(c, "embedding index out of range");
    if (s->sink.on_vector)
        s->sink.on_vector(s->ud, &e);
    return llm_call_cancelled(c) ? RK_ERR_CANCELLED : RK_OK;
}

static int embed_end(rk_llm_call *c, const char *body, size_t len)
{
    embed_state *s = llm_call_state(c);
    json_error_t je;
    json_t *root = json_loadb(body ? body : "", len, 0, &je);
    json_t *data = json_object_get(root, "data");
    float *vals = NULL;
    int rc = RK_OK;
    if (!json_is_object(root))
        rc = malformed(c, root ? "response is not an object" : je.text);
    else if (json_object_get(root, "error"))
        rc = upstream_error(c, json_object_get(root, "error"));
    else if (!json_is_array(data) || json_array_size(data) != s->n)
        rc = llm_call_fail(c, RK_ERR_UPSTREAM,
                           "malformed upstream response: expected %zu embeddings, got %zu",
                           s->n, json_array_size(data));
    if (rc == RK_OK) {
        llm_call_set_model(c, json_string_value(json_object_get(root, "model")));
        apply_usage(c, json_object_get(root, "usage"));
    }
    for (size_t i = 0; rc == RK_OK && i < json_array_size(data); i++)
        rc = embed_item(c, s, json_array_get(data, i), i, &vals);
    free(vals);
    json_decref(root);
    return rc;
}

const llm_proto oai_embed_proto = {NULL, embed_end, NULL, free};
