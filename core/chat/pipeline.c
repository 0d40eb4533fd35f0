/*
 * pipeline — one chat, end to end, as a state machine on the loop thread.
 * This file owns the pipeline object (settings and instances resolved from
 * `pipeline:` once per registry generation), the public entry points, and
 * the orchestration: begin, the stage sequence (cache -> history ->
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

/* ---- construction ------------------------------------------------------- */

typedef struct setting {
    const char *key;
    size_t off; /* int64_t field of struct pipeline */
    int64_t min;
} setting;

/* conf.c (check_pipeline) refuses the same floors, so --check-config does */
static const setting SETTINGS[] = {
    {"llm_timeout", offsetof(pipeline, llm_timeout), 1},
    {"total_timeout", offsetof(pipeline, total_timeout), 1},
    {"retrieval_timeout", offsetof(pipeline, retrieval_timeout), 1},
    {"fast_retrieval_timeout", offsetof(pipeline, fast_retrieval_timeout), 1},
    {"first_token_timeout", offsetof(pipeline, first_token_timeout), 0},
    {"inter_chunk_timeout", offsetof(pipeline, inter_chunk_timeout), 0},
    {"cache_ttl", offsetof(pipeline, cache_ttl), 0},
    {"top_k", offsetof(pipeline, top_k), 1},
    {"fast_top_k", offsetof(pipeline, fast_top_k), 1},
    {"fast_max_words", offsetof(pipeline, fast_max_words), 0},
    {"history_max_messages", offsetof(pipeline, history_max), 0}, /* 0: never compact */
    {"max_messages", offsetof(pipeline, max_messages), 1},
    {"max_input_bytes", offsetof(pipeline, max_input_bytes), 1},
    {"max_answer_bytes", offsetof(pipeline, max_answer_bytes), 1},
    {NULL, 0, 0}};

static int read_settings(pipeline *pl, const cfg_values *v, rk_err *err)
{
    char where[160];
    for (const setting *s = SETTINGS; s->key; s++) {
        int64_t val = cfg_values_int(v, s->key);
        if (val < s->min)
            return rk_fail(err, RK_ERR_CONFIG, "%s: pipeline.%s must be at least %lld",
                           cfg_values_where(v, s->key, where, sizeof where), s->key,
                           (long long)s->min);
        *(int64_t *)((char *)pl + s->off) = val;
    }
    const char *sp = cfg_values_string(v, "system_prompt");
    pl->system_prompt = strdup(sp ? sp : "");
    return pl->system_prompt ? RK_OK : rk_fail(err, RK_ERR_NOMEM, "out of memory");
}

static int resolve(registry *r, const cfg_values *v, const char *key,
                   const char *name, rk_kind kind, rk_instance **out, rk_err *err)
{
    char where[160];
    *out = registry_get_kind(r, name, kind);
    if (*out) return RK_OK;
    cfg_values_where(v, key, where, sizeof where);
    rk_instance *any = registry_get(r, name);
    if (any)
        return rk_fail(err, RK_ERR_CONFIG, "%s: pipeline.%s: instance '%s' is a %s, not a %s",
                       where, key, name, loader_kind_name(any->plugin->kind),
                       loader_kind_name(kind));
    return rk_fail(err, RK_ERR_CONFIG, "%s: pipeline.%s: no instance named '%s'", where,
                   key, name);
}

static int resolve_opt(pipeline *pl, const cfg_values *v, const char *key, rk_kind kind,
                       rk_instance **out, rk_err *err)
{
    const char *name = cfg_values_string(v, key);
    *out = NULL;
    return name && *name ? resolve(pl->reg, v, key, name, kind, out, err) : RK_OK;
}

static rk_metric *labelled(rk_metric_type t, const char *name, const char *help,
                           const char *label, const char *value)
{
    char esc[128], labels[192];
    snprintf(labels, sizeof labels, "%s=\"%s\"", label,
             metrics_label_escape(value, esc, sizeof esc));
    return metrics_get(t, name, help, labels);
}

