/*
 * ragkernel SDK — the services the host offers each instance.
 *
 * create() receives a const rk_host *; keep it, it stays valid until
 * destroy(). Slots are only ever appended: before using a slot added after
 * 1.0, check RK_HAS_FIELD(host, rk_host, slot).
 *
 * Threads: "any" = callable from any thread; "loop" = only from a host loop
 * thread (inside an LLM slot, a timer, an http or run_on_loop callback);
 * "main" = only from create/start/stop/destroy.
 */
#ifndef RAGKERNEL_HOST_H
#define RAGKERNEL_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "chat.h"
#include "llm.h"
#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rk_log_level {
    RK_LOG_DEBUG = 0,
    RK_LOG_INFO = 1,
    RK_LOG_WARN = 2,
    RK_LOG_ERROR = 3
} rk_log_level;

typedef enum rk_metric_type {
    RK_METRIC_COUNTER = 1,
    RK_METRIC_GAUGE = 2,
    RK_METRIC_HISTOGRAM = 3 /* seconds; buckets 1ms .. 120s */
} rk_metric_type;

typedef struct rk_metric rk_metric;     /* host-owned, lives until exit */
typedef struct rk_timer rk_timer;       /* host-owned */
typedef struct rk_http_call rk_http_call; /* host-owned */
typedef struct rk_chat rk_chat;         /* host-owned */

typedef struct rk_http_header {
    const char *name;
    const char *value;
} rk_http_header;

typedef struct rk_http_request {
    uint32_t struct_size;
    const char *method;            /* "GET", "POST", ... */
    const char *url;
    const rk_http_header *headers;
    size_t n_headers;
    const void *body;              /* copied by http_start */
    size_t body_len;
    int64_t connect_timeout_ms;    /* 0 = 10 s */
    int64_t deadline_ms;           /* absolute (now_ms clock); 0 = none */
    int64_t first_byte_ms;         /* > 0: time out if no body byte this long after start */
    int64_t idle_ms;               /* > 0: time out on a gap this long between body bytes */
} rk_http_request;

/* Callbacks of one upstream HTTP call, on the loop thread that started it.
 * Pointers are valid during the callback only. on_response comes once when
 * the status line and headers are in; on_body for each piece of the body;
 * on_done exactly once at the end unless http_cancel() came first.
 * Returning nonzero from on_response/on_body aborts the call (on_done then
 * reports RK_ERR_CANCELLED). */
typedef struct rk_http_handler {
    uint32_t struct_size;
    int (*on_response)(void *ud, int http_status, const rk_http_header *h,
                       size_t n);
    int (*on_body)(void *ud, const char *data, size_t len);
    /* status: RK_OK once the whole response arrived (any HTTP status);
     * RK_ERR_TIMEOUT (a deadline above passed), RK_ERR_UNAVAILABLE (could not
     * connect, connection reset), RK_ERR_CANCELLED, RK_ERR_IO. */
    void (*on_done)(void *ud, int status, const char *message);
} rk_http_handler;

typedef struct rk_host {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    const char *version; /* host version string, e.g. "0.1.0" */

    /* ---- logging (any) ---- one line per call, tagged with the instance */
    void (*log)(const rk_instance *self, rk_log_level level, const char *fmt,
                ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;
    const char *(*instance_name)(const rk_instance *self);

    /* ---- config (any) ----------------------------------------------------
     * Values were validated against the plugin's schema and defaults filled
     * before create(). Strings are host-owned and valid until destroy();
     * NULL when the key is absent and has no default. */
    const char *(*cfg_string)(const rk_instance *self, const char *key);
    int64_t (*cfg_int)(const rk_instance *self, const char *key); /* INT, DURATION (ms), SIZE (bytes) */
    double (*cfg_double)(const rk_instance *self, const char *key);
    int (*cfg_bool)(const rk_instance *self, const char *key);
    size_t (*cfg_count)(const rk_instance *self, const char *key); /* LIST, MAP */
    const char *(*cfg_item)(const rk_instance *self, const char *key, size_t i);
    const char *(*cfg_item_key)(const rk_instance *self, const char *key, size_t i); /* MAP */
    /* "file:line:col" of key (or of the instance if key is NULL), for errors */
    const char *(*cfg_where)(const rk_instance *self, const char *key,
                             char *buf, size_t cap);

    /* ---- clock (any) ---- */
    int64_t (*now_ms)(void);  /* monotonic ms: all deadlines use this */
    int64_t (*wall_ms)(void); /* Unix time in ms */

    /* ---- metrics (any) ---------------------------------------------------
     * Same (name, labels) gives the same metric. labels is Prometheus label
     * text like `provider="openai",code="429"`, or NULL. */
    rk_metric *(*metric)(rk_metric_type type, const char *name,
                         const char *help, const char *labels);
    void (*metric_add)(rk_metric *m, double v);     /* counter, gauge */
    void (*metric_set)(rk_metric *m, double v);     /* gauge */
    void (*metric_observe)(rk_metric *m, double v); /* histogram */

    /* ---- scheduling ------------------------------------------------------ */
    /* loop: fn(ud) runs once on this loop thread after delay_ms (0 = next
     * turn). Never from inside the timer_start call. */
    rk_timer *(*timer_start)(int64_t delay_ms, void (*fn)(void *ud), void *ud);
    /* loop: the timer will not fire after this returns (no-op if it did). */
    void (*timer_cancel)(rk_timer *t);
    /* any: fn(ud) runs soon on a loop thread. RK_OK or RK_ERR_UNAVAILABLE
     * when shutting down (fn will then not run). */
    int (*run_on_loop)(void (*fn)(void *ud), void *ud);
    /* any: fn(ud) runs on a worker thread, where blocking is fine. */
    int (*run_blocking)(void (*fn)(void *ud), void *ud);

    /* ---- upstream HTTP on the loop (libcurl multi) --- loop -------------- */
    rk_http_call *(*http_start)(const rk_http_request *req,
                                const rk_http_handler *h, void *ud,
                                rk_err *err);
    /* loop: abort; no callback after this returns. */
    void (*http_cancel)(rk_http_call *call);

    /* ---- services for transports ----------------------------------------- */
    /* any: run the chat pipeline. On RK_OK the sink gets on_meta, deltas and
     * exactly one on_done; *chat is valid until on_done. */
    int (*chat_start)(const rk_instance *self, const rk_chat_input *in,
                      const rk_chat_sink *sink, void *ud, rk_chat **chat,
                      rk_err *err);
    /* any: the client went away; on_done (RK_ERR_CANCELLED) still follows. */
    void (*chat_cancel)(rk_chat *chat);
    /* any: every model id the LLM chain answers to. */
    void (*list_models)(void (*fn)(void *ud, const char *id, const char *owner),
                        void *ud);
    /* any: Prometheus text exposition, in pieces. */
    void (*render_metrics)(void (*write)(void *ud, const char *data, size_t len),
                           void *ud);
    /* any: 1 when every instance is started and ready; else 0 and a reason. */
    int (*ready)(char *why, size_t cap);
    /* any: embeddings through the first LLM instance that supports them.
     * Sink callbacks come on a loop thread; on_done exactly once, also after
     * embed_cancel. */
    int (*embed_start)(const rk_instance *self, const char *model,
                       const char *const *inputs, size_t n,
                       const rk_embed_sink *sink, void *ud, rk_chat **call,
                       rk_err *err);
} rk_host;

#ifdef __cplusplus
}
#endif
#endif
