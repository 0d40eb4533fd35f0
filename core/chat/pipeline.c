/*
 * pipeline — one chat, end to end, as a state machine on the loop thread.
 * The pipeline object (settings and instances resolved from `pipeline:`
 * once per registry generation) is built in pipeline_new.c; this file owns
 * the public entry points and the orchestration: begin, the stage sequence (cache -> history ->
 * retrieve -> LLM chain, see stages.c and llmchain.c), the request's total
 * deadline, cancel, and the single on_done of every chat.
 *
 * Lifetimes: a pipeline is reference-counted — one reference for its owner
 * (dropped by pipeline_free) and one per live chat, including chats whose
 * on_done was sent but whose background jobs (cache store, history append)
 * still run. pipeline_inflight() counts those, so a drained pipeline also
 * has no jobs left. pipeline_free() with chats still alive (a drain that hit
 * its grace deadline) is therefore safe: the last chat frees the pipeline.
 * Every chat also pins the registry generation it started on.
 *
 * on_meta is sent before the first delta, and before a successful on_done
 * that had no delta; a failure before any delta gets on_done alone, so a
 * transport can still answer it with a proper HTTP error status.
 */
#define _GNU_SOURCE
#include "pipeline.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "chatobj.h"
#include "embedcall.h"
#include "histsave.h"
#include "llmchain.h"
#include "log.h"
#include "metrics.h"
#include "prompt.h"
#include "singleflight.h"
#include "stages.h"

#define CONV_ID_MAX 128

/* ---- starting a chat (any thread) ----------------------------------------- */

static int valid_role(const char *r)
{
    return r && (strcmp(r, "user") == 0 || strcmp(r, "assistant") == 0 ||
                 strcmp(r, "system") == 0);
}

static int check_conv_id(const char *id, rk_err *err)
{
    size_t n = id ? strlen(id) : 0;
    if (id && (n == 0 || n > CONV_ID_MAX))
        return rk_fail(err, RK_ERR_INVALID, "conversation_id must be 1 to %d bytes",
                       CONV_ID_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f)
            return rk_fail(err, RK_ERR_INVALID, "conversation_id contains control characters");
    return RK_OK;
}

static int check_messages(const pipeline *pl, const rk_chat_input *in, rk_err *err)
{
    if (in->n_messages == 0 || !in->messages)
        return rk_fail(err, RK_ERR_INVALID, "messages must not be empty");
    if (in->n_messages > (size_t)pl->max_messages)
        return rk_fail(err, RK_ERR_TOO_LARGE, "too many messages: %zu (limit %lld)",
                       in->n_messages, (long long)pl->max_messages);
    size_t bytes = 0;
    for (size_t i = 0; i < in->n_messages; i++) {
        if (!valid_role(in->messages[i].role))
            return rk_fail(err, RK_ERR_INVALID,
                           "messages[%zu].role must be \"system\", \"user\" or \"assistant\"", i);
        if (!in->messages[i].content)
            return rk_fail(err, RK_ERR_INVALID, "messages[%zu].content is missing", i);
        bytes += strlen(in->messages[i].content);
    }
    if (bytes > (size_t)pl->max_input_bytes)
        return rk_fail(err, RK_ERR_TOO_LARGE, "messages are %zu bytes (limit %lld)", bytes,
                       (long long)pl->max_input_bytes);
    return RK_OK;
}

static int check_input(const pipeline *pl, const rk_chat_input *in,
                       const rk_chat_sink *sink, rk_err *err)
{
    if (!in || !RK_HAS_FIELD(in, rk_chat_input, retrieve))
        return rk_fail(err, RK_ERR_INVALID, "chat input missing or built against an older SDK");
    if (!sink || !RK_HAS_FIELD(sink, rk_chat_sink, on_done) || !sink->on_done)
        return rk_fail(err, RK_ERR_INVALID, "chat sink without on_done");
    int rc = check_messages(pl, in, err);
    if (rc != RK_OK) return rc;
    if (isnan(in->temperature))
        return rk_fail(err, RK_ERR_INVALID, "temperature is not a number");
    rc = check_conv_id(in->conversation_id, err);
    if (rc != RK_OK) return rc;
    if (pl->n_llm == 0)
        return rk_fail(err, RK_ERR_UNAVAILABLE, "no LLM instance is configured (pipeline.llm)");
    return RK_OK;
}

static void count_error(const char *type)
{
    rk_metric *m = metrics_labelled(RK_METRIC_COUNTER, "ragkernel_chat_errors_total",
                            "chats that ended in an error, by OpenAI error type", "type", type);
    metrics_add(m, 1);
}

static void chat_begin(void *ud);