static void llm_metrics(pl_llm *l)
{
    const char *n = l->inst->name, *help = "LLM calls by provider and outcome";
    char esc[128], labels[192];
    metrics_label_escape(n, esc, sizeof esc);
    snprintf(labels, sizeof labels, "provider=\"%s\",outcome=\"ok\"", esc);
    l->m_ok = metrics_get(RK_METRIC_COUNTER, "ragkernel_llm_requests_total", help, labels);
    snprintf(labels, sizeof labels, "provider=\"%s\",outcome=\"error\"", esc);
    l->m_error = metrics_get(RK_METRIC_COUNTER, "ragkernel_llm_requests_total", help, labels);
    snprintf(labels, sizeof labels, "provider=\"%s\",outcome=\"timeout\"", esc);
    l->m_timeout = metrics_get(RK_METRIC_COUNTER, "ragkernel_llm_requests_total", help, labels);
    l->m_latency = labelled(RK_METRIC_HISTOGRAM, "ragkernel_llm_latency_seconds",
                            "duration of one LLM call", "provider", n);
    l->m_overhead = labelled(RK_METRIC_HISTOGRAM, "ragkernel_overhead_seconds",
                             "time an answered request spent outside the answering "
                             "provider's call (queueing, cache, history, retrieval, "
                             "failed attempts, streaming)", "provider", n);
    l->m_breaker = labelled(RK_METRIC_GAUGE, "ragkernel_llm_breaker_state",
                            "circuit breaker per provider: 0 closed, 1 open (skipped), "
                            "2 half-open (the next call probes)", "provider", n);
    l->m_opens = labelled(RK_METRIC_COUNTER, "ragkernel_llm_breaker_opens_total",
                          "times a provider's circuit opened (or re-opened after a "
                          "failed probe)", "provider", n);
}

static int resolve_llms(pipeline *pl, const cfg_values *v, rk_err *err)
{
    size_t n = cfg_values_count(v, "llm");
    int64_t fails = cfg_values_int(v, "breaker_failures");
    int64_t cooldown = cfg_values_int(v, "breaker_cooldown");
    pl->llm = calloc(n ? n : 1, sizeof *pl->llm);
    if (!pl->llm) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *name = cfg_values_item(v, "llm", i);
        rk_instance *inst;
        int rc = resolve(pl->reg, v, "llm", name ? name : "", RK_KIND_LLM, &inst, err);
        if (rc != RK_OK) return rc;
        for (size_t j = 0; j < i; j++)
            if (pl->llm[j].inst == inst)
                return rk_fail(err, RK_ERR_CONFIG, "pipeline.llm: '%s' is listed twice", name);
        pl_llm *l = &pl->llm[pl->n_llm++];
        l->inst = inst;
        l->vt = inst->plugin->vtable;
        breaker_init(&l->br, fails > 1000000 ? 1000000 : (int)fails, cooldown);
        llm_metrics(l);
    }
    if (n == 0) log_warn("pipeline", "pipeline.llm is empty: chat requests will be refused");
    return RK_OK;
}

static void pipeline_metrics(pl_metrics *m)
{
    const char *st = "time spent per pipeline stage";
    m->requests = metrics_get(RK_METRIC_COUNTER, "ragkernel_chat_requests_total",
                              "chat requests received", NULL);
    m->active = metrics_get(RK_METRIC_GAUGE, "ragkernel_active_chats", "chats in flight", NULL);
    m->fallbacks = metrics_get(RK_METRIC_COUNTER, "ragkernel_llm_fallbacks_total",
                               "LLM calls made after another provider failed", NULL);
    m->cache_hits = metrics_get(RK_METRIC_COUNTER, "ragkernel_cache_hits_total",
                                "answers served from the cache", NULL);
    m->cache_misses = metrics_get(RK_METRIC_COUNTER, "ragkernel_cache_misses_total",
                                  "answer cache lookups that missed", NULL);
    m->cache_errors = metrics_get(RK_METRIC_COUNTER, "ragkernel_cache_errors_total",
                                  "cache calls that failed (treated as misses)", NULL);
    m->retrieval_timeouts = metrics_get(RK_METRIC_COUNTER, "ragkernel_retrieval_timeouts_total",
                                        "retrievals abandoned at their deadline", NULL);
    m->retrieval_errors = metrics_get(RK_METRIC_COUNTER, "ragkernel_retrieval_errors_total",
                                      "retrievals that failed", NULL);
    m->history_errors = metrics_get(RK_METRIC_COUNTER, "ragkernel_history_errors_total",
                                    "history loads, appends and compactions that failed", NULL);
    histsave_metrics(); /* its counter shows 0 before the first failure */
    m->stage_retrieve = labelled(RK_METRIC_HISTOGRAM, "ragkernel_stage_seconds", st, "stage", "retrieve");
    m->stage_llm = labelled(RK_METRIC_HISTOGRAM, "ragkernel_stage_seconds", st, "stage", "llm");
    m->stage_total = labelled(RK_METRIC_HISTOGRAM, "ragkernel_stage_seconds", st, "stage", "total");
}

