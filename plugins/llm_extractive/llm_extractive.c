/*
 * llm_extractive — the offline default LLM. It answers from the retrieved
 * passages alone (extract.c picks and cites the sentences), so a fresh
 * install gives grounded, deterministic answers with no network and no
 * model files. The answer is computed inside complete() — it is a few
 * microseconds of CPU over a handful of passages — and then streamed in
 * word groups, one per loop turn via timer_start(0), so callers exercise
 * the same streaming path as with a real provider and the sink is never
 * called from inside complete(). This file owns the call objects and the
 * streaming state machine.
 */
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

#include "extract.h"
#include "terms.h"

#define WORDS_PER_DELTA 4

typedef struct xt_ctx {
    const rk_host *host;
    rk_instance *self;
    char *model;
    size_t max_sentences;
} xt_ctx;

struct rk_llm_call {
    xt_ctx *c;
    void (*on_delta)(void *ud, const char *text, size_t len);
    void (*on_done)(void *ud, int status, const rk_llm_result *res,
                    const char *message);
    void *ud;
    char *answer;    /* owned */
    size_t len, pos; /* bytes sent so far */
    rk_timer *timer; /* pending tick, NULL while none */
    rk_usage usage;
    const char *finish_reason;
    int in_tick;     /* inside our own sink callback */
    int cancelled;   /* cancel() arrived while in_tick: free on return */
};

static const rk_config_key xt_keys[] = {
    {"model", RK_CFG_STRING, "extractive", 0, "model id this instance answers to"},
    {"max_sentences", RK_CFG_INT, "3", 0,
     "most sentences quoted in one answer (1..16)"},
    {NULL, 0, NULL, 0, NULL}};

static void call_free(rk_llm_call *k)
{
    free(k->answer);
    free(k);
}

/* End of the next word group: WORDS_PER_DELTA words plus the spaces after
 * them, so concatenated deltas are exactly the answer. */
static size_t next_group_end(const char *s, size_t len, size_t pos)
{
    int words = 0;
    size_t i = pos;
    while (i < len && words < WORDS_PER_DELTA) {
        while (i < len && s[i] != ' ')
            i++;
        while (i < len && s[i] == ' ')
            i++;
        words++;
    }
    return i;
}

static void tick(void *ud)
{
    rk_llm_call *k = ud;
    k->timer = NULL;
    k->in_tick = 1;
    size_t end = next_group_end(k->answer, k->len, k->pos);
    k->on_delta(k->ud, k->answer + k->pos, end - k->pos);
    k->pos = end;
    k->in_tick = 0;
    if (k->cancelled) {
        call_free(k);
        return;
    }
    if (k->pos < k->len) {
        k->timer = k->c->host->timer_start(0, tick, k);
        if (k->timer)
            return;
        k->on_done(k->ud, RK_ERR_UNAVAILABLE, NULL, "host is shutting down");
        call_free(k);
        return;
    }
    rk_llm_result res = {
        .struct_size = sizeof res,
        .finish_reason = k->finish_reason,
        .model = k->c->model,
        .usage = k->usage,
    };
    k->on_done(k->ud, RK_OK, &res, NULL);
    call_free(k);
}

/* The question is the last user message (the prompt's system and context
 * messages are not what we match against). */
static const char *question_of(const rk_llm_request *req)
{
    for (size_t i = req->messages ? req->n_messages : 0; i-- > 0;) {
        const rk_message *m = &req->messages[i];
        if (m->role && strcmp(m->role, "user") == 0 && m->content)
            return m->content;
    }
    return "";
}

/* Honour max_tokens (words, as usage counts them) by cutting the answer. */
static void apply_max_tokens(rk_llm_call *k, int64_t max_tokens)
{
    long words = terms_count_words(k->answer);
    k->finish_reason = "stop";
    if (max_tokens > 0 && words > max_tokens) {
        int64_t seen = 0;
        size_t i = 0;
        while (i < k->len) {
            while (i < k->len && k->answer[i] == ' ')
                i++;
            if (i < k->len && ++seen > max_tokens)
                break;
            while (i < k->len && k->answer[i] != ' ')
                i++;
        }
        while (i > 0 && k->answer[i - 1] == ' ')
            i--;
        k->answer[i] = '\0';
        k->len = i;
        words = max_tokens;
        k->finish_reason = "length";
    }
    k->usage.completion_tokens = words;
}

