/*
 * llm_anthropic — Anthropic's Messages API as an LLM provider. It owns the
 * instance settings and the translation both ways: an rk_llm_request
 * becomes {system, messages} (system messages joined, only user/assistant
 * turns, consecutive same-role turns merged because the API requires them
 * to alternate), and the typed SSE events (message_start,
 * content_block_delta, message_delta, message_stop, error) become deltas,
 * usage and a finish reason in OpenAI's vocabulary. HTTP, retries and
 * timeouts are llm_call's, shared with llm_openai.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <ragkernel/ragkernel.h>

#include "llm_call.h"
#include "llm_common.h"
#include "llm_sse.h"

#define SSE_MAX ((size_t)4 << 20)

typedef struct anth {
    llm_client cl;
    const rk_host *host;
    rk_instance *self;
    char *url;             /* {base_url}/v1/messages */
    const char *model;
    int64_t max_tokens;
    rk_http_header *hdrs;  /* values host-owned */
    size_t n_hdrs;
} anth;

/* ---------------------------------------------------------------- response */

typedef struct astate {
    llm_sse sse;
    int stopped; /* message_stop seen */
} astate;

static void st_free(void *p)
{
    astate *s = p;
    if (s)
        llm_sse_free(&s->sse);
    free(s);
}

static void st_reset(rk_llm_call *c)
{
    astate *s = llm_call_state(c);
    llm_sse_reset(&s->sse);
    s->stopped = 0;
}

static int malformed(rk_llm_call *c, const char *what)
{
    return llm_call_fail(c, RK_ERR_UPSTREAM, "malformed upstream response: %s", what);
}

/* error.type of an `error` event -> status; overloaded and api errors are
 * worth a retry like the 529/500 they stand for. */
