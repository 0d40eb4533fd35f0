/*
 * ragkernel SDK — the services the host offers each instance.
 *
 * create() receives a const rk_host *; keep it, it stays valid until
 * destroy(). rk_host holds what every plugin needs (log, config, clock,
 * metrics, scheduling, upstream HTTP, loops and fds). What only one role
 * needs (a transport's chats, documents, auth, limits, status) is looked
 * up by name with host->service (since 1.1, services.h). Slots are only
 * ever appended: before using a slot newer than the minor your descriptor
 * declares, check RK_HAS_FIELD(host, rk_host, slot).
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
#include "storage.h"

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
typedef struct rk_watch rk_watch;       /* since 1.1. host-owned (fd_watch) */

/* since 1.1. fd_watch interest and readiness bits */
#define RK_WATCH_READ 0x1u
#define RK_WATCH_WRITE 0x2u

/* FROZEN (arrays in rk_http_request and on_response): a header is a name
 * and a value, for the whole major. */
typedef struct rk_http_header {
    const char *name;
    const char *value;
} rk_http_header;
RK_FROZEN(rk_http_header, value, 16);

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

/* since 1.1. One document's state, as the "documents" service reports it
 * (doc_status). Strings and meta are valid during the callback only. */
typedef struct rk_doc_status {
    uint32_t struct_size;
    const char *tenant, *id;
    /* the stored document; NULL while an asynchronous upload has not been
     * stored yet, or after one failed before it was */
    const rk_doc_meta *meta;
    /* "indexed" (the index holds the stored version), "pending" (an
     * asynchronous upload or a re-index is under way), "failed" (see
     * error), "stored" (no index is configured) */
    const char *state;
    const char *error;   /* state "failed": why, else NULL */
    int64_t chunks;      /* chunks the index holds for it; -1 unknown */
    int64_t indexed_ms;  /* Unix ms it was indexed at; 0 unknown */
    const char *version; /* the version the index holds ("" none); NULL unknown */
    /* progress of an asynchronous upload or re-index ("" when none):
     * "queued", "extracting", "storing", "indexing", "done" */
    const char *phase;
    uint64_t bytes_total, bytes_stored; /* the upload's body */
    uint64_t chunks_total, chunks_indexed;
} rk_doc_status;

/* since 1.1. Results of a document operation ("documents" service). Callbacks run on a host
 * worker thread (never the loop); on_data may block to apply backpressure.
 * Pointers are valid during the callback only. on_done comes exactly once
 * after a doc_* call returned RK_OK. */
typedef struct rk_doc_sink {
    uint32_t struct_size;
    /* put/stat/get: the document's metadata, once; list: once per item */
    void (*on_meta)(void *ud, const rk_doc_meta *m);
    /* get: body bytes in order; return <0 to stop */
    int (*on_data)(void *ud, const void *data, size_t len);
    /* status RK_OK or an rk_status; http_status suggests the HTTP answer
     * (201, 200, 404, 413, 415, 422, 503, ...); message is NULL on success;
     * next is the list cursor for the next page, or NULL at the end. */
    void (*on_done)(void *ud, int status, int http_status, const char *message,
                    const char *next);
    /* since 1.1 (the host checks RK_HAS_FIELD: a shorter sink gets no
     * status). doc_status, doc_reindex, doc_put_async: the document's
     * state, once, before on_done. */
    void (*on_status)(void *ud, const rk_doc_status *st);
} rk_doc_sink;

/* since 1.1 */
typedef struct rk_doc_upload {
    uint32_t struct_size;
    const char *tenant;       /* NULL = "default" */
    const char *id;           /* NULL = derived from the filename */
    const char *filename;
    const char *content_type; /* NULL or "application/octet-stream": guessed */
    const void *data;         /* the whole body; copied by doc_put */
    size_t len;
} rk_doc_upload;

/* since 1.1. Who is calling, as established by the "auth" service. */
#define RK_SCOPE_CHAT 0x1u        /* chat and completions, models, embeddings */
#define RK_SCOPE_DOCS_READ 0x2u   /* list and download documents */
#define RK_SCOPE_DOCS_WRITE 0x4u  /* upload and delete documents */
#define RK_SCOPE_ADMIN 0x8u       /* metrics and readiness details when protected */
#define RK_SCOPE_ALL 0xfu

