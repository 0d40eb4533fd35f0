/*
 * ragkernel SDK — LLM provider plugins (kind RK_KIND_LLM).
 *
 * Threading: complete/cancel/embed are called on a host loop thread and
 * must not block (models() may come from any thread).
 * Do network I/O through host->http_start (the host's HTTP client on the
 * loop) and waits through host->timer_start. Sink callbacks must be made on the loop
 * thread that called complete(), and never from inside complete() itself
 * (use host->timer_start(0, ...) to answer right away).
 *
 * Contract per call: after complete() returned RK_OK, exactly one
 * sink->on_done follows, unless cancel() is called first; after cancel()
 * returns, the plugin makes no more callbacks for that call and has freed
 * it. Deltas are pieces of the answer text in order.
 */
#ifndef RAGKERNEL_LLM_H
#define RAGKERNEL_LLM_H

#include "chat.h"
#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rk_llm_call rk_llm_call; /* plugin-defined */

typedef struct rk_llm_request {
    uint32_t struct_size;
    const char *request_id;     /* for logs; may be NULL */
    const char *model;          /* model or alias asked for; NULL = instance default */
    const rk_message *messages; /* the full prompt (system + history + question) */
    size_t n_messages;
    const rk_passage *passages; /* the retrieved context also in raw form */
    size_t n_passages;
    double temperature;         /* < 0: unset */
    int64_t max_tokens;         /* <= 0: unset */
    int64_t deadline_ms;        /* absolute, host->now_ms clock: give up by then */
    int64_t first_token_ms;     /* > 0: fail with RK_ERR_TIMEOUT if no delta this
                                   long after the request was sent */
    int64_t idle_ms;            /* > 0: fail with RK_ERR_TIMEOUT on a gap this
                                   long between deltas */
} rk_llm_request;

typedef struct rk_llm_result {
    uint32_t struct_size;
    const char *finish_reason;  /* "stop", "length", ...; NULL on failure */
    const char *model;          /* the upstream's model name; may be NULL */
    rk_usage usage;             /* zeros if unknown */
    int http_status;            /* upstream HTTP status, 0 if none */
    int64_t retry_after_ms;     /* from Retry-After, 0 if none */
} rk_llm_result;

typedef struct rk_llm_sink {
    uint32_t struct_size;
    void (*on_delta)(void *ud, const char *text, size_t len);
    /* status: RK_OK, or RK_ERR_TIMEOUT / RK_ERR_UNAVAILABLE /
     * RK_ERR_RATE_LIMITED (worth trying another provider) or RK_ERR_UPSTREAM
     * / RK_ERR_AUTH / RK_ERR_INVALID. message is NULL on success. */
    void (*on_done)(void *ud, int status, const rk_llm_result *res,
                    const char *message);
} rk_llm_sink;

/* One embedding vector; valid only during the callback. */
typedef struct rk_embedding {
    uint32_t struct_size;
    size_t index;
    const float *values;
    size_t dim;
} rk_embedding;

typedef struct rk_embed_sink {
    uint32_t struct_size;
    void (*on_vector)(void *ud, const rk_embedding *e);
    void (*on_done)(void *ud, int status, const rk_llm_result *res,
                    const char *message);
} rk_embed_sink;

typedef struct rk_llm_vtable {
    RK_VTABLE_HEAD;
    /* Required. Start a completion; on RK_OK *call identifies it. The
     * request and everything it points to stay valid until on_done or
     * cancel. On error, no callback follows. */
    int (*complete)(void *ctx, const rk_llm_request *req,
                    const rk_llm_sink *sink, void *ud, rk_llm_call **call,
                    rk_err *err);
    /* Required. Abort a call that has not finished yet (see contract). */
    void (*cancel)(void *ctx, rk_llm_call *call);
    /* Required. Report the model ids this instance answers to (aliases
     * included), one callback each; strings valid during the callback.
     * Any thread: must be thread-safe (it usually reads static config). */
    void (*models)(void *ctx, void (*fn)(void *ud, const char *model_id),
                   void *ud);
    /* Optional (NULL = unsupported). Embeddings of n inputs. Same threading
     * and callback contract as complete(); cancel() also cancels these. */
    int (*embed)(void *ctx, const char *model, const char *const *inputs,
                 size_t n, int64_t deadline_ms, const rk_embed_sink *sink,
                 void *ud, rk_llm_call **call, rk_err *err);
    /* Optional (since 1.1; NULL = cannot pause). Stop (pause != 0) or
     * resume reading the upstream of a running call (host->http_pause on
     * its http call, also on retries started while paused): the client is
     * not taking the answer as fast as it comes. Loop thread, as complete(). */
    void (*pause)(void *ctx, rk_llm_call *call, int pause);
} rk_llm_vtable;

#ifdef __cplusplus
}
#endif
#endif
