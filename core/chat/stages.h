/*
 * stages — the pipeline stages that call blocking plugins on the worker
 * pool: answer-cache lookup, history load, retrieval (with its own
 * deadline), and the work after an answer (cache store in the background;
 * the history append, which histsave runs before on_done, and compaction).
 * Loop-thread entry points unless said otherwise; results come back to the
 * loop and continue the chat through chat_advance/chat_finish.
 */
#ifndef RK_CORE_STAGES_H
#define RK_CORE_STAGES_H

#include "chatobj.h"

/* Each returns 0 when it started work (the stage then ends on its own) or
 * -1 when the stage does not apply or could not start (skip it). */
int stages_cache_lookup(rk_chat *ch);
int stages_history_load(rk_chat *ch);
int stages_retrieve(rk_chat *ch);

/* After a successful on_done: cache store (no conversation), off the
 * request path. */
void stages_after_success(rk_chat *ch);
/* Worker thread: append the question and answer to the chat's
 * conversation; the plugin's status (logged and counted on failure). */
int stages_history_append(rk_chat *ch);
/* Does the conversation need compacting after this append (history_max)? */
int stages_history_compact_due(const rk_chat *ch);
/* Worker thread: compact the conversation (summarize.c or the trimmed
 * summary); best effort. */
void stages_history_compact(rk_chat *ch);
/* A chat that led a single flight hands its answer (status RK_OK) or its
 * failure to the identical requests waiting behind it. Loop thread. */
void stages_flight_done(rk_chat *ch, int status);

#endif