static int error_event(rk_llm_call *c, json_t *root)
{
    json_t *e = json_object_get(root, "error");
    const char *type = json_string_value(json_object_get(e, "type"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    int st = RK_ERR_UPSTREAM;
    if (type && (!strcmp(type, "overloaded_error") || !strcmp(type, "api_error")))
        st = RK_ERR_UNAVAILABLE;
    else if (type && !strcmp(type, "rate_limit_error"))
        st = RK_ERR_RATE_LIMITED;
    else if (type && (!strcmp(type, "authentication_error") || !strcmp(type, "permission_error")))
        st = RK_ERR_AUTH;
    else if (type && (!strcmp(type, "invalid_request_error") || !strcmp(type, "not_found_error")))
        st = RK_ERR_INVALID;
    return llm_call_fail(c, st, "upstream error event: %s: %s", type ? type : "error",
                         msg ? msg : "(no message)");
}

static const char *finish_reason(const char *stop)
{
    if (!strcmp(stop, "end_turn") || !strcmp(stop, "stop_sequence"))
        return "stop";
    if (!strcmp(stop, "max_tokens"))
        return "length";
    if (!strcmp(stop, "tool_use"))
        return "tool_calls";
    if (!strcmp(stop, "refusal"))
        return "content_filter";
    return stop;
}

static void usage(rk_llm_call *c, json_t *u)
{
    json_t *in = json_object_get(u, "input_tokens");
    json_t *out = json_object_get(u, "output_tokens");
    llm_call_set_usage(c, json_is_integer(in) ? json_integer_value(in) : -1,
                       json_is_integer(out) ? json_integer_value(out) : -1);
}

static int apply_event(rk_llm_call *c, astate *s, const char *type, json_t *root)
{
    if (!strcmp(type, "content_block_delta")) {
        json_t *d = json_object_get(root, "delta");
        json_t *text = json_object_get(d, "text");
        if (!json_is_object(d))
            return malformed(c, "content_block_delta without delta");
        const char *dt = json_string_value(json_object_get(d, "type"));
        if (!dt || strcmp(dt, "text_delta"))
            return RK_OK; /* tool input, thinking: not answer text */
        if (!json_is_string(text))
            return malformed(c, "text_delta without text");
        return llm_call_delta(c, json_string_value(text), json_string_length(text))
                   ? RK_ERR_CANCELLED : RK_OK;
    }
    if (!strcmp(type, "message_start")) {
        json_t *m = json_object_get(root, "message");
        llm_call_set_model(c, json_string_value(json_object_get(m, "model")));
        usage(c, json_object_get(m, "usage"));
    } else if (!strcmp(type, "message_delta")) {
        const char *stop = json_string_value(
            json_object_get(json_object_get(root, "delta"), "stop_reason"));
        if (stop)
            llm_call_set_finish(c, finish_reason(stop));
        json_t *u = json_object_get(root, "usage");
        json_t *out = json_object_get(u, "output_tokens");
        if (json_is_integer(out))
            llm_call_set_usage(c, -1, json_integer_value(out));
    } else if (!strcmp(type, "message_stop")) {
        s->stopped = 1;
    } else if (!strcmp(type, "error")) {
        return error_event(c, root);
    }
    return RK_OK; /* ping, content_block_start/stop, newer event types */
}

static int on_event(void *ud, const char *event, const char *data, size_t len)
{
    rk_llm_call *c = ud;
    astate *s = llm_call_state(c);
    if (s->stopped)
        return 0;
    json_error_t je;
    json_t *root = json_loadb(data, len, 0, &je);
    if (!json_is_object(root)) {
        json_decref(root);
        return malformed(c, root ? "event data is not an object" : je.text);
    }
    /* the data repeats the event name as "type"; trust it over the line */
    const char *type = json_string_value(json_object_get(root, "type"));
    int rc = apply_event(c, s, type ? type : event, root);
    json_decref(root);
    return rc;
}

static int feed_status(rk_llm_call *c, int rc)
{
    if (rc == 0)
        return RK_OK;
    if (llm_call_cancelled(c))
        return RK_ERR_CANCELLED;
    return malformed(c, "SSE line or event too large");
}

static int st_body(rk_llm_call *c, const char *data, size_t len)
{
    astate *s = llm_call_state(c);
    return feed_status(c, llm_sse_feed(&s->sse, data, len, on_event, c));
}

static int st_end(rk_llm_call *c, const char *body, size_t len)
{
    astate *s = llm_call_state(c);
    (void)body, (void)len; /* streamed: the pieces went through the parser */
    int rc = feed_status(c, llm_sse_finish(&s->sse, on_event, c));
    if (rc != RK_OK)
        return rc;
    if (s->stopped || llm_call_has_finish(c))
        return RK_OK;
    return llm_call_fail(c, RK_ERR_UNAVAILABLE, "upstream stream ended before message_stop");
}

static const llm_proto anth_proto = {st_body, st_end, st_reset, st_free};

/* ---------------------------------------------------------------- request */

static int flush_turn(json_t *msgs, llm_buf *cur, const char *role)
{
    if (!role || cur->len == 0)
        return RK_OK;
    json_t *m = json_pack("{s:s, s:s%}", "role", role, "content", cur->p, cur->len);
    llm_buf_reset(cur);
    return m && json_array_append_new(msgs, m) == 0 ? RK_OK : RK_ERR_INVALID;
}

/* Append one turn, merged into the previous one if the role repeats. */
static int add_turn(json_t *msgs, llm_buf *cur, const char **cur_role,
                    const char *role, const char *text)
{
    int st = RK_OK;
    if (*cur_role && strcmp(*cur_role, role) != 0)
        st = flush_turn(msgs, cur, *cur_role);
    if (st == RK_OK && cur->len > 0)
        st = llm_buf_add(cur, "\n\n", 2);
    *cur_role = role;
    return st == RK_OK ? llm_buf_add(cur, text, strlen(text)) : st;
}

/* messages[] (user/assistant, merged) and the joined system text. */
static int split_messages(const rk_llm_request *req, json_t *msgs, llm_buf *sys)
{
    llm_buf cur = {0};
    const char *cur_role = NULL;
    int st = RK_OK;
    for (size_t i = 0; st == RK_OK && i < req->n_messages; i++) {
        const char *role = req->messages[i].role ? req->messages[i].role : "user";
        const char *text = req->messages[i].content ? req->messages[i].content : "";
        if (!text[0])
            continue; /* the API rejects empty text blocks */
        if (!strcmp(role, "system")) {
            if (sys->len > 0)
                st = llm_buf_add(sys, "\n\n", 2);
            if (st == RK_OK)
                st = llm_buf_add(sys, text, strlen(text));
        } else {
            st = add_turn(msgs, &cur, &cur_role, strcmp(role, "assistant") ? "user" : "assistant",
                          text);
        }
    }
    if (st == RK_OK)
        st = flush_turn(msgs, &cur, cur_role);
    llm_buf_free(&cur);
    return st;
}

static int msg_body(const anth *a, const rk_llm_request *req, const char *model,
                    char **body, size_t *len, rk_err *err)
{
    llm_buf sys = {0};
    json_t *root = json_object(), *msgs = json_array();
    int st = RK_ERR_NOMEM;
    if (!root || !msgs || json_object_set_new(root, "messages", msgs))
        goto out;
    st = split_messages(req, msgs, &sys);
    if (st == RK_OK && json_array_size(msgs) == 0)
        st = RK_ERR_INVALID;
    if (st != RK_OK)
        goto out;
    json_object_set_new(root, "model", json_string(model));
    json_object_set_new(root, "max_tokens",
                        json_integer(req->max_tokens > 0 ? req->max_tokens : a->max_tokens));
    if (sys.len > 0 && json_object_set_new(root, "system", json_stringn(sys.p, sys.len))) {
        st = RK_ERR_INVALID;
        goto out;
    }
    json_object_set_new(root, "stream", json_true());
    if (req->temperature >= 0)
        json_object_set_new(root, "temperature", json_real(req->temperature));
    *body = json_dumps(root, JSON_COMPACT);
    st = *body ? RK_OK : RK_ERR_NOMEM;
    *len = *body ? strlen(*body) : 0;
out:
    json_decref(root);
    llm_buf_free(&sys);
    if (st == RK_ERR_INVALID)
        return rk_fail(err, st, "no user or assistant text, or text that is not UTF-8");
    return st == RK_OK ? RK_OK : rk_fail(err, st, "out of memory building the request");
}

/* ---------------------------------------------------------------- plugin */

static void anth_destroy(void *ctx)
{
    anth *a = ctx;
    if (!a)
        return;
    free(a->url);
    free(a->hdrs);
    free(a);
}

static int cfg_bad(const anth *a, const char *key, const char *what, rk_err *err)
{
    char where[160];
    return rk_fail(err, RK_ERR_CONFIG, "%s: %s %s",
                   a->host->cfg_where(a->self, key, where, sizeof where), key, what);
}

static int add_header(anth *a, const char *name, const char *value, rk_err *err)
{
    if (!value || !value[0])
        return RK_OK;
    if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
        return cfg_bad(a, "headers", "must not contain line breaks", err);
    a->hdrs[a->n_hdrs].name = name;
    a->hdrs[a->n_hdrs].value = value;
    a->n_hdrs++;
    return RK_OK;
}

static int build_headers(anth *a, rk_err *err)
{
    const rk_host *h = a->host;
    size_t extra = h->cfg_count(a->self, "headers");
    a->hdrs = calloc(3 + extra, sizeof *a->hdrs);
    if (!a->hdrs)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    int st = add_header(a, "Content-Type", "application/json", err);
    if (st == RK_OK)
        st = add_header(a, "x-api-key", h->cfg_string(a->self, "api_key"), err);
    if (st == RK_OK)
        st = add_header(a, "anthropic-version", h->cfg_string(a->self, "anthropic_version"), err);
    for (size_t i = 0; st == RK_OK && i < extra; i++)
        st = add_header(a, h->cfg_item_key(a->self, "headers", i),
                        h->cfg_item(a->self, "headers", i), err);
    return st;
}

/* {base}/v1/messages; a base that already ends in /v1 is taken as meant. */
static char *messages_url(const char *base)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    int has_v1 = n >= 3 && memcmp(base + n - 3, "/v1", 3) == 0;
    return llm_strfmt("%.*s%s/messages", (int)n, base, has_v1 ? "" : "/v1");
}

static int anth_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    anth *a = calloc(1, sizeof *a);
    if (!a)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    a->host = host;
    a->self = self;
    int st = llm_client_init(&a->cl, host, self, err);
    const char *base = host->cfg_string(self, "base_url");
    if (st == RK_OK && (!base || (strncmp(base, "http://", 7) && strncmp(base, "https://", 8))))
        st = cfg_bad(a, "base_url", "must start with http:// or https://", err);
    if (st == RK_OK && !(a->url = messages_url(base)))
        st = rk_fail(err, RK_ERR_NOMEM, "out of memory");
    if (st == RK_OK) {
        a->model = host->cfg_string(self, "model");
        a->max_tokens = host->cfg_int(self, "max_tokens");
        if (!a->model || !a->model[0])
            st = cfg_bad(a, "model", "must not be empty", err);
        else if (a->max_tokens <= 0)
            st = cfg_bad(a, "max_tokens", "must be positive", err);
    }
    if (st == RK_OK)
        st = build_headers(a, err);
    if (st != RK_OK) {
        anth_destroy(a);
        return st;
    }
    const char *key = host->cfg_string(self, "api_key");
    if ((!key || !key[0]) && strstr(base, "api.anthropic.com"))
        host->log(self, RK_LOG_WARN, "no api_key: api.anthropic.com will answer 401");
    *ctx = a;
    return RK_OK;
}

