/*
 * chatobj — the pipeline's internal types (struct pipeline, struct rk_chat)
 * and the chat object's lifecycle and client-sink contract. Shared by the
 * pipeline's modules: pipeline.c (orchestration, public API), stages.c
 * (pool-side stages), llmchain.c (LLM fallback chain), embedcall.c.
 *
 * Threads: fields under "input" are written once before the chat is posted
 * to the loop and are read-only afterwards (pool jobs read them); fields
 * under "loop" are touched on the chat's loop thread (ch->loop) only; refs
 * and abandoned are atomics.
 */
#ifndef RK_CORE_CHATOBJ_H
#define RK_CORE_CHATOBJ_H

#include <stdatomic.h>
#include <stdint.h>

#include <ragkernel/ragkernel.h>

#include "breaker.h"
#include "loop.h"
#include "passages.h"
#include "pipeline.h"
#include "pool.h"
#include "registry.h"
#include "strbuf.h"

/* One LLM instance of the chain, with its breaker and metrics. */
typedef struct pl_llm {
    rk_instance *inst;
    const rk_llm_vtable *vt;
    breaker br;
    rk_metric *m_ok, *m_error, *m_timeout, *m_latency;
    rk_metric *m_overhead; /* time of an answered request outside this provider's call */
    rk_metric *m_breaker, *m_opens; /* breaker state gauge, times it opened */
} pl_llm;

typedef struct pl_metrics {
    rk_metric *requests, *active, *fallbacks;
    rk_metric *cache_hits, *cache_misses, *cache_errors;
    rk_metric *retrieval_timeouts, *retrieval_errors, *history_errors;
    rk_metric *stage_retrieve, *stage_llm, *stage_total;
} pl_metrics;

/* Where chat_advance/chat_finish and the last chat_unref lead: the
 * pipeline's state machine (pipeline.c) and its release (pipeline_new.c),
 * reached through this table so the stage modules and the chat object need
 * not know those files. Set by pipeline_new. */
typedef struct chat_flow_ops {
    void (*advance)(rk_chat *ch);
    void (*finish)(rk_chat *ch, const rk_chat_result *res);
    void (*release)(pipeline *pl); /* drop one reference on pl */
} chat_flow_ops;

struct pipeline {
    atomic_int refs; /* 1 for the owner (pipeline_free) + 1 per live chat */
    const chat_flow_ops *ops;
    registry *reg;
    loop *loop; /* chats run here unless chat_start picks another */
    pool *pool;
    pl_llm *llm;
    size_t n_llm;
    rk_instance *retriever, *cache, *history; /* NULL = not configured */
    rk_instance *summarizer; /* LLM for history compaction; NULL = trim */
    int64_t llm_timeout, total_timeout, retrieval_timeout;
    int64_t fast_retrieval_timeout, first_token_timeout, inter_chunk_timeout;
    int64_t cache_ttl, top_k, fast_top_k, fast_max_words, history_max;
    int64_t max_messages, max_input_bytes, max_answer_bytes;
    char *system_prompt; /* owned */
    pl_metrics m;
    atomic_int cache_quiet; /* a cache error was logged at warn already */
    struct sflight *flights; /* identical uncached requests in progress */
};

typedef enum chat_kind { CHAT_KIND_CHAT = 1, CHAT_KIND_EMBED = 2 } chat_kind;

typedef enum chat_stage {
    ST_NEW = 0,
    ST_CACHE,
    ST_HISTORY,
    ST_RETRIEVE,
    ST_LLM,
    ST_DONE
} chat_stage;

/* State of the LLM fallback chain (llmchain.c); loop thread only. */
typedef struct llm_chain {
    size_t *order;          /* indices into pl->llm, in try order */
    const char **model_arg; /* model passed to each (NULL = its default) */
    size_t n_order, pos;
    int all_open;           /* every circuit was open: try all anyway */
    pl_llm *cur;            /* instance of the running attempt */
    const char *cur_model_arg;
    rk_llm_call *call;
    int running;
    unsigned seq;           /* attempt counter, guards stale callbacks */
    rk_timer *guard;
    int64_t t_chain, t_attempt, attempt_deadline;
    pl_llm *answered_by;    /* the provider whose call succeeded */
    int64_t answer_call_ms; /* and how long that call took */
    rk_llm_request req;
    rk_message *cont;       /* continuation prompt (owned array) */
    char *cont_partial;     /* the partial answer it carries (owned) */
    strbuf errors;          /* "name: reason; name: reason" */
    int n_failed, n_timeout, n_ratelimited, last_status;
    int64_t retry_after_ms;
    rk_usage usage;
    char *answer_model;     /* owned: the model named in meta / result */
} llm_chain;

