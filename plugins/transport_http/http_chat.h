/*
 * http_chat — POST /v1/chat/completions (OpenAI-compatible) and POST /chat
 * (the original API): request validation, host->chat_start, the chat sink,
 * and the JSON or SSE answer. Handlers run on the MHD thread and borrow the
 * parsed body (they keep their own reference).
 */
#ifndef RK_HTTP_CHAT_H
#define RK_HTTP_CHAT_H

#include <jansson.h>
#include <microhttpd.h>

#include "http_req.h"

enum MHD_Result chat_completions(http_req *r, json_t *body);
enum MHD_Result chat_legacy(http_req *r, json_t *body);

#endif
