/*
 * summarize — history compaction by an LLM: the older part of a long
 * conversation is summarized by the pipeline's `history_summarizer`
 * instance and replaced by one system message; on any failure the
 * trimmed summary (prompt_summary) is used instead. Runs after the answer,
 * off the request path: history calls on the pool, the LLM on the loop.
 */
#ifndef RK_CORE_SUMMARIZE_H
#define RK_CORE_SUMMARIZE_H

#include "chatobj.h"

/* Worker thread. Takes ownership of msgs (n loaded messages, strings
 * owned); the first `older` are summarized, the rest kept verbatim. Holds a
 * reference on ch until the conversation is replaced. */
void summarize_start(rk_chat *ch, rk_message *msgs, size_t n, size_t older);

#endif
