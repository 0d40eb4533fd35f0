/*
 * llm_openai — the plugin for every server that speaks OpenAI's Chat
 * Completions and Embeddings API: OpenAI itself, Azure OpenAI (deployment
 * URLs, api-key header), vLLM, Ollama (/v1), llama.cpp server. It owns the
 * instance settings, the headers sent with every request, and how an
 * rk_llm_request becomes a request body; the HTTP exchange, retries and
 * timeouts are llm_call's, and reading the answers is openai_stream's.
 * Models outside the alias map are answered with the default model: in a
 * fallback chain the model a client named usually belongs to the primary.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

#include "llm_call.h"
#include "llm_common.h"
#include "llm_sse.h"
#include "openai_stream.h"

typedef struct oai {
    llm_client cl;
    const rk_host *host;
    rk_instance *self;
    char *base;            /* base_url without a trailing '/' */
    const char *model;     /* default chat model */
    const char *embed_model;
    const char *api_version, *deployment;
    int azure, stream;
    rk_http_header *hdrs;  /* sent with every request; values host-owned or ours */
    size_t n_hdrs;
    char *auth;            /* "Bearer <key>" */
    char *chat_url;        /* when it does not depend on the model, else NULL */
} oai;

static char *make_url(const oai *o, const char *model, const char *path);

static void oai_destroy(void *ctx)
{
    oai *o = ctx;
    if (!o)
        return;
    free(o->base);
    free(o->hdrs);
    free(o->auth);
    free(o->chat_url);
    free(o);
}

static int cfg_bad(const oai *o, const char *key, const char *what, rk_err *err)
{
    char where[160];
    return rk_fail(err, RK_ERR_CONFIG, "%s: %s %s",
                   o->host->cfg_where(o->self, key, where, sizeof where), key, what);
}

static int add_header(oai *o, const char *name, const char *value, rk_err *err)
{
    if (!value || !value[0])
        return RK_OK;
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return cfg_bad(o, "headers", "must not contain line breaks", err);
    o->hdrs[o->n_hdrs].name = name;
    o->hdrs[o->n_hdrs].value = value;
    o->n_hdrs++;
    return RK_OK;
}

static int build_headers(oai *o, rk_err *err)
{
    const rk_host *h = o->host;
    size_t extra = h->cfg_count(o->self, "headers");
    o->hdrs = calloc(4 + extra, sizeof *o->hdrs);
    if (!o->hdrs)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    int st = add_header(o, "Content-Type", "application/json", err);
    const char *key = h->cfg_string(o->self, "api_key");
    if (st == RK_OK && key && key[0] && o->azure) {
        st = add_header(o, "api-key", key, err);
    } else if (st == RK_OK && key && key[0]) {
        o->auth = llm_strfmt("Bearer %s", key);
        st = o->auth ? add_header(o, "Authorization", o->auth, err)
                     : rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    if (st == RK_OK)
        st = add_header(o, "OpenAI-Organization", h->cfg_string(o->self, "organization"), err);
    if (st == RK_OK)
        st = add_header(o, "OpenAI-Project", h->cfg_string(o->self, "project"), err);
    for (size_t i = 0; st == RK_OK && i < extra; i++)
        st = add_header(o, h->cfg_item_key(o->self, "headers", i),
                        h->cfg_item(o->self, "headers", i), err);
    return st;
}

static int oai_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    oai *o = calloc(1, sizeof *o);
    if (!o)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    o->host = host;
    o->self = self;
    int st = llm_client_init(&o->cl, host, self, err);
    const char *base = host->cfg_string(self, "base_url");
    if (st == RK_OK && (!base || (strncmp(base, "http://", 7) && strncmp(base, "https://", 8))))
        st = cfg_bad(o, "base_url", "must start with http:// or https://", err);
    if (st == RK_OK && !(o->base = llm_strdup(base)))
        st = rk_fail(err, RK_ERR_NOMEM, "out of memory");
    if (st == RK_OK) {
        size_t n = strlen(o->base);
        while (n > 0 && o->base[n - 1] == '/')
            o->base[--n] = '\0';
        o->model = host->cfg_string(self, "model");
        o->embed_model = host->cfg_string(self, "embedding_model");
        o->api_version = host->cfg_string(self, "api_version");
        o->deployment = host->cfg_string(self, "deployment");
        o->azure = host->cfg_bool(self, "azure");
        o->stream = host->cfg_bool(self, "stream");
        if (!o->model || !o->model[0])
            st = cfg_bad(o, "model", "must not be empty", err);
        else if (o->azure && (!o->api_version || !o->api_version[0]))
            st = cfg_bad(o, "api_version", "is required with azure: true", err);
    }
    if (st == RK_OK)
        st = build_headers(o, err);
    /* the same URL for every chat request unless Azure names the model */
    if (st == RK_OK && (!o->azure || (o->deployment && o->deployment[0])) &&
        !(o->chat_url = make_url(o, o->model, "chat/completions")))
        st = rk_fail(err, RK_ERR_NOMEM, "out of memory");
    if (st != RK_OK) {
        oai_destroy(o);
        return st;
    }
    const char *key = host->cfg_string(self, "api_key");
    if ((!key || !key[0]) && strstr(o->base, "api.openai.com"))
        host->log(self, RK_LOG_WARN, "no api_key: api.openai.com will answer 401");
    *ctx = o;
    return RK_OK;
}

