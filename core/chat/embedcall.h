/*
 * embedcall — embeddings through the first LLM instance that implements
 * them (rk_host.embed_start), with the same lifecycle rules as a chat: the
 * call runs on the loop, has a deadline and a guard timer, and its sink
 * gets on_done exactly once, also after pipeline_chat_cancel().
 */
#ifndef RK_CORE_EMBEDCALL_H
#define RK_CORE_EMBEDCALL_H

#include "chatobj.h"

int embedcall_start(pipeline *pl, const char *model, const char *const *inputs,
                    size_t n, const rk_embed_sink *sink, void *ud,
                    rk_chat **call, rk_err *err);
/* any thread */
void embedcall_cancel(rk_chat *ch);

#endif