int pipeline_chat_start(pipeline *pl, const rk_chat_input *in,
                        const rk_chat_sink *sink, void *ud, rk_chat **chat,
                        rk_err *err)
{
    metrics_add(pl->m.requests, 1);
    int rc = check_input(pl, in, sink, err);
    if (rc != RK_OK) {
        count_error(rc == RK_ERR_UNAVAILABLE ? "server_error" : "invalid_request_error");
        return rc;
    }
    rk_chat *ch = chat_new(pl, CHAT_KIND_CHAT);
    if (!ch) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    if (chat_copy_input(ch, in) < 0) {
        chat_unref(ch);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    memcpy(&ch->sink, sink, sink->struct_size < sizeof ch->sink ? sink->struct_size
                                                                : sizeof ch->sink);
    ch->ud = ud;
    ch->t_start = clock_now_ms();
    ch->deadline = ch->t_start + pl->total_timeout;
    metrics_add(pl->m.active, 1);
    chat_ref(ch); /* the begin post's; the first is the state machine's */
    *chat = ch;   /* before posting: on_done may come before we return */
    if (loop_post(ch->loop, chat_begin, ch) != RK_OK) {
        *chat = NULL;
        metrics_add(pl->m.active, -1);
        chat_unref(ch);
        chat_unref(ch);
        return rk_fail(err, RK_ERR_UNAVAILABLE, "the server is shutting down");
    }
    return RK_OK;
}

/* ---- the state machine (loop thread) --------------------------------------- */

static const char *stage_name(chat_stage s)
{
    static const char *const names[] = {"start", "cache lookup", "history load",
                                        "retrieval", "LLM", "done"};
    return s <= ST_DONE ? names[s] : "?";
}

static void total_fired(void *ud)
{
    rk_chat *ch = ud;
    ch->total_timer = NULL;
    if (ch->finished) return;
    if (ch->stage == ST_LLM) {
        llmchain_deadline(ch);
        return;
    }
    chat_fail(ch, RK_ERR_TIMEOUT, 504, "timeout", NULL, 0,
                   "the request timed out after %lld ms during %s",
                   (long long)ch->pl->total_timeout, stage_name(ch->stage));
}

static int new_conversation_id(rk_chat *ch)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[16];
    char id[33];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) return -1;
    for (size_t i = 0; i < sizeof raw; i++) {
        id[2 * i] = hex[raw[i] >> 4];
        id[2 * i + 1] = hex[raw[i] & 15];
    }
    id[32] = '\0';
    ch->conv_id = strdup(id);
    ch->conv_fresh = 1;
    return ch->conv_id ? 0 : -1;
}

static void chat_begin(void *ud)
{
    rk_chat *ch = ud;
    if (ch->finished) {
        /* nothing: cancelled before it began */
    } else if (ch->cancel_pending) {
        chat_fail(ch, RK_ERR_CANCELLED, 499, "cancelled", NULL, 0,
                       "the request was cancelled");
    } else if (ch->pl->history && ch->new_conv && !ch->conv_id &&
               new_conversation_id(ch) < 0) {
        chat_fail(ch, RK_ERR_INTERNAL, 500, "server_error", NULL, 0,
                       "could not create a conversation id");
    } else {
        int64_t left = ch->deadline - clock_now_ms();
        ch->total_timer = loop_timer_start(ch->loop, left > 0 ? left : 0, total_fired, ch);
        chat_advance(ch);
    }
    chat_unref(ch); /* the begin post's reference */
}

static int build_prompt(rk_chat *ch)
{
    free(ch->prompt);
    free(ch->system_text);
    ch->prompt = NULL;
    ch->system_text = NULL;
    return prompt_build(ch->pl->system_prompt, ch->pass.v, ch->pass.n, ch->hist,
                        ch->n_hist, ch->msgs, ch->n_msgs, &ch->prompt, &ch->n_prompt,
                        &ch->system_text);
}

void pipeline__advance(rk_chat *ch)
{
    ch->stage_seq++; /* whatever the last stage left on the pool is stale now */
    while (!ch->finished && ch->stage < ST_LLM) {
        ch->stage++;
        ch->t_stage = clock_now_ms();
        int started = -1;
        switch (ch->stage) {
        case ST_CACHE: started = stages_cache_lookup(ch); break;
        case ST_HISTORY: started = stages_history_load(ch); break;
        case ST_RETRIEVE: started = stages_retrieve(ch); break;
        case ST_LLM:
            if (build_prompt(ch) < 0) {
                chat_fail(ch, RK_ERR_NOMEM, 500, "server_error", NULL, 0, "out of memory");
                return;
            }
            llmchain_start(ch);
            return;
        default: return;
        }
        if (started == 0) return;
    }
}

/* ---- the end of a chat ------------------------------------------------------ */

static void release_cb(void *ud) { chat_unref(ud); }

static void stop_timers(rk_chat *ch)
{
    if (ch->stage_timer) loop_timer_cancel(ch->loop, ch->stage_timer);
    if (ch->total_timer) loop_timer_cancel(ch->loop, ch->total_timer);
    ch->stage_timer = ch->total_timer = NULL;
}