/* An alias from `models`, an upstream name listed there, or the default. */
static const char *resolve_model(const oai *o, const char *want, const char *dflt)
{
    if (!want || !want[0])
        return dflt;
    const rk_host *h = o->host;
    size_t n = h->cfg_count(o->self, "models");
    for (size_t i = 0; i < n; i++)
        if (strcmp(h->cfg_item_key(o->self, "models", i), want) == 0)
            return h->cfg_item(o->self, "models", i);
    for (size_t i = 0; i < n; i++)
        if (strcmp(h->cfg_item(o->self, "models", i), want) == 0)
            return want;
    return dflt;
}

/* {base}/{path}, or Azure's {base}/openai/deployments/{dep}/{path}?api-version=. */
static char *make_url(const oai *o, const char *model, const char *path)
{
    if (!o->azure)
        return llm_strfmt("%s/%s", o->base, path);
    const char *dep = o->deployment && o->deployment[0] ? o->deployment : model;
    return llm_strfmt("%s/openai/deployments/%s/%s?api-version=%s", o->base, dep,
                      path, o->api_version);
}

/* ---- the request body ----------------------------------------------------
 * Written directly rather than through a jansson tree: this runs for every
 * request, and the tree cost more than the rest of the request did. */

/* Append the shortest decimal that reads back as v (finite v only). */
static int oj_put_double(llm_buf *b, double v)
{
    char num[40];
    if (!isfinite(v)) return -1;
    snprintf(num, sizeof num, "%.15g", v);
    if (strtod(num, NULL) != v) snprintf(num, sizeof num, "%.17g", v);
    for (char *p = num; *p; p++)
        if (*p == ',') *p = '.'; /* a locale's decimal comma */
    if (!strpbrk(num, ".eEn")) strncat(num, ".0", sizeof num - strlen(num) - 1);
    return llm_buf_add(b, num, strlen(num)) == RK_OK ? 0 : -2;
}


static int put(llm_buf *b, const char *s) { return llm_buf_add(b, s, strlen(s)) == RK_OK ? 0 : -2; }

static int put_str(llm_buf *b, const char *s) { return llm_buf_json_str(b, s, strlen(s)); }

/* 0, -1 (message i is not valid UTF-8: *bad = i), -2 out of memory. */
static int chat_json(const oai *o, const rk_llm_request *req, const char *model,
                     llm_buf *b, size_t *bad)
{
    int rc = put(b, "{\"model\":");
    if (!rc && (rc = put_str(b, model)) == -1) *bad = SIZE_MAX;
    if (!rc) rc = put(b, ",\"messages\":[");
    for (size_t i = 0; !rc && i < req->n_messages; i++) {
        const rk_message *m = &req->messages[i];
        rc = put(b, i ? ",{\"role\":" : "{\"role\":");
        if (!rc) rc = put_str(b, m->role ? m->role : "user");
        if (!rc) rc = put(b, ",\"content\":");
        if (!rc) rc = put_str(b, m->content ? m->content : "");
        if (!rc) rc = put(b, "}");
        if (rc == -1) *bad = i;
    }
    if (!rc) rc = put(b, "]");
    /* Azure's GA api-versions reject stream_options; usage is optional */
    if (!rc && o->stream)
        rc = put(b, o->azure ? ",\"stream\":true"
                             : ",\"stream\":true,\"stream_options\":{\"include_usage\":true}");
    if (!rc && req->temperature >= 0 && !(rc = put(b, ",\"temperature\":")))
        rc = oj_put_double(b, req->temperature);
    if (!rc && req->max_tokens > 0) {
        char num[48];
        snprintf(num, sizeof num, ",\"max_tokens\":%lld", (long long)req->max_tokens);
        rc = put(b, num);
    }
    return rc ? rc : put(b, "}");
}

