/*
 * chatobj — one chat (or embeddings call) as an object: its owned copy of
 * the client's input, its reference count, and the rules of the client sink
 * (on_meta exactly once before the first delta, nothing after on_done). The
 * reference count exists because a chat outlives its on_done: pool jobs
 * (a late retrieval, the cache store, the history append) may still hold it,
 * and they must find valid memory. Every reference also pins the pipeline
 * and its registry generation, so a reload cannot destroy the instances a
 * job is still calling; the registry reference is dropped before the
 * pipeline's so that a drained generation's last registry reference stays
 * with whoever drains it (the main thread).
 */
#include "chatobj.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loopset.h"

rk_chat *chat_new(pipeline *pl, chat_kind kind)
{
    /* malloc, not calloc: glibc's calloc skips its per-thread cache */
    rk_chat *ch = malloc(sizeof *ch);
    if (!ch) return NULL;
    *ch = (rk_chat){0};
    ch->kind = kind;
    atomic_init(&ch->refs, 1);
    atomic_init(&ch->flow_gen, 0);
    atomic_init(&ch->abandoned, 0);
    ch->pl = pl;
    /* the caller's loop when it is one: a transport on the loops keeps the
     * whole request on one thread */
    loop *cl = loopset_for_chat();
    ch->loop = cl ? cl : pl->loop;
    atomic_fetch_add(&pl->refs, 1);
    registry_ref(pl->reg);
    return ch;
}

void chat_ref(rk_chat *ch) { atomic_fetch_add(&ch->refs, 1); }

static void free_messages(rk_message *m, size_t n)
{
    for (size_t i = 0; m && i < n; i++) {
        free((char *)m[i].role);
        free((char *)m[i].content);
    }
    free(m);
}

static void free_chain(llm_chain *c)
{
    free(c->order);
    /* model_arg lives in order's block */
    free(c->cont);
    free(c->cont_partial);
    free(c->answer_model);
    sb_free(&c->errors);
}

static void chat_free(rk_chat *ch)
{
    pipeline *pl = ch->pl;
    registry *reg = pl->reg;
    free(ch->request_id);
    free(ch->tenant);
    free(ch->model);
    free(ch->conv_id);
    free(ch->finish_reason);
    free(ch->flight_key);
    free(ch->msgs); /* one block with its strings: copy_messages */
    free_messages(ch->hist, ch->n_hist);
    for (size_t i = 0; ch->inputs && i < ch->n_inputs; i++) free(ch->inputs[i]);
    free(ch->inputs);
    passvec_free(&ch->pass);
    free(ch->prompt);
    free(ch->system_text);
    sb_free(&ch->answer);
    free_chain(&ch->llm);
    free(ch);
    registry_unref(reg);
    pl->ops->release(pl);
}

void chat_unref(rk_chat *ch)
{
    if (atomic_fetch_sub(&ch->refs, 1) == 1) chat_free(ch);
}

static int dup_opt(char **dst, const char *src)
{
    *dst = NULL;
    if (!src) return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

/* The messages and their text in one block, freed with one free(): every
 * request copies them, and a dozen small allocations cost more than the
 * copying. */
static rk_message *copy_messages(const rk_message *in, size_t n)
{
    size_t bytes = (n ? n : 1) * sizeof(rk_message);
    for (size_t i = 0; i < n; i++)
        bytes += strlen(in[i].role) + strlen(in[i].content) + 2;
    rk_message *m = malloc(bytes);
    if (!m) return NULL;
    memset(m, 0, bytes);
    char *p = (char *)(m + (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        size_t rl = strlen(in[i].role) + 1, cl = strlen(in[i].content) + 1;
        m[i].role = memcpy(p, in[i].role, rl);
        m[i].content = memcpy(p + rl, in[i].content, cl);
        p += rl + cl;
    }
    return m;
}

int chat_copy_input(rk_chat *ch, const rk_chat_input *in)
{
    if (dup_opt(&ch->request_id, in->request_id) < 0 ||
        dup_opt(&ch->tenant, in->tenant ? in->tenant : "default") < 0 ||
        dup_opt(&ch->model, in->model) < 0 ||
        dup_opt(&ch->conv_id, in->conversation_id) < 0)
        return -1;
    if (!(ch->msgs = copy_messages(in->messages, in->n_messages))) return -1;
    ch->n_msgs = in->n_messages;
    ch->temperature = in->temperature;
    ch->max_tokens = in->max_tokens;
    ch->retrieve = in->retrieve != 0;
    ch->new_conv = in->new_conversation != 0;
    return 0;
}

const char *chat_query(const rk_chat *ch)
{
    for (size_t i = ch->n_msgs; i > 0; i--)
        if (strcmp(ch->msgs[i - 1].role, "user") == 0) return ch->msgs[i - 1].content;
    return NULL;
}

int chat_has_conversation(const rk_chat *ch)
{
    /* without a history instance a conversation id means nothing here */
    return ch->pl->history && (ch->conv_id || ch->new_conv);
}

void chat_emit_meta(rk_chat *ch)
{
    if (ch->meta_sent || ch->finished) return;
    ch->meta_sent = 1;
    rk_chat_meta m = {
        .struct_size = sizeof m,
        .model = ch->llm.answer_model ? ch->llm.answer_model
                 : ch->model          ? ch->model
                                      : "",
        .conversation_id = ch->conv_id,
        .cache_hit = ch->cache_hit,
        .sources = ch->pass.v,
        .n_sources = ch->pass.n,
    };
    if (ch->sink.on_meta) ch->sink.on_meta(ch->ud, &m);
}

void chat_emit_delta(rk_chat *ch, const char *text, size_t len)
{
    if (ch->finished || len == 0) return;
    chat_emit_meta(ch);
    sb_append(&ch->answer, text, len);
    if (ch->sink.on_delta) ch->sink.on_delta(ch->ud, text, len);
}

const char *chat_reason(int status, int http_status, char *buf, size_t cap)
{
    switch (status) {
    case RK_ERR_TIMEOUT: snprintf(buf, cap, "timed out"); break;
    case RK_ERR_UNAVAILABLE:
        if (http_status >= 400) snprintf(buf, cap, "unavailable (upstream HTTP %d)", http_status);
        else snprintf(buf, cap, "unreachable");
        break;
    case RK_ERR_UPSTREAM:
    case RK_ERR_INVALID: /* the upstream refused our request: its HTTP status says why */
        if (http_status >= 400) snprintf(buf, cap, "upstream HTTP %d", http_status);
        else snprintf(buf, cap, "%s", status == RK_ERR_INVALID ? rk_strerror(status)
                                                               : "malformed upstream response");
        break;
    case RK_ERR_RATE_LIMITED:
        snprintf(buf, cap, "rate limited (upstream HTTP %d)", http_status ? http_status : 429);
        break;
    case RK_ERR_AUTH:
        snprintf(buf, cap, "upstream refused the credentials (HTTP %d)", http_status);
        break;
    default:
        if (http_status >= 400)
            snprintf(buf, cap, "%s (upstream HTTP %d)", rk_strerror(status), http_status);
        else
            snprintf(buf, cap, "%s", rk_strerror(status));
    }
    return buf;
}

void chat_advance(rk_chat *ch) { ch->pl->ops->advance(ch); }

void chat_finish(rk_chat *ch, const rk_chat_result *res) { ch->pl->ops->finish(ch, res); }

void chat_fail(rk_chat *ch, int status, int http_status, const char *type, const char *code,
               int64_t retry_after_ms, const char *fmt, ...)
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
    chat_finish(ch, &r);
}
