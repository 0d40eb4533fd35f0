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
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <ragkernel/ragkernel.h>

#include "llm_call.h"
#include "llm_common.h"
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
} oai;

static void oai_destroy(void *ctx)
{
    oai *o = ctx;
    if (!o)
        return;
    free(o->base);
    free(o->hdrs);
    free(o->auth);
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

/* Serialise root (consumed) into a malloc'd body. */
static int dump_body(json_t *root, char **body, size_t *len, rk_err *err)
{
    *body = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (!*body)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory building the request");
    *len = strlen(*body);
    return RK_OK;
}

static int chat_body(const oai *o, const rk_llm_request *req, const char *model,
                     char **body, size_t *len, rk_err *err)
{
    json_t *root = json_object(), *msgs = json_array();
    if (!root || !msgs || json_object_set_new(root, "messages", msgs)) {
        json_decref(root);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory building the request");
    }
    for (size_t i = 0; i < req->n_messages; i++) {
        const rk_message *m = &req->messages[i];
        json_t *jm = json_pack("{s:s, s:s}", "role", m->role ? m->role : "user",
                               "content", m->content ? m->content : "");
        if (!jm || json_array_append_new(msgs, jm)) {
            json_decref(root);
            return rk_fail(err, RK_ERR_INVALID, "message %zu is not valid UTF-8", i);
        }
    }
    json_object_set_new(root, "model", json_string(model));
    if (o->stream) {
        json_object_set_new(root, "stream", json_true());
        /* Azure's GA api-versions reject stream_options; usage is optional */
        if (!o->azure)
            json_object_set_new(root, "stream_options", json_pack("{s:b}", "include_usage", 1));
    }
    if (req->temperature >= 0)
        json_object_set_new(root, "temperature", json_real(req->temperature));
    if (req->max_tokens > 0)
        json_object_set_new(root, "max_tokens", json_integer(req->max_tokens));
    return dump_body(root, body, len, err);
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
    char *url = make_url(o, model, "chat/completions");
    llm_call_spec sp = {
        .url = url, .headers = o->hdrs, .n_headers = o->n_hdrs,
        .body = body, .body_len = blen, .model = model,
        .deadline_ms = req->deadline_ms, .first_byte_ms = req->first_token_ms,
        .idle_ms = req->idle_ms, .on_delta = sink->on_delta,
        .on_done = sink->on_done, .ud = ud,
        .proto = o->stream ? &oai_chat_stream_proto : &oai_chat_json_proto,
        .state = state};
    if (!url) {
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
    json_t *root = json_object(), *in = json_array();
    if (!root || !in || json_object_set_new(root, "input", in)) {
        json_decref(root);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory building the request");
    }
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_string(inputs[i] ? inputs[i] : "");
        if (!s || json_array_append_new(in, s)) {
            json_decref(root);
            return rk_fail(err, RK_ERR_INVALID, "input %zu is not valid UTF-8", i);
        }
    }
    json_object_set_new(root, "model", json_string(model));
    return dump_body(root, body, len, err);
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
    sizeof(rk_llm_vtable), oai_complete, oai_cancel, oai_models, oai_embed};

static const rk_plugin oai_plugin = {
    sizeof(rk_plugin), RK_ABI_MAJOR, RK_ABI_MINOR, RK_KIND_LLM, "llm_openai", "1.0.0",
    "OpenAI-compatible chat and embeddings (OpenAI, Azure, vLLM, Ollama, llama.cpp)",
    0, oai_schema, oai_create, NULL, NULL, oai_destroy, &oai_vtable};

RK_PLUGIN_DEFINE(oai_plugin)
