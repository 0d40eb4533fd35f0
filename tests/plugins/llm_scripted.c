/*
 * llm_scripted — a test LLM whose behaviour is chosen per request by
 * markers in the last user message, so one configuration can exercise
 * fallback, timeouts, cut streams and rate limits:
 *
 *   [fail]          RK_ERR_UNAVAILABLE before any delta
 *   [upstream]      RK_ERR_UPSTREAM (HTTP 500) before any delta
 *   [invalid]       RK_ERR_INVALID before any delta
 *   [hang]          never answers; only cancel() ends the call
 *   [cut:N]         N deltas, then RK_ERR_UNAVAILABLE
 *   [slow:MS]       the first delta comes after MS
 *   [ratelimit:MS]  RK_ERR_RATE_LIMITED, HTTP 429, Retry-After MS
 *   [echo]          the answer lists the prompt: "n=3|system:...|user:..."
 *
 * A marker may name one instance: "[fail@primary]" only affects the
 * instance whose `label` is primary. Otherwise the answer is
 * "<label>: <question without markers>" in three deltas, each from a host
 * timer. Asked to continue a cut answer (last user message is the
 * pipeline's continuation request), it answers
 * "<label> continues after <N> bytes", N = length of the partial answer it
 * was given. embed() returns for input i the vector {strlen(input), i};
 * an input containing "[hang]" makes it never answer. It deliberately
 * ignores deadline_ms / first_token_ms: the
 * pipeline's own guard must end a call that hangs. Every complete() counts
 * llm_scripted_calls_total{label="<label>"}.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

#define CONTINUE_PREFIX "Continue your previous answer"
#define PIECES 3

typedef struct scripted {
    const rk_host *host;
    const char *label, *model, *mode;
    int64_t delay_ms, fail_after;
    rk_metric *calls;
} scripted;

struct rk_llm_call {
    scripted *s;
    int embedding;         /* an embed() call: fields below the sink unused */
    rk_embed_sink esink;
    size_t *lens, n_lens;
    rk_llm_sink sink;
    void *ud;
    rk_timer *t;
    char *pieces[PIECES];
    int n_emit, idx, status, http_status;
    int64_t first_delay, retry_after;
};

/* ---- markers -------------------------------------------------------------- */

/* Find "[name" + optional ":arg" + optional "@label" + "]" addressed to s.
 * Returns 1 and the numeric argument in *arg when present. */
static int marker(const scripted *s, const char *text, const char *name, int64_t *arg)
{
    size_t nl = strlen(name);
    for (const char *p = strchr(text, '['); p; p = strchr(p + 1, '[')) {
        if (strncmp(p + 1, name, nl) != 0) continue;
        const char *q = p + 1 + nl, *end = strchr(q, ']');
        if (!end || (*q != ']' && *q != ':' && *q != '@')) continue;
        int64_t v = 0;
        if (*q == ':') v = strtoll(q + 1, (char **)&q, 10);
        if (*q == '@') {
            size_t ll = strlen(s->label);
            if ((size_t)(end - q - 1) != ll || strncmp(q + 1, s->label, ll) != 0) continue;
        }
        if (arg) *arg = v;
        return 1;
    }
    return 0;
}