static int chat_body(const oai *o, const rk_llm_request *req, const char *model,
                     char **body, size_t *len, rk_err *err)
{
    llm_buf b = {0};
    size_t bad = 0, est = 256 + strlen(model);
    for (size_t i = 0; i < req->n_messages; i++)
        est += 32 + (req->messages[i].content ? strlen(req->messages[i].content) : 0);
    if ((b.p = malloc(est))) { /* one allocation in the common case */
        b.cap = est;
        b.p[0] = '\0';
    }
    int rc = b.p ? chat_json(o, req, model, &b, &bad) : -2;
    if (rc == 0) {
        *body = b.p;
        *len = b.len;
        return RK_OK;
    }
    llm_buf_free(&b);
    if (rc == -2) return rk_fail(err, RK_ERR_NOMEM, "out of memory building the request");
    if (bad == SIZE_MAX) return rk_fail(err, RK_ERR_INVALID, "the model name is not valid UTF-8");
    return rk_fail(err, RK_ERR_INVALID, "message %zu is not valid UTF-8", bad);
}

static int oai_complete(void *ctx, const rk_llm_request *req, const rk_llm_sink *sink,
                        void *ud, rk_llm_call **call, rk_err *err)
{
    oai *o = ctx;
    if (!req || !sink || !sink->on_done || !req->messages || req->n_messages == 0)
        return rk_fail(err, RK_ERR_INVALID, "no messages to complete");
    const char *model = resolve_model(o, req->model, o->model);
    char *body = NULL;
    size_t blen = 0;
    int st = chat_body(o, req, model, &body, &blen, err);
    if (st != RK_OK)
        return st;
    void *state = NULL;
    if (o->stream && !(state = oai_chat_state_new())) {
        free(body);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    char *url = o->chat_url ? NULL : make_url(o, model, "chat/completions");
    llm_call_spec sp = {
        .url = o->chat_url ? o->chat_url : url, .headers = o->hdrs, .n_headers = o->n_hdrs,
        .body = body, .body_len = blen, .model = model,
        .deadline_ms = req->deadline_ms, .first_byte_ms = req->first_token_ms,
        .idle_ms = req->idle_ms, .on_delta = sink->on_delta,
        .on_done = sink->on_done, .ud = ud,
        .proto = o->stream ? &oai_chat_stream_proto : &oai_chat_json_proto,
        .state = state};
    if (!sp.url) {
        free(body);
        oai_chat_stream_proto.free_state(state);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    st = llm_call_start(&o->cl, &sp, call, err);
    free(url);
    return st;
}

static void oai_cancel(void *ctx, rk_llm_call *call)
{
    (void)ctx;
    llm_call_cancel(call);
}

static void oai_pause(void *ctx, rk_llm_call *call, int pause)
{
    (void)ctx;
    llm_call_pause(call, pause);
}

static void oai_models(void *ctx, void (*fn)(void *ud, const char *model_id), void *ud)
{
    oai *o = ctx;
    fn(ud, o->model);
    size_t n = o->host->cfg_count(o->self, "models");
    for (size_t i = 0; i < n; i++) {
        const char *alias = o->host->cfg_item_key(o->self, "models", i);
        if (strcmp(alias, o->model) != 0)
            fn(ud, alias);
    }
}

static int embed_body(const char *model, const char *const *inputs, size_t n,
                      char **body, size_t *len, rk_err *err)
{
    llm_buf b = {0};
    size_t bad = SIZE_MAX;
    int rc = put(&b, "{\"model\":");
    if (!rc)
        rc = put_str(&b, model); /* -1: the caller's model name */
    if (!rc)
        rc = put(&b, ",\"input\":[");
    for (size_t i = 0; !rc && i < n; i++) {
        if (i && (rc = put(&b, ",")))
            break;
        if ((rc = put_str(&b, inputs[i] ? inputs[i] : "")) == -1)
            bad = i;
    }
    if (!rc)
        rc = put(&b, "]}");
    if (!rc) {
        *body = b.p;
        *len = b.len;
        return RK_OK;
    }
    llm_buf_free(&b);
    if (rc == -2)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory building the request");
    if (bad == SIZE_MAX)
        return rk_fail(err, RK_ERR_INVALID, "the model name is not valid UTF-8");
    return rk_fail(err, RK_ERR_INVALID, "input %zu is not valid UTF-8", bad);
}

static int oai_embed(void *ctx, const char *model, const char *const *inputs, size_t n,
                     int64_t deadline_ms, const rk_embed_sink *sink, void *ud,
                     rk_llm_call **call, rk_err *err)
{
    oai *o = ctx;
    if (!inputs || n == 0 || !sink || !sink->on_done)
        return rk_fail(err, RK_ERR_INVALID, "no inputs to embed");
    /* an embedding model named by the caller is passed on as is */
    const char *m = resolve_model(o, model, model && model[0] ? model : o->embed_model);
    char *body = NULL;
    size_t blen = 0;
    int st = embed_body(m, inputs, n, &body, &blen, err);
    if (st != RK_OK)
        return st;
    void *state = oai_embed_state_new(sink, ud, n);
    char *url = make_url(o, m, "embeddings");
    llm_call_spec sp = {
        .url = url, .headers = o->hdrs, .n_headers = o->n_hdrs,
        .body = body, .body_len = blen, .model = m, .deadline_ms = deadline_ms,
        .on_done = sink->on_done, .ud = ud, .proto = &oai_embed_proto, .state = state};
    if (!state || !url) {
        free(body);
        free(state);
        free(url);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    st = llm_call_start(&o->cl, &sp, call, err);
    free(url);
    return st;
}

static const rk_config_key oai_schema[] = {
    {"base_url", RK_CFG_STRING, "https://api.openai.com/v1", 0,
     "API root, e.g. http://127.0.0.1:11434/v1 for Ollama"},
    {"api_key", RK_CFG_STRING, "", 0,
     "API key (write ${OPENAI_API_KEY}); empty = no Authorization header"},
    {"model", RK_CFG_STRING, "gpt-4o-mini", 0, "default model"},
    {"models", RK_CFG_MAP, NULL, 0,
     "alias -> upstream model; other names get the default model"},
    {"embedding_model", RK_CFG_STRING, "text-embedding-3-small", 0,
     "embeddings model when the caller names none"},
    {"organization", RK_CFG_STRING, NULL, 0, "OpenAI-Organization header"},
    {"project", RK_CFG_STRING, NULL, 0, "OpenAI-Project header"},
    {"azure", RK_CFG_BOOL, "false", 0,
     "Azure OpenAI: deployment URLs and the api-key header"},
    {"api_version", RK_CFG_STRING, "2024-06-01", 0, "Azure api-version"},
    {"deployment", RK_CFG_STRING, NULL, 0, "Azure deployment; absent = the model name"},
    LLM_CLIENT_CONFIG_KEYS,
    {"headers", RK_CFG_MAP, NULL, 0, "extra HTTP headers sent upstream"},
    {"stream", RK_CFG_BOOL, "true", 0, "ask for an SSE stream so deltas flow as they come"},
    {NULL, 0, NULL, 0, NULL}};

static const rk_llm_vtable oai_vtable = {
    sizeof(rk_llm_vtable), oai_complete, oai_cancel, oai_models, oai_embed, oai_pause};

static const rk_plugin oai_plugin = {
    RK_PLUGIN_HEADER, .kind = RK_KIND_LLM, .name = "llm_openai", .version = "1.0.0",
    .description = "OpenAI-compatible chat and embeddings (OpenAI, Azure, vLLM, Ollama, llama.cpp)",
    .config = oai_schema, .create = oai_create, .destroy = oai_destroy, .vtable = &oai_vtable};

RK_PLUGIN_DEFINE(oai_plugin)