static int xt_complete(void *ctxp, const rk_llm_request *req,
                       const rk_llm_sink *sink, void *ud, rk_llm_call **call,
                       rk_err *err)
{
    xt_ctx *c = ctxp;
    if (!req || !sink || !sink->on_delta || !sink->on_done || !call)
        return rk_fail(err, RK_ERR_INVALID, "complete() without request or sink");
    rk_llm_call *k = calloc(1, sizeof *k);
    terms *t = terms_new();
    int rc = RK_OK;
    if (!k || !t ||
        extract_answer(t, question_of(req), req->passages, req->passages ? req->n_passages : 0,
                       c->max_sentences, &k->answer) < 0) {
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory building the answer");
        goto out;
    }
    k->c = c;
    k->on_delta = sink->on_delta;
    k->on_done = sink->on_done;
    k->ud = ud;
    k->len = strlen(k->answer);
    for (size_t i = 0; req->messages && i < req->n_messages; i++)
        if (req->messages[i].content)
            k->usage.prompt_tokens += terms_count_words(req->messages[i].content);
    apply_max_tokens(k, req->max_tokens);
    k->timer = c->host->timer_start(0, tick, k);
    if (!k->timer) {
        rc = rk_fail(err, RK_ERR_UNAVAILABLE, "cannot schedule the answer");
        goto out;
    }
    *call = k;
    k = NULL;
out:
    terms_free(t);
    if (k)
        call_free(k);
    return rc;
}

static void xt_cancel(void *ctxp, rk_llm_call *k)
{
    (void)ctxp; /* the call knows its instance */
    if (!k)
        return;
    if (k->in_tick) { /* cancelled from inside our on_delta: tick frees it */
        k->cancelled = 1;
        return;
    }
    if (k->timer)
        k->c->host->timer_cancel(k->timer);
    call_free(k);
}

static void xt_models(void *ctxp, void (*fn)(void *ud, const char *model_id),
                      void *ud)
{
    xt_ctx *c = ctxp;
    fn(ud, c->model);
}

static void xt_destroy(void *ctxp)
{
    xt_ctx *c = ctxp;
    if (!c)
        return;
    free(c->model);
    free(c);
}

static int xt_create(const rk_host *host, rk_instance *self, void **ctx,
                     rk_err *err)
{
    const char *model = host->cfg_string(self, "model");
    int64_t max = host->cfg_int(self, "max_sentences");
    char where[128];
    if (!model || !*model)
        return rk_fail(err, RK_ERR_CONFIG, "%s: model must not be empty",
                       host->cfg_where(self, "model", where, sizeof where));
    if (max < 1 || max > 16)
        return rk_fail(err, RK_ERR_CONFIG, "%s: max_sentences must be in 1..16",
                       host->cfg_where(self, "max_sentences", where, sizeof where));
    xt_ctx *c = calloc(1, sizeof *c);
    if (!c || !(c->model = strdup(model))) {
        free(c);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    c->host = host;
    c->self = self;
    c->max_sentences = (size_t)max;
    *ctx = c;
    return RK_OK;
}

static const rk_llm_vtable xt_vtable = {
    .struct_size = sizeof(rk_llm_vtable),
    .complete = xt_complete,
    .cancel = xt_cancel,
    .models = xt_models,
    .embed = NULL,
};

static const rk_plugin llm_extractive_plugin = {
    RK_PLUGIN_HEADER,
    .kind = RK_KIND_LLM,
    .name = "llm_extractive",
    .version = "1.0.0",
    .description = "offline answers quoted from the retrieved passages, with citations",
    .flags = 0,
    .config = xt_keys,
    .create = xt_create,
    .destroy = xt_destroy,
    .vtable = &xt_vtable,
};

RK_PLUGIN_DEFINE(llm_extractive_plugin)