typedef struct rk_principal {
    uint32_t struct_size;
    char tenant[65];  /* [A-Za-z0-9_-]; "default" when auth is off */
    char key_id[65];  /* the key's name from the config, never the secret */
    uint32_t scopes;  /* RK_SCOPE_* */
} rk_principal;

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
    int64_t (*now_ms)(void);  /* monotonic ms: all deadlines use this. On a
                               * loop thread, read once per step of the
                               * loop's turn: never wait for it to move. */
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

    /* ---- upstream HTTP on the loop (no thread per call) --- loop -------- */
    rk_http_call *(*http_start)(const rk_http_request *req,
                                const rk_http_handler *h, void *ud,
                                rk_err *err);
    /* loop: abort; no callback after this returns. */
    void (*http_cancel)(rk_http_call *call);

    /* ---- services for transports: DEPRECATED since 1.1 -------------------
     * The same functions as the "chat" and "status" services (services.h).
     * They keep their place and keep working for all of major 1, so 1.0
     * transports load unchanged; new code looks the services up. */
    /* any: run the chat pipeline. On RK_OK the sink gets on_meta, deltas and
     * exactly one on_done; *chat is valid until on_done. */
    int (*chat_start)(const rk_instance *self, const rk_chat_input *in,
                      const rk_chat_sink *sink, void *ud, rk_chat **chat,
                      rk_err *err);
    /* any: the client went away; on_done (RK_ERR_CANCELLED) still follows,
     * never before chat_cancel returns (so it may be called under the lock
     * your on_done takes). Also cancels an embed_start call. */
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
     * cancelling with chat_cancel(*call). */
    int (*embed_start)(const rk_instance *self, const char *model,
                       const char *const *inputs, size_t n,
                       const rk_embed_sink *sink, void *ud, rk_chat **call,
                       rk_err *err);

    /* ---- documents: since 1.1, DEPRECATED since 1.1 ----------------------
     * Use the "documents" service; these stay and work for all of major 1.
     * Any thread; results on a worker thread.
     * Upload = extract text, chunk, store, index: all or nothing. The same
     * id uploaded again replaces the document. RK_ERR_UNSUPPORTED when no
     * storage is configured. */
    int (*doc_put)(const rk_instance *self, const rk_doc_upload *up,
                   const rk_doc_sink *sink, void *ud, rk_err *err);
    int (*doc_list)(const rk_instance *self, const char *tenant,
                    const char *after, size_t limit, const rk_doc_sink *sink,
                    void *ud, rk_err *err);
    /* length 0 = to the end */
    int (*doc_get)(const rk_instance *self, const char *tenant, const char *id,
                   uint64_t offset, uint64_t length, const rk_doc_sink *sink,
                   void *ud, rk_err *err);
    int (*doc_delete)(const rk_instance *self, const char *tenant,
                      const char *id, const rk_doc_sink *sink, void *ud,
                      rk_err *err);

    /* ---- auth and limits: since 1.1, DEPRECATED since 1.1 ----------------
     * Use the "auth" and "limits" services; these stay and work for all of
     * major 1. Any thread. */
    /* 1 when API keys are configured (requests must present one). */
    int (*auth_required)(void);
    /* Check a presented key (NULL = none). RK_OK fills *who; RK_ERR_AUTH
     * when keys are configured and this one is missing or unknown. With no
     * keys configured every caller is tenant "default" with all scopes.
     * Constant-time in the key; the key is never logged or kept. */
    int (*authenticate)(const char *api_key, rk_principal *who, rk_err *err);
    /* Charge `requests` and `tokens` against who's per-minute limits.
     * RK_OK, or RK_ERR_RATE_LIMITED with *retry_after_ms. force != 0 charges
     * without refusing (tokens counted after an answer). May block briefly
     * (a shared limiter lives in Redis); a limiter backend that is down lets
     * requests through, with a warning and a metric. */
    int (*rate_limit)(const rk_principal *who, int64_t requests, int64_t tokens,
                      int force, int64_t *retry_after_ms, rk_err *err);

    /* ---- several loops: since 1.1 -----------------------------------------
     * The host runs one event loop per core (server.loops). A chat runs on
     * the loop of the thread that called chat_start when that is a loop
     * thread (else on any loop), so a transport that serves each connection
     * on one loop gets every callback of its chats on that same thread. */
    /* any: how many loops run (>= 1). */
    int (*loop_count)(void);
    /* any: like run_on_loop, on loop idx (0 .. loop_count()-1). RK_OK,
     * RK_ERR_INVALID for a bad idx, RK_ERR_UNAVAILABLE when shutting down. */
    int (*run_on_loop_n)(int idx, void (*fn)(void *ud), void *ud);
    /* loop: watch fd on the calling loop's epoll set; fn(ud, revents) runs
     * on this loop thread, level-triggered, while fd is ready for what
     * `events` (RK_WATCH_READ | RK_WATCH_WRITE) asks; a hang-up or an error
     * reports every event asked for. NULL on failure (not a loop thread, a bad fd, out of
     * memory; logged). The fd stays the caller's. */
    rk_watch *(*fd_watch)(int fd, uint32_t events,
                          void (*fn)(void *ud, uint32_t revents), void *ud);
    /* loop (the watch's own loop): stop watching; no callback after this
     * returns. Call it before closing the fd. */
    void (*fd_unwatch)(rk_watch *w);

    /* ---- role services: since 1.1 -----------------------------------------
     * any: the service table `name` (services.h: "chat", "documents",
     * "auth", "limits", "status", "listen") if this host has it, offers it
     * to self's role, and its table holds at least min_size bytes; else NULL. The
     * table starts with struct_size and lives until exit. Use RK_SERVICE. */
    const void *(*service)(const rk_instance *self, const char *name,
                           size_t min_size);

    /* ---- since 1.1 (check RK_HAS_FIELD and NULL) ------------------------
     * main: hold "<path>.lock" (a file or directory the instance keeps its
     * data in) for this process, across reloads, until no generation's
     * instance holds it. RK_OK, or RK_ERR_UNAVAILABLE with "<path> is in use
     * by another ragkernel (pid N)". */
    int (*lock_path)(const rk_instance *self, const char *path, rk_err *err);

    /* ---- flow control (since 1.1: check RK_HAS_FIELD before use) ------- */
    /* loop (the call's own loop): stop (pause != 0) or resume reading an
     * http_start call's response; its first_byte_ms and idle_ms clocks
     * wait while paused and restart on resume (deadline_ms does not). */
    void (*http_pause)(rk_http_call *call, int pause); /* since 1.1 */
} rk_host;

#ifdef __cplusplus
}
#endif
#endif
