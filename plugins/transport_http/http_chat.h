/*
 * http_chat — POST /v1/chat/completions (OpenAI-compatible) and POST /chat
 * (the original API): request validation, host->chat_start, the chat sink,
 * and the JSON or SSE answer. Handlers run on the MHD thread and read the
 * raw body, which they may not keep.
 */
#ifndef RK_HTTP_CHAT_H
#define RK_HTTP_CHAT_H

#include <microhttpd.h>
#include <stddef.h>

#include "http_req.h"

enum MHD_Result chat_completions(http_req *r, const char *body, size_t len);
enum MHD_Result chat_legacy(http_req *r, const char *body, size_t len);

#endif
