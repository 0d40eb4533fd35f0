/*
 * pipeline — one chat, end to end, as a state machine on the loop thread:
 *   cache lookup -> history load -> retrieve -> prompt -> LLM chain (retries,
 *   fallback, circuit breaker) -> stream -> cache store + history append.
 * Blocking plugin calls (cache, history, retriever) run on the worker pool;
 * the LLM runs on the loop. Every stage has a deadline from the request's
 * budget. A pipeline belongs to one registry generation and holds a
 * reference to it while chats are in flight.
 */
#ifndef RK_CORE_PIPELINE_H
#define RK_CORE_PIPELINE_H

#include <ragkernel/ragkernel.h>

#include "loop.h"
#include "pool.h"
#include "registry.h"

typedef struct pipeline pipeline;

/* Resolve the instance names of conf->pipeline in r (kinds checked) and read
 * the settings. Does not take a reference on r (the caller's generation
 * owns both). NULL + err if an instance is missing or of the wrong kind. */
pipeline *pipeline_new(registry *r, loop *l, pool *p, rk_err *err);
void pipeline_free(pipeline *pl);

/* any thread: see rk_host.chat_start / chat_cancel. */
int pipeline_chat_start(pipeline *pl, const rk_chat_input *in,
                        const rk_chat_sink *sink, void *ud, rk_chat **chat,
                        rk_err *err);
void pipeline_chat_cancel(rk_chat *chat);
/* any: the chat service's chat_flow: stop (pause != 0) or resume reading the chat's
 * upstream; applied on the chat's loop, in the order of the calls. */
void pipeline_chat_flow(rk_chat *chat, int pause);

void pipeline_list_models(pipeline *pl,
                          void (*fn)(void *ud, const char *id, const char *owner),
                          void *ud);
int pipeline_embed_start(pipeline *pl, const char *model,
                         const char *const *inputs, size_t n,
                         const rk_embed_sink *sink, void *ud, rk_chat **call,
                         rk_err *err);

/* Chats currently in flight (for draining). */
int pipeline_inflight(const pipeline *pl);

/* Decides fast mode: at most max_words words and a single sentence/clause
 * (no '?' before the end, no ';', no newline, no " and "/" и " joining two
 * questions). Exposed for tests. */
int pipeline_is_simple(const char *question, int max_words);

#endif
