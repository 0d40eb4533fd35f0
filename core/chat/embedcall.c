/*
 * embedcall — an embeddings request is a much smaller cousin of a chat: no
 * stages, one provider, no fallback (vectors from two different models are
 * not interchangeable, so silently switching providers would corrupt an
 * index). It reuses the chat object for its reference counting and its pin
 * on the pipeline generation, and enforces the same "exactly one on_done,
 * nothing after it" rule, with a guard timer so a silent plugin cannot hold
 * the caller forever.
 */
#include "embedcall.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

#define EMBED_MAX_INPUTS 2048

static void release_cb(void *ud) { chat_unref(ud); }

/* loop: the one on_done of the call. */
static void embed_finish(rk_chat *ch, int status, const rk_llm_result *res,
                         const char *msg)
{
    if (ch->finished) return;
    ch->finished = 1;
    if (ch->stage_timer) {
        loop_timer_cancel(ch->loop, ch->stage_timer);
        ch->stage_timer = NULL;
    }
    if (ch->ecall) {
        ch->einst->vt->cancel(ch->einst->inst->ctx, ch->ecall);
        ch->ecall = NULL;
    }
    ch->esink.on_done(ch->ud, status, res, msg);
    if (loop_post(ch->loop, release_cb, ch) != RK_OK) chat_unref(ch);
}

static void e_on_vector(void *ud, const rk_embedding *e)
{
    rk_chat *ch = ud;
    if (!ch->finished && ch->esink.on_vector) ch->esink.on_vector(ch->ud, e);
}

/* A provider's failure: the client gets the host's words; the plugin's
 * text, which may echo what the upstream said, goes to the log (redacted
 * there). */
static const char *provider_reason(rk_chat *ch, int status, const rk_llm_result *res,
                                   const char *msg, char *buf, size_t cap)
{
    if (status == RK_OK) return msg;
    log_info(ch->einst->inst->name, "embeddings failed: %s", msg ? msg : rk_strerror(status));
    return chat_reason(status, res ? res->http_status : 0, buf, cap);
}

static void e_on_done(void *ud, int status, const rk_llm_result *res, const char *msg)
{
    rk_chat *ch = ud;
    char why[96];
    ch->ecall = NULL; /* the plugin is done with it: no cancel */
    embed_finish(ch, status, res, provider_reason(ch, status, res, msg, why, sizeof why));
}

static const rk_embed_sink ESINK = {sizeof(rk_embed_sink), e_on_vector, e_on_done};

static void e_guard(void *ud)
{
    rk_chat *ch = ud;
    ch->stage_timer = NULL;
    char msg[64];
    snprintf(msg, sizeof msg, "timed out after %lld ms", (long long)ch->pl->llm_timeout);
    embed_finish(ch, RK_ERR_TIMEOUT, NULL, msg);
}

static void e_begin(void *ud)
{
    rk_chat *ch = ud;
    pipeline *pl = ch->pl;
    ch->stage = ST_LLM; /* begun: a cancel from now on ends the call */
    if (!ch->finished && !ch->cancel_pending) {
        int64_t now = clock_now_ms();
        rk_err err = {{0}};
        rk_llm_call *call = NULL;
        ch->stage_timer = loop_timer_start(ch->loop, pl->llm_timeout, e_guard, ch);
        int rc = ch->einst->vt->embed(ch->einst->inst->ctx, ch->model,
                                      (const char *const *)ch->inputs, ch->n_inputs,
                                      now + pl->llm_timeout, &ESINK, ch, &call, &err);
        if (rc != RK_OK)
            embed_finish(ch, rc, NULL, err.msg[0] ? err.msg : rk_strerror(rc));
        else if (!ch->finished)
            ch->ecall = call;
    } else if (!ch->finished) {
        embed_finish(ch, RK_ERR_CANCELLED, NULL, "cancelled");
    }
    chat_unref(ch); /* the begin post's reference */
}

static void e_cancel(void *ud)
{
    rk_chat *ch = ud;
    if (ch->stage == ST_NEW)
        ch->cancel_pending = 1; /* begin has not run yet: it reports the cancel */
    else
        embed_finish(ch, RK_ERR_CANCELLED, NULL, "cancelled");
    chat_unref(ch);
}

void embedcall_cancel(rk_chat *ch)
{
    chat_ref(ch);
    if (loop_post(ch->loop, e_cancel, ch) != RK_OK) chat_unref(ch);
}

static pl_llm *find_embedder(pipeline *pl)
{
    for (size_t i = 0; i < pl->n_llm; i++)
        if (RK_HAS_FIELD(pl->llm[i].vt, rk_llm_vtable, embed) && pl->llm[i].vt->embed)
            return &pl->llm[i];
    return NULL;
}

static int check_inputs(pipeline *pl, const char *const *inputs, size_t n,
                        const rk_embed_sink *sink, rk_err *err)
{
    if (!sink || !RK_HAS_FIELD(sink, rk_embed_sink, on_done) || !sink->on_done)
        return rk_fail(err, RK_ERR_INVALID, "embeddings: a sink with on_done is required");
    if (n == 0 || !inputs) return rk_fail(err, RK_ERR_INVALID, "input must not be empty");
    if (n > EMBED_MAX_INPUTS)
        return rk_fail(err, RK_ERR_TOO_LARGE, "too many inputs: %zu (limit %d)", n,
                       EMBED_MAX_INPUTS);
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (!inputs[i]) return rk_fail(err, RK_ERR_INVALID, "input[%zu] is null", i);
        bytes += strlen(inputs[i]);
    }
    if (pl->max_input_bytes > 0 && bytes > (size_t)pl->max_input_bytes)
        return rk_fail(err, RK_ERR_TOO_LARGE, "input is %zu bytes (limit %lld)", bytes,
                       (long long)pl->max_input_bytes);
    return RK_OK;
}

static int copy_inputs(rk_chat *ch, const char *model, const char *const *inputs, size_t n)
{
    if (model && !(ch->model = strdup(model))) return -1;
    ch->inputs = calloc(n, sizeof *ch->inputs);
    if (!ch->inputs) return -1;
    ch->n_inputs = n;
    for (size_t i = 0; i < n; i++)
        if (!(ch->inputs[i] = strdup(inputs[i]))) return -1;
    return 0;
}

int embedcall_start(pipeline *pl, const char *model, const char *const *inputs,
                    size_t n, const rk_embed_sink *sink, void *ud,
                    rk_chat **call, rk_err *err)
{
    int rc = check_inputs(pl, inputs, n, sink, err);
    if (rc != RK_OK) return rc;
    pl_llm *l = find_embedder(pl);
    if (!l) return rk_fail(err, RK_ERR_UNSUPPORTED, "no LLM instance supports embeddings");
    rk_chat *ch = chat_new(pl, CHAT_KIND_EMBED);
    if (!ch) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    if (copy_inputs(ch, model, inputs, n) < 0) {
        chat_unref(ch);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    memcpy(&ch->esink, sink, sink->struct_size < sizeof ch->esink ? sink->struct_size
                                                                   : sizeof ch->esink);
    ch->ud = ud;
    ch->einst = l;
    chat_ref(ch); /* for the begin post; the first reference is the call's */
    *call = ch;
    if (loop_post(ch->loop, e_begin, ch) != RK_OK) {
        *call = NULL;
        chat_unref(ch);
        chat_unref(ch);
        return rk_fail(err, RK_ERR_UNAVAILABLE, "the server is shutting down");
    }
    return RK_OK;
}
