/*
 * ragkernel SDK — chat types shared by the pipeline, LLM providers and
 * transports.
 *
 * Ownership: every pointer in these structs is owned by the side that
 * passes the struct and stays valid for the duration stated at the call
 * (usually: until the call returns, or until the matching on_done). Copy
 * what you want to keep. Strings are NUL-terminated UTF-8 unless a length
 * is given.
 */
#ifndef RAGKERNEL_CHAT_H
#define RAGKERNEL_CHAT_H

#include <stddef.h>
#include <stdint.h>

#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One chat message. role is "system", "user" or "assistant".
 * FROZEN (arrays: rk_chat_input, rk_llm_request, history append/replace):
 * a message is its role and its text; anything more per message would come
 * as a parallel array with its own element size in the containing struct. */
typedef struct rk_message {
    const char *role;
    const char *content;
} rk_message;
RK_FROZEN(rk_message, content, 16);

/* One retrieved passage (a chunk of a document).
 * FROZEN: passages travel in arrays (rk_chat_meta.sources,
 * rk_llm_request.passages) that old plugins index with their own sizeof, so
 * struct_size here is always the 1.0 size and the layout never grows. New
 * per-passage data would come as a parallel array, with its element size,
 * in a since-1.x field of the containing struct. */
typedef struct rk_passage {
    uint32_t struct_size;
    const char *doc_id;
    const char *title;   /* document title or filename; may be "" */
    const char *text;    /* the chunk's full text */
    const char *snippet; /* short excerpt with the matches marked by
                            "**...**"; may be NULL */
    double score;        /* higher is better; comparable within one result */
    uint32_t chunk_index;/* position of the chunk within its document */
} rk_passage;
RK_FROZEN(rk_passage, chunk_index, 56);

typedef struct rk_usage {
    int64_t prompt_tokens;
    int64_t completion_tokens;
} rk_usage;

/* ---- what a transport submits to the core pipeline ----------------------- */
typedef struct rk_chat_input {
    uint32_t struct_size;
    const char *request_id;      /* for logs; may be NULL */
    const char *tenant;          /* from auth; NULL = default tenant */
    const char *model;           /* requested model or alias; NULL = default */
    const rk_message *messages;  /* conversation so far, last is the user's */
    size_t n_messages;
    const char *conversation_id; /* continue this stored conversation; NULL = none */
    int new_conversation;        /* nonzero: create one if conversation_id is NULL */
    double temperature;          /* < 0: unset */
    int64_t max_tokens;          /* <= 0: unset */
    int stream;                  /* the client wants deltas as they come */
    int retrieve;                /* nonzero: ground the answer in documents */
} rk_chat_input;

/* Sent once before the first delta (and before on_done if there is none). */
typedef struct rk_chat_meta {
    uint32_t struct_size;
    const char *model;           /* model that is answering */
    const char *conversation_id; /* NULL if none */
    int cache_hit;
    const rk_passage *sources;   /* passages the answer is grounded in */
    size_t n_sources;
} rk_chat_meta;

typedef struct rk_chat_result {
    uint32_t struct_size;
    int status;              /* RK_OK or an rk_status */
    int http_status;         /* suggested HTTP status (200, 400, 429, 502, 504, ...) */
    const char *error_type;  /* OpenAI error "type", NULL on success */
    const char *error_code;  /* OpenAI error "code", may be NULL */
    const char *message;     /* human text on failure, NULL on success */
    const char *finish_reason; /* "stop", "length", ... on success */
    const char *model;
    const char *conversation_id;
    const char *answer;      /* the whole answer text (also when streamed) */
    rk_usage usage;
    int cache_hit;
    int64_t retry_after_ms;  /* > 0 with 429/503: suggest Retry-After */
    /* since 1.1 (check RK_HAS_FIELD): the turn's fate in the conversation:
     * 1 stored; -1 NOT stored (the answer is good but the conversation will
     * miss this turn); 0 nothing to store (no conversation or no history
     * backend) or a host that does not say. */
    int history_saved;
} rk_chat_result;

/* Callbacks the core makes for one chat. They run on a core loop thread:
 * return quickly and hand data to your own threads. Pointers passed in are
 * valid only during the callback. on_done is called exactly once per
 * successfully started chat, also after chat_cancel(); after on_done the
 * core never touches the chat or ud again. */
typedef struct rk_chat_sink {
    uint32_t struct_size;
    void (*on_meta)(void *ud, const rk_chat_meta *meta);
    void (*on_delta)(void *ud, const char *text, size_t len);
    void (*on_done)(void *ud, const rk_chat_result *res);
} rk_chat_sink;

#ifdef __cplusplus
}
#endif
#endif
