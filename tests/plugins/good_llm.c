/*
 * good_llm — a minimal LLM plugin for tests: answers "echo: <last user
 * message>" in a few deltas, each sent from its own host timer so the
 * callbacks come on the loop thread and never from inside complete(), as
 * the LLM contract requires. Cancelling a call cancels its timer, after
 * which nothing more is sent for it.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

typedef struct gl {
    const rk_host *host;
    char *model;
    int64_t delay_ms;
} gl;

struct rk_llm_call {
    gl *llm;
    const rk_llm_sink *sink;
    void *ud;
    char *answer;
    size_t len, pos;
    rk_timer *timer;
};

#define N_DELTAS 3

static void call_free(rk_llm_call *c)
{
    free(c->answer);
    free(c);
}

/* One delta per turn; the last turn reports on_done and frees the call. */
static void tick(void *ud)
{
    rk_llm_call *c = ud;
    c->timer = NULL;
    if (c->pos < c->len) {
        size_t piece = c->len / N_DELTAS + 1;
        if (piece > c->len - c->pos) piece = c->len - c->pos;
        c->sink->on_delta(c->ud, c->answer + c->pos, piece);
        c->pos += piece;
        c->timer = c->llm->host->timer_start(c->llm->delay_ms, tick, c);
        return;
    }
    rk_llm_result res = {.struct_size = sizeof res, .finish_reason = "stop",
                         .model = c->llm->model};
    res.usage.completion_tokens = N_DELTAS;
    const rk_llm_sink *sink = c->sink;
    void *sud = c->ud;
    call_free(c);
    sink->on_done(sud, RK_OK, &res, NULL);
}

static int gl_complete(void *ctx, const rk_llm_request *req,
                       const rk_llm_sink *sink, void *ud, rk_llm_call **call,
                       rk_err *err)
{
    gl *l = ctx;
    const char *q = "";
    for (size_t i = req->n_messages; i > 0; i--)
        if (req->messages[i - 1].role && strcmp(req->messages[i - 1].role, "user") == 0) {
            q = req->messages[i - 1].content ? req->messages[i - 1].content : "";
            break;
        }
    rk_llm_call *c = calloc(1, sizeof *c);
    if (!c || asprintf(&c->answer, "echo: %s", q) < 0) {
        free(c);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    c->llm = l;
    c->sink = sink;
    c->ud = ud;
    c->len = strlen(c->answer);
    c->timer = l->host->timer_start(0, tick, c);
    if (!c->timer) {
        call_free(c);
        return rk_fail(err, RK_ERR_UNAVAILABLE, "timer_start failed");
    }
    *call = c;
    return RK_OK;
}

static void gl_cancel(void *ctx, rk_llm_call *call)
{
    gl *l = ctx;
    if (!call) return;
    if (call->timer) l->host->timer_cancel(call->timer);
    call_free(call);
}

static void gl_models(void *ctx, void (*fn)(void *ud, const char *id), void *ud)
{
    gl *l = ctx;
    fn(ud, l->model);
}

static int gl_create(const rk_host *host, rk_instance *self, void **ctx,
                     rk_err *err)
{
    gl *l = calloc(1, sizeof *l);
    const char *m = host->cfg_string(self, "model");
    if (!l || !(l->model = strdup(m ? m : "echo"))) {
        free(l);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    l->host = host;
    l->delay_ms = host->cfg_int(self, "delta_delay");
    *ctx = l;
    return RK_OK;
}

static void gl_destroy(void *ctx)
{
    gl *l = ctx;
    free(l->model);
    free(l);
}

static const rk_llm_vtable vt = {
    .struct_size = sizeof(rk_llm_vtable),
    .complete = gl_complete,
    .cancel = gl_cancel,
    .models = gl_models,
};

static const rk_config_key schema[] = {
    {"model", RK_CFG_STRING, "echo", 0, "model id reported by models()"},
    {"delta_delay", RK_CFG_DURATION, "0", 0, "pause between deltas"},
    {NULL, 0, NULL, 0, NULL},
};

static const rk_plugin desc = {
    .struct_size = sizeof(rk_plugin),
    .abi_major = RK_ABI_MAJOR,
    .abi_minor = RK_ABI_MINOR,
    .kind = RK_KIND_LLM,
    .name = "good_llm",
    .version = "1.0.0",
    .description = "echoes the last user message",
    .config = schema,
    .create = gl_create,
    .destroy = gl_destroy,
    .vtable = &vt,
};

RK_PLUGIN_DEFINE(desc)