/* An alias from `models`, an upstream name listed there, or the default
 * (a model named for another provider of the fallback chain). */
static const char *resolve_model(const anth *a, const char *want)
{
    if (!want || !want[0])
        return a->model;
    const rk_host *h = a->host;
    size_t n = h->cfg_count(a->self, "models");
    for (size_t i = 0; i < n; i++)
        if (strcmp(h->cfg_item_key(a->self, "models", i), want) == 0)
            return h->cfg_item(a->self, "models", i);
    for (size_t i = 0; i < n; i++)
        if (strcmp(h->cfg_item(a->self, "models", i), want) == 0)
            return want;
    return a->model;
}

static int anth_complete(void *ctx, const rk_llm_request *req, const rk_llm_sink *sink,
                         void *ud, rk_llm_call **call, rk_err *err)
{
    anth *a = ctx;
    if (!req || !sink || !sink->on_done || !req->messages || req->n_messages == 0)
        return rk_fail(err, RK_ERR_INVALID, "no messages to complete");
    const char *model = resolve_model(a, req->model);
    char *body = NULL;
    size_t blen = 0;
    int st = msg_body(a, req, model, &body, &blen, err);
    if (st != RK_OK)
        return st;
    astate *s = calloc(1, sizeof *s);
    if (!s) {
        free(body);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    llm_sse_init(&s->sse, SSE_MAX);
    llm_call_spec sp = {
        .url = a->url, .headers = a->hdrs, .n_headers = a->n_hdrs,
        .body = body, .body_len = blen, .model = model,
        .deadline_ms = req->deadline_ms, .first_byte_ms = req->first_token_ms,
        .idle_ms = req->idle_ms, .on_delta = sink->on_delta,
        .on_done = sink->on_done, .ud = ud, .proto = &anth_proto, .state = s};
    return llm_call_start(&a->cl, &sp, call, err);
}

static void anth_cancel(void *ctx, rk_llm_call *call)
{
    (void)ctx;
    llm_call_cancel(call);
}

static void anth_pause(void *ctx, rk_llm_call *call, int pause)
{
    (void)ctx;
    llm_call_pause(call, pause);
}

static void anth_models(void *ctx, void (*fn)(void *ud, const char *model_id), void *ud)
{
    anth *a = ctx;
    fn(ud, a->model);
    size_t n = a->host->cfg_count(a->self, "models");
    for (size_t i = 0; i < n; i++) {
        const char *alias = a->host->cfg_item_key(a->self, "models", i);
        if (strcmp(alias, a->model) != 0)
            fn(ud, alias);
    }
}

static const rk_config_key anth_schema[] = {
    {"base_url", RK_CFG_STRING, "https://api.anthropic.com", 0,
     "API root; requests go to {base_url}/v1/messages"},
    {"api_key", RK_CFG_STRING, "", 0, "x-api-key (write ${ANTHROPIC_API_KEY})"},
    {"model", RK_CFG_STRING, "claude-3-5-haiku-latest", 0, "default model"},
    {"models", RK_CFG_MAP, NULL, 0,
     "alias -> upstream model; other names get the default model"},
    {"max_tokens", RK_CFG_INT, "1024", 0,
     "answer length limit when the request sets none (the API requires one)"},
    {"anthropic_version", RK_CFG_STRING, "2023-06-01", 0, "anthropic-version header"},
    LLM_CLIENT_CONFIG_KEYS,
    {"headers", RK_CFG_MAP, NULL, 0, "extra HTTP headers, e.g. anthropic-beta"},
    {NULL, 0, NULL, 0, NULL}};

static const rk_llm_vtable anth_vtable = {
    sizeof(rk_llm_vtable), anth_complete, anth_cancel, anth_models, NULL, anth_pause};

static const rk_plugin anth_plugin = {
    RK_PLUGIN_HEADER, .kind = RK_KIND_LLM, .name = "llm_anthropic", .version = "1.0.0",
    .description = "Anthropic Messages API (Claude), streamed", .config = anth_schema,
    .create = anth_create, .destroy = anth_destroy, .vtable = &anth_vtable};

RK_PLUGIN_DEFINE(anth_plugin)
