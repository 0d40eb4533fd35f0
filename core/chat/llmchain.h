/*
 * llmchain — the LLM stage of a chat: tries the pipeline's LLM instances in
 * order with per-call deadlines and a guard timer, skips open circuits,
 * falls back invisibly before the first delta and continues a cut stream
 * on the next provider after it. Loop thread only.
 */
#ifndef RK_CORE_LLMCHAIN_H
#define RK_CORE_LLMCHAIN_H

#include "chatobj.h"

/* ch->prompt is built; the chain ends with chat_finish. */
void llmchain_start(rk_chat *ch);
/* Stop the running attempt without callbacks (cancel, end of the chat). */
void llmchain_abort(rk_chat *ch);
/* The request's total deadline passed while the chain runs. */
void llmchain_deadline(rk_chat *ch);
/* ch->flow_paused changed: tell the running attempt's provider (one
 * without a pause slot just keeps reading; max_answer_bytes bounds it). */
void llmchain_flow(rk_chat *ch);
/* Any thread. Refreshes each provider's breaker-state gauge and says
 * whether a chat could be answered now: 1 unless every provider of a
 * non-empty chain has its circuit open (an offline answerer such as
 * llm_extractive never fails, so its circuit never opens). */
int llmchain_answerable(pipeline *pl);

#endif