/* The question without its [markers] and surrounding spaces (malloc'd). */
static char *strip_markers(const char *text)
{
    char *out = malloc(strlen(text) + 1);
    size_t o = 0;
    if (!out) return NULL;
    for (const char *p = text; *p;) {
        const char *end = *p == '[' ? strchr(p, ']') : NULL;
        if (end) {
            p = end + 1;
            continue;
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
    char *b = out;
    while (*b == ' ') b++;
    while (o > 0 && out[o - 1] == ' ') out[--o] = '\0';
    memmove(out, b, strlen(b) + 1);
    return out;
}

static const char *last_user(const rk_llm_request *req)
{
    for (size_t i = req->n_messages; i > 0; i--)
        if (strcmp(req->messages[i - 1].role, "user") == 0) return req->messages[i - 1].content;
    return "";
}

/* ---- answers -------------------------------------------------------------- */

static char *echo_prompt(const rk_llm_request *req)
{
    size_t cap = 64;
    for (size_t i = 0; i < req->n_messages; i++)
        cap += strlen(req->messages[i].role) + strlen(req->messages[i].content) + 3;
    char *s = malloc(cap);
    if (!s) return NULL;
    size_t o = (size_t)snprintf(s, cap, "n=%zu", req->n_messages);
    for (size_t i = 0; i < req->n_messages; i++)
        o += (size_t)snprintf(s + o, cap - o, "|%s:%s", req->messages[i].role,
                              req->messages[i].content);
    return s;
}

static char *answer_text(scripted *s, const rk_llm_request *req, const char *q)
{
    char *a = NULL;
    if (strncmp(q, CONTINUE_PREFIX, strlen(CONTINUE_PREFIX)) == 0) {
        size_t partial = 0;
        for (size_t i = req->n_messages; i > 0; i--)
            if (strcmp(req->messages[i - 1].role, "assistant") == 0) {
                partial = strlen(req->messages[i - 1].content);
                break;
            }
        if (asprintf(&a, "%s continues after %zu bytes", s->label, partial) < 0) a = NULL;
        return a;
    }
    if (marker(s, q, "echo", NULL)) return echo_prompt(req);
    char *plain = strip_markers(q);
    if (plain && asprintf(&a, "%s: %s", s->label, plain) < 0) a = NULL;
    free(plain);
    return a;
}

/* Split text into PIECES non-empty-ish parts. */
static int split(struct rk_llm_call *c, const char *text)
{
    size_t n = strlen(text), at = 0;
    for (int i = 0; i < PIECES; i++) {
        size_t len = i == PIECES - 1 ? n - at : n / PIECES;
        c->pieces[i] = strndup(text + at, len);
        if (!c->pieces[i]) return -1;
        at += len;
    }
    return 0;
}

/* ---- the call ---------------------------------------------------------- */

static void call_free(struct rk_llm_call *c)
{
    for (int i = 0; i < PIECES; i++) free(c->pieces[i]);
    free(c->lens);
    free(c);
}

static void step(void *ud)
{
    struct rk_llm_call *c = ud;
    c->t = NULL;
    if (c->idx < c->n_emit) {
        const char *p = c->pieces[c->idx++];
        c->sink.on_delta(c->ud, p, strlen(p));
        c->t = c->s->host->timer_start(c->s->delay_ms > 0 ? c->s->delay_ms : 1, step, c);
        return;
    }
    rk_llm_result res = {.struct_size = sizeof res,
                         .finish_reason = c->status == RK_OK ? "stop" : NULL,
                         .model = c->s->model,
                         .usage = {10, c->status == RK_OK ? 3 : 0},
                         .http_status = c->http_status,
                         .retry_after_ms = c->retry_after};
    const char *msg = c->status == RK_OK ? NULL
                      : c->status == RK_ERR_UPSTREAM ? "HTTP 500"
                      : c->status == RK_ERR_RATE_LIMITED ? "HTTP 429"
                      : c->idx > 0 ? "connection reset mid-stream"
                                   : "scripted failure";
    void (*done)(void *, int, const rk_llm_result *, const char *) = c->sink.on_done;
    void *dud = c->ud;
    int status = c->status;
    char msgbuf[64];
    snprintf(msgbuf, sizeof msgbuf, "%s", msg ? msg : "");
    call_free(c); /* the plugin is done with the call before reporting */
    done(dud, status, &res, msg ? msgbuf : NULL);
}

/* How this request should go, from the config and the markers. */
static void script(scripted *s, struct rk_llm_call *c, const char *q)
{
    int64_t v = 0;
    c->n_emit = PIECES;
    c->status = RK_OK;
    c->first_delay = s->delay_ms > 0 ? s->delay_ms : 1;
    if (s->fail_after > 0) c->n_emit = (int)s->fail_after, c->status = RK_ERR_UNAVAILABLE;
    if (strcmp(s->mode, "fail") == 0 || marker(s, q, "fail", NULL))
        c->n_emit = 0, c->status = RK_ERR_UNAVAILABLE;
    if (marker(s, q, "upstream", NULL)) c->n_emit = 0, c->status = RK_ERR_UPSTREAM, c->http_status = 500;
    if (marker(s, q, "invalid", NULL)) c->n_emit = 0, c->status = RK_ERR_INVALID, c->http_status = 400;
    if (marker(s, q, "cut", &v)) c->n_emit = (int)(v < PIECES ? v : PIECES - 1), c->status = RK_ERR_UNAVAILABLE;
    if (marker(s, q, "slow", &v)) c->first_delay = v;
    if (marker(s, q, "ratelimit", &v))
        c->n_emit = 0, c->status = RK_ERR_RATE_LIMITED, c->http_status = 429, c->retry_after = v;
}

static int sc_complete(void *ctx, const rk_llm_request *req, const rk_llm_sink *sink,
                       void *ud, rk_llm_call **out, rk_err *err)
{
    scripted *s = ctx;
    s->host->metric_add(s->calls, 1);
    struct rk_llm_call *c = calloc(1, sizeof *c);
    if (!c) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    c->s = s;
    c->sink = *sink;
    c->ud = ud;
    const char *q = last_user(req);
    char *text = answer_text(s, req, q);
    if (!text || split(c, text) < 0) {
        free(text);
        call_free(c);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    free(text);
    script(s, c, q);
    *out = c;
    if (strcmp(s->mode, "hang") == 0 || marker(s, q, "hang", NULL)) return RK_OK;
    c->t = s->host->timer_start(c->first_delay, step, c);
    return RK_OK;
}

static void sc_cancel(void *ctx, rk_llm_call *call)
{
    scripted *s = ctx;
    if (call->t) s->host->timer_cancel(call->t);
    call_free(call);
}

static void embed_step(void *ud)
{
    struct rk_llm_call *c = ud;
    for (size_t i = 0; i < c->n_lens; i++) {
        float v[2] = {(float)c->lens[i], (float)i};
        rk_embedding e = {.struct_size = sizeof e, .index = i, .values = v, .dim = 2};
        c->esink.on_vector(c->ud, &e);
    }
    rk_llm_result res = {.struct_size = sizeof res, .model = c->s->model};
    rk_embed_sink sink = c->esink;
    void *eud = c->ud;
    call_free(c);
    sink.on_done(eud, RK_OK, &res, NULL);
}

static int sc_embed(void *ctx, const char *model, const char *const *inputs, size_t n,
                    int64_t deadline_ms, const rk_embed_sink *sink, void *ud,
                    rk_llm_call **out, rk_err *err)
{
    scripted *s = ctx;
    (void)model, (void)deadline_ms; /* a hang must be ended by the host */
    struct rk_llm_call *c = calloc(1, sizeof *c);
    if (!c || !(c->lens = calloc(n ? n : 1, sizeof *c->lens))) {
        free(c);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    c->s = s;
    c->embedding = 1;
    c->esink = *sink;
    c->ud = ud;
    c->n_lens = n;
    int hang = 0;
    for (size_t i = 0; i < n; i++) {
        c->lens[i] = strlen(inputs[i]);
        hang |= strstr(inputs[i], "[hang]") != NULL;
    }
    *out = c;
    if (!hang) c->t = s->host->timer_start(1, embed_step, c);
    return RK_OK;
}

static void sc_models(void *ctx, void (*fn)(void *ud, const char *id), void *ud)
{
    scripted *s = ctx;
    fn(ud, s->model);
    fn(ud, "scripted-shared"); /* every instance: tests de-duplication */
}

static int sc_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    scripted *s = calloc(1, sizeof *s);
    if (!s) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    s->host = host;
    s->label = host->cfg_string(self, "label");
    s->model = host->cfg_string(self, "model");
    s->mode = host->cfg_string(self, "mode");
    s->delay_ms = host->cfg_int(self, "delay");
    s->fail_after = host->cfg_int(self, "fail_after");
    if (!s->model || !*s->model) s->model = s->label;
    char labels[128];
    snprintf(labels, sizeof labels, "label=\"%s\"", s->label);
    s->calls = host->metric(RK_METRIC_COUNTER, "llm_scripted_calls_total",
                            "complete() calls of the scripted test LLM", labels);
    *ctx = s;
    return RK_OK;
}

static void sc_destroy(void *ctx) { free(ctx); }

static const rk_llm_vtable vt = {
    .struct_size = sizeof(rk_llm_vtable),
    .complete = sc_complete,
    .cancel = sc_cancel,
    .models = sc_models,
    .embed = sc_embed,
};

static const rk_config_key schema[] = {
    {"label", RK_CFG_STRING, "scripted", 0, "name used in answers and metrics"},
    {"model", RK_CFG_STRING, "", 0, "model id reported (default: the label)"},
    {"mode", RK_CFG_STRING, "normal", 0, "normal, fail or hang for every request"},
    {"delay", RK_CFG_DURATION, "0", 0, "delay before each delta"},
    {"fail_after", RK_CFG_INT, "0", 0, "> 0: fail after this many deltas"},
    {NULL, 0, NULL, 0, NULL},
};

static const rk_plugin desc = {
    .struct_size = sizeof(rk_plugin),
    .abi_major = RK_ABI_MAJOR,
    .abi_minor = RK_ABI_MINOR,
    .kind = RK_KIND_LLM,
    .name = "llm_scripted",
    .version = "1.0.0",
    .description = "scripted LLM for pipeline tests",
    .config = schema,
    .create = sc_create,
    .destroy = sc_destroy,
    .vtable = &vt,
};

RK_PLUGIN_DEFINE(desc)