struct rk_chat {
    chat_kind kind;
    atomic_int refs;      /* 1 for the loop-side state machine + 1 per job/post */
    atomic_int abandoned; /* finished: queued stage jobs skip their work */
    atomic_uint flow_gen; /* chat_flow calls so far: only the latest applies */
    pipeline *pl;
    loop *loop;           /* the loop the chat runs on (its "loop" fields
                             belong to that thread); fixed before it is posted */

    /* ---- input (immutable once posted) ---- */
    char *request_id, *tenant, *model, *conv_id;
    rk_message *msgs;     /* client messages, strings owned */
    size_t n_msgs;
    double temperature;
    int64_t max_tokens;
    int retrieve, new_conv;
    rk_chat_sink sink;
    void *ud;
    char **inputs;        /* embed: owned */
    size_t n_inputs;
    rk_embed_sink esink;

    /* ---- loop thread ---- */
    chat_stage stage;
    unsigned stage_seq;   /* bumped when a stage ends: late pool results are dropped */
    int finished, meta_sent, cache_hit, cancel_pending;
    int flow_paused;      /* the client's transport asked to stop reading */
    int conv_fresh;       /* conv_id was generated here: nothing to load */
    char *finish_reason;  /* owned, set on success */
    int64_t t_start, deadline, t_stage;
    rk_timer *stage_timer, *total_timer;
    rk_message *hist;     /* loaded history, strings owned */
    size_t n_hist;
    passvec pass;
    rk_message *prompt;   /* system + history + client (owned array) */
    size_t n_prompt;
    char *system_text;    /* owned: prompt[0].content */
    strbuf answer;        /* everything forwarded to the client so far */
    llm_chain llm;
    char *flight_key;     /* owned: set while this chat leads a single flight */
    char docver[33];      /* the tenant's documents version (docver.h), read once */
    int docver_read;
    rk_llm_call *ecall;   /* embed: the running call */
    pl_llm *einst;
};

/* New chat holding a reference on pl and on pl->reg; refs = 1. It runs on
 * the calling thread's loop when that is one (else one of the loops in
 * turn, or pl->loop) unless the caller sets ch->loop before posting it. */
rk_chat *chat_new(pipeline *pl, chat_kind kind);
void chat_ref(rk_chat *ch);
/* Last reference: frees everything, then drops the registry and pipeline
 * references. Never call loop-only functions from here. */
void chat_unref(rk_chat *ch);

/* Deep-copies in (validated by the caller); tenant NULL -> "default". */
int chat_copy_input(rk_chat *ch, const rk_chat_input *in);
/* Last user message of the client's messages, or NULL. */
const char *chat_query(const rk_chat *ch);
/* Does this chat use a stored conversation? */
int chat_has_conversation(const rk_chat *ch);

/* loop: the client-sink contract — meta once, before the first delta;
 * nothing after on_done. */
void chat_emit_meta(rk_chat *ch);
void chat_emit_delta(rk_chat *ch, const char *text, size_t len);

/* What a client is told about a failed upstream call: words of the host's
 * own ("timed out", "upstream HTTP 500", "malformed upstream response"),
 * never the upstream's or the plugin's text, which may echo credentials,
 * hosts or signed strings (those go to the log, redacted). */
const char *chat_reason(int status, int http_status, char *buf, size_t cap);


/* ---- how a chat goes on (loop thread) ---- */
/* The current stage is over (with or without a result): go to the next. */
void chat_advance(rk_chat *ch);
/* The one on_done of a chat: cancels what runs, reports, releases. */
void chat_finish(rk_chat *ch, const rk_chat_result *res);
/* chat_finish with an error result whose message is fmt's. */
void chat_fail(rk_chat *ch, int status, int http_status, const char *type, const char *code,
               int64_t retry_after_ms, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* pipeline.c's state machine: the targets of chat_flow_ops (only
 * pipeline_new.c's table names them). */
void pipeline__advance(rk_chat *ch);
void pipeline__finish(rk_chat *ch, const rk_chat_result *res);

#endif
