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

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm_common.h"
#include "llm_sse.h"

#define SSE_MAX ((size_t)4 << 20) /* one line / one event */
#define RAW_MAX ((size_t)4 << 20) /* plain-JSON answer to a stream request */

typedef struct chat_state {
    llm_sse sse;
    int done;    /* data: [DONE] seen */
    int events;  /* SSE events seen in this attempt */
    llm_buf raw; /* the body while no event has come */
    oj_doc doc;  /* token array, reused by every chunk */
    llm_buf str; /* decoded strings, reused */
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
    oj_free(&s->doc);
    llm_buf_free(&s->str);
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

static int no_memory(rk_llm_call *c)
{
    return llm_call_fail(c, RK_ERR_NOMEM, "out of memory reading the upstream response");
}

/* A short string token (names, reasons) as a C string in small; NULL if
 * it is not a string. Longer ones are cut: every reader of these keeps a
 * bounded copy anyway. */
#define SMALL_STR 256
static const char *small_text(const oj_doc *d, int i, char *small)
{
    if (oj_kind(d, i) != OJ_STR)
        return NULL;
    if (oj_copy(d, i, small, SMALL_STR) != SIZE_MAX)
        return small;
    /* cut the raw text at a safe point (before any escape) */
    size_t n = 0;
    const char *raw = d->src + d->t[i].start;
    while (n < SMALL_STR - 1 && raw[n] != '\\')
        n++;
    memcpy(small, raw, n);
    small[n] = '\0';
    llm_utf8_trim(small);
    return small;
}

/* {"error": ...} inside a 200 response: vLLM and proxies report failures
 * found mid-generation this way. */
static int upstream_error(rk_llm_call *c, const oj_doc *d, int e)
{
    char small[SMALL_STR];
    const char *m = small_text(d, oj_kind(d, e) == OJ_STR ? e : oj_get(d, e, "message"), small);
    return llm_call_fail(c, RK_ERR_UPSTREAM, "upstream error: %s", m ? m : "(no message)");
}

static void apply_usage(rk_llm_call *c, const oj_doc *d, int u)
{
    int64_t p = -1, q = -1;
    if (!oj_int(d, oj_get(d, u, "prompt_tokens"), &p))
        p = -1;
    if (!oj_int(d, oj_get(d, u, "completion_tokens"), &q))
        q = -1;
    llm_call_set_usage(c, p, q);
}

/* Fields common to a chunk and a whole completion (the document's root);
 * `key` is "delta" for a chunk and "message" for a completion. The text
 * goes out straight from the source when it has no escapes, else decoded
 * into str. */
static int apply_choice(rk_llm_call *c, const oj_doc *d, const char *key, llm_buf *str)
{
    char small[SMALL_STR];
    int e = oj_get(d, 0, "error");
    if (e >= 0)
        return upstream_error(c, d, e);
    llm_call_set_model(c, small_text(d, oj_get(d, 0, "model"), small));
    apply_usage(c, d, oj_get(d, 0, "usage"));
    int choices = oj_get(d, 0, "choices");
    if (choices >= 0 && oj_kind(d, choices) != OJ_ARR)
        return malformed(c, "choices is not an array");
    int choice = oj_at(d, choices, 0);
    if (choice < 0)
        return RK_OK; /* the usage-only chunk at the end of a stream */
    int content = oj_get(d, oj_get(d, choice, key), "content");
    oj_type ct = oj_kind(d, content);
    if (content >= 0 && ct != OJ_STR && ct != OJ_NULL)
        return malformed(c, "content is not a string");
    llm_call_set_finish(c, small_text(d, oj_get(d, choice, "finish_reason"), small));
    if (ct != OJ_STR)
        return RK_OK;
    size_t n = 0;
    const char *text = oj_raw(d, content, &n);
    if (!text) {
        if (oj_str(d, content, str) != 0)
            return no_memory(c);
        text = str->p;
        n = str->len;
    }
    return llm_call_delta(c, text, n) ? RK_ERR_CANCELLED : RK_OK;
}

static int parse_object(rk_llm_call *c, oj_doc *d, const char *data, size_t len,
                        const char *what)
{
    int rc = oj_parse(d, data, len);
    if (rc == -2)
        return no_memory(c);
    if (rc < 0)
        return malformed(c, d->err);
    return oj_kind(d, 0) == OJ_OBJ ? RK_OK : malformed(c, what);
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
    int rc = parse_object(c, &s->doc, data, len, "chunk is not an object");
    return rc == RK_OK ? apply_choice(c, &s->doc, "delta", &s->str) : rc;
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

/* A whole completion. The token array starts on the stack: an ordinary
 * answer needs no allocation to be read. */
static int chat_json_end(rk_llm_call *c, const char *body, size_t len)
{
    oj_tok toks[128];
    oj_doc d;
    llm_buf str = {0};
    oj_init_with(&d, toks, sizeof toks / sizeof toks[0]);
    int rc = parse_object(c, &d, body ? body : "", len, "response is not an object");
    if (rc == RK_OK && oj_get(&d, 0, "error") < 0 &&
        oj_kind(&d, oj_at(&d, oj_get(&d, 0, "choices"), 0)) != OJ_OBJ)
        rc = malformed(c, "no choices");
    else if (rc == RK_OK)
        rc = apply_choice(c, &d, "message", &str);
    oj_free(&d);
    llm_buf_free(&str);
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
static int embed_item(rk_llm_call *c, embed_state *s, const oj_doc *d, int item, size_t i,
                      float **vals)
{
    int emb = oj_get(d, item, "embedding");
    size_t dim = oj_count(d, emb);
    int64_t idx = 0;
    if (dim == 0)
        return malformed(c, "embedding is not a non-empty array");
    float *v = realloc(*vals, dim * sizeof *v);
    if (!v)
        return llm_call_fail(c, RK_ERR_NOMEM, "out of memory");
    *vals = v;
    size_t k = 0;
    for (uint32_t x = (uint32_t)emb + 1; x < d->t[emb].end; x = d->t[x].end) {
        double val;
        if (!oj_double(d, (int)x, &val))
            return malformed(c, "embedding value is not a number");
        v[k++] = (float)val;
    }
    int has_idx = oj_int(d, oj_get(d, item, "index"), &idx);
    rk_embedding e = {sizeof(rk_embedding), has_idx ? (size_t)idx : i, v, dim};
    if (e.index >= s->n)
        return malformed(c, "embedding index out of range");
    if (s->sink.on_vector)
        s->sink.on_vector(s->ud, &e);
    return llm_call_cancelled(c) ? RK_ERR_CANCELLED : RK_OK;
}

static int embed_end(rk_llm_call *c, const char *body, size_t len)
{
    embed_state *s = llm_call_state(c);
    oj_doc d = {0};
    float *vals = NULL;
    int rc = parse_object(c, &d, body ? body : "", len, "response is not an object");
    int data = oj_get(&d, 0, "data");
    size_t n = oj_count(&d, data);
    if (rc == RK_OK && oj_get(&d, 0, "error") >= 0)
        rc = upstream_error(c, &d, oj_get(&d, 0, "error"));
    else if (rc == RK_OK && (oj_kind(&d, data) != OJ_ARR || n != s->n))
        rc = llm_call_fail(c, RK_ERR_UPSTREAM,
                           "malformed upstream response: expected %zu embeddings, got %zu",
                           s->n, n);
    if (rc == RK_OK) {
        char small[SMALL_STR];
        llm_call_set_model(c, small_text(&d, oj_get(&d, 0, "model"), small));
        apply_usage(c, &d, oj_get(&d, 0, "usage"));
    }
    size_t i = 0;
    for (uint32_t it = (uint32_t)data + 1; rc == RK_OK && data >= 0 && it < d.t[data].end;
         it = d.t[it].end)
        rc = embed_item(c, s, &d, (int)it, i++, &vals);
    free(vals);
    oj_free(&d);
    return rc;
}

const llm_proto oai_embed_proto = {NULL, embed_end, NULL, free};