static void pipeline_destroy(pipeline *pl)
{
    for (size_t i = 0; i < pl->n_llm; i++) breaker_destroy(&pl->llm[i].br);
    sflight_free(pl->flights);
    free(pl->llm);
    free(pl->system_prompt);
    free(pl);
}

pipeline *pipeline_new(registry *r, loop *l, pool *p, rk_err *err)
{
    const cfg_values *v = r->conf->pipeline;
    pipeline *pl = calloc(1, sizeof *pl);
    if (!pl) {
        rk_fail(err, RK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    atomic_init(&pl->refs, 1);
    atomic_init(&pl->cache_quiet, 0);
    pl->reg = r;
    pl->loop = l;
    pl->pool = p;
    pipeline_metrics(&pl->m);
    if (!(pl->flights = sflight_new())) {
        free(pl);
        rk_fail(err, RK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (read_settings(pl, v, err) != RK_OK || resolve_llms(pl, v, err) != RK_OK ||
        resolve_opt(pl, v, "retriever", RK_KIND_RETRIEVER, &pl->retriever, err) != RK_OK ||
        resolve_opt(pl, v, "cache", RK_KIND_CACHE, &pl->cache, err) != RK_OK ||
        resolve_opt(pl, v, "history_summarizer", RK_KIND_LLM, &pl->summarizer, err) != RK_OK ||
        resolve_opt(pl, v, "history", RK_KIND_HISTORY, &pl->history, err) != RK_OK) {
        pipeline_destroy(pl);
        return NULL;
    }
    return pl;
}

void pipeline__release(pipeline *pl)
{
    if (atomic_fetch_sub(&pl->refs, 1) == 1) pipeline_destroy(pl);
}

void pipeline_free(pipeline *pl)
{
    if (pl) pipeline__release(pl);
}

int pipeline_inflight(const pipeline *pl)
{
    return atomic_load(&((pipeline *)pl)->refs) - 1;
}

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
    rk_metric *m = labelled(RK_METRIC_COUNTER, "ragkernel_chat_errors_total",
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
    pipeline__fail(ch, RK_ERR_TIMEOUT, 504, "timeout", NULL, 0,
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
        pipeline__fail(ch, RK_ERR_CANCELLED, 499, "cancelled", NULL, 0,
                       "the request was cancelled");
    } else if (ch->pl->history && ch->new_conv && !ch->conv_id &&
               new_conversation_id(ch) < 0) {
        pipeline__fail(ch, RK_ERR_INTERNAL, 500, "server_error", NULL, 0,
                       "could not create a conversation id");
    } else {
        int64_t left = ch->deadline - clock_now_ms();
        ch->total_timer = loop_timer_start(ch->loop, left > 0 ? left : 0, total_fired, ch);
        pipeline__advance(ch);
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
                pipeline__fail(ch, RK_ERR_NOMEM, 500, "server_error", NULL, 0, "out of memory");
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

void pipeline__fail(rk_chat *ch, int status, int http_status, const char *type,
                    const char *code, int64_t retry_after_ms, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rk_chat_result r = {.struct_size = sizeof r, .status = status,
                        .http_status = http_status, .error_type = type,
                        .error_code = code, .message = msg,
                        .retry_after_ms = retry_after_ms};
    pipeline__finish(ch, &r);
}

static void cancel_cb(void *ud)
{
    rk_chat *ch = ud;
    if (ch->finished) {
        /* completed first: the cancel lost the race, nothing to do */
    } else if (ch->stage == ST_NEW) {
        ch->cancel_pending = 1; /* begin has not run yet; it reports the cancel */
    } else {
        pipeline__fail(ch, RK_ERR_CANCELLED, 499, "cancelled", NULL, 0,
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