static void fill_result(rk_chat *ch, rk_chat_result *res)
{
    res->struct_size = sizeof *res;
    if (!res->model) res->model = ch->llm.answer_model ? ch->llm.answer_model : ch->model;
    if (!res->conversation_id) res->conversation_id = ch->conv_id;
    if (!res->answer && (ch->answer.len || res->status == RK_OK)) res->answer = sb_str(&ch->answer);
    res->cache_hit = ch->cache_hit;
    if (res->status == RK_OK) res->usage = ch->llm.usage;
}

void pipeline__finish(rk_chat *ch, const rk_chat_result *in)
{
    if (ch->finished) return;
    pipeline *pl = ch->pl;
    rk_chat_result res = *in;
    fill_result(ch, &res);
    if (res.status == RK_OK) chat_emit_meta(ch);
    ch->finished = 1;
    ch->stage = ST_DONE;
    ch->stage_seq++;
    atomic_store(&ch->abandoned, 1);
    stop_timers(ch);
    llmchain_abort(ch);
    metrics_add(pl->m.active, -1);
    int64_t total_ms = clock_now_ms() - ch->t_start;
    metrics_observe(pl->m.stage_total, (double)total_ms / 1000.0);
    if (res.status == RK_OK && ch->llm.answered_by)
        metrics_observe(ch->llm.answered_by->m_overhead,
                        (double)(total_ms - ch->llm.answer_call_ms) / 1000.0);
    if (res.status != RK_OK) {
        count_error(res.error_type ? res.error_type : "server_error");
        log_emit(res.status == RK_ERR_CANCELLED ? RK_LOG_DEBUG : RK_LOG_INFO, "pipeline",
                 "chat %s failed (%d): %s", ch->request_id ? ch->request_id : "-",
                 res.http_status, res.message ? res.message : rk_strerror(res.status));
    }
    stages_flight_done(ch, res.status);
    /* a conversation's turn is stored first, so the answer can say if it was */
    if (res.status != RK_OK || !histsave_start(ch, &res)) {
        ch->sink.on_done(ch->ud, &res);
        if (res.status == RK_OK && !ch->cache_hit) stages_after_success(ch);
    }
    /* released from a posted function: never inside a plugin's callback,
     * which the last reference (destroying a generation) must not be */
    if (loop_post(ch->loop, release_cb, ch) != RK_OK) chat_unref(ch);
}

static void cancel_cb(void *ud)
{
    rk_chat *ch = ud;
    if (ch->finished) {
        /* completed first: the cancel lost the race, nothing to do */
    } else if (ch->stage == ST_NEW) {
        ch->cancel_pending = 1; /* begin has not run yet; it reports the cancel */
    } else {
        chat_fail(ch, RK_ERR_CANCELLED, 499, "cancelled", NULL, 0,
                       "the request was cancelled");
    }
    chat_unref(ch);
}

void pipeline_chat_cancel(rk_chat *ch)
{
    if (!ch) return;
    if (ch->kind == CHAT_KIND_EMBED) {
        embedcall_cancel(ch);
        return;
    }
    chat_ref(ch);
    if (loop_post(ch->loop, cancel_cb, ch) != RK_OK) chat_unref(ch);
}

/* ---- models, embeddings, fast mode ------------------------------------------- */

typedef struct models_ctx {
    void (*fn)(void *ud, const char *id, const char *owner);
    void *ud;
    const char *owner;
    char **seen;
    size_t n, cap;
} models_ctx;

static void model_seen(void *ud, const char *id)
{
    models_ctx *m = ud;
    if (!id) return;
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->seen[i], id) == 0) return;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        char **s = realloc(m->seen, cap * sizeof *s);
        if (!s) return;
        m->seen = s;
        m->cap = cap;
    }
    if (!(m->seen[m->n] = strdup(id))) return;
    m->n++;
    m->fn(m->ud, id, m->owner);
}

void pipeline_list_models(pipeline *pl,
                          void (*fn)(void *ud, const char *id, const char *owner),
                          void *ud)
{
    models_ctx m = {.fn = fn, .ud = ud};
    for (size_t i = 0; i < pl->n_llm; i++) {
        m.owner = pl->llm[i].inst->name;
        pl->llm[i].vt->models(pl->llm[i].inst->ctx, model_seen, &m);
    }
    for (size_t i = 0; i < m.n; i++) free(m.seen[i]);
    free(m.seen);
}

int pipeline_embed_start(pipeline *pl, const char *model,
                         const char *const *inputs, size_t n,
                         const rk_embed_sink *sink, void *ud, rk_chat **call,
                         rk_err *err)
{
    return embedcall_start(pl, model, inputs, n, sink, ud, call, err);
}

int pipeline_is_simple(const char *question, int max_words)
{
    return prompt_is_simple(question, max_words);
}
