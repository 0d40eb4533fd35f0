/*
 * histsave — a chat that continues a conversation gets its on_done only
 * after its turn was stored, so the result can say whether it was
 * (rk_chat_result.history_saved). A failed write is counted
 * (ragkernel_history_write_errors_total) and marks the history instance
 * failing, which /ready reports until a write succeeds again.
 */
#ifndef RK_CORE_HISTSAVE_H
#define RK_CORE_HISTSAVE_H

#include "chatobj.h"

/* Loop thread, from the pipeline's finish with a successful result. Returns 1
 * when it took over: it stores the turn on a worker and then sends on_done
 * (a copy of res with history_saved set) from the chat's loop, followed
 * by the rest of the after-answer work. Returns 0 when the chat has no
 * conversation to store (the caller sends on_done itself). */
int histsave_start(rk_chat *ch, const rk_chat_result *res);
/* Registers ragkernel_history_write_errors_total (idempotent). */
void histsave_metrics(void);

#endif
