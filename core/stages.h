/*
 * stages — the pipeline stages that call blocking plugins on the worker
 * pool: answer-cache lookup, history load, retrieval (with its own
 * deadline), and the background work after an answer (cache store, history
 * append and compaction). Loop-thread entry points; results come back to
 * the loop and continue the chat through pipeline__advance/__finish.
 */
#ifndef RK_CORE_STAGES_H
#define RK_CORE_STAGES_H

#include "chatobj.h"

/* Each returns 0 when it started work (the stage then ends on its own) or
 * -1 when the stage does not apply or could not start (skip it). */
int stages_cache_lookup(rk_chat *ch);
int stages_history_load(rk_chat *ch);
int stages_retrieve(rk_chat *ch);

/* After a successful on_done: cache store (no conversation) and history
 * append (+ compaction past history_max), off the request path. */
void stages_after_success(rk_chat *ch);
/* A chat that led a single flight hands its answer (status RK_OK) or its
 * failure to the identical requests waiting behind it. Loop thread. */
void stages_flight_done(rk_chat *ch, int status);

#endif
