/*
 * http_chat_parse — turn a chat request body into an rk_chat_input. Two
 * dialects: OpenAI's chat.completions and the original /chat.
 *
 * Ownership: the input's strings point into the chat_req's arena or into
 * copies it owns, and stay valid until chat_req_free; the body itself may
 * go as soon as chat_parse returns.
 */
#ifndef RK_HTTP_CHAT_PARSE_H
#define RK_HTTP_CHAT_PARSE_H

#include <stddef.h>

#include <ragkernel/chat.h>

#include "oj.h"

typedef struct chat_req {
    char *arena;      /* decoded strings of the body, NUL-terminated */
    size_t arena_len, arena_cap;
    rk_chat_input in; /* request_id left NULL: the caller fills it */
    rk_message *msgs;
    char **owned;     /* joined multi-part contents */
    size_t n_owned;
    int include_usage; /* stream_options.include_usage */
} chat_req;

typedef struct parse_err {
    char param[64];   /* the offending field, "" if none */
    char msg[256];
} parse_err;

/* Parse a request body of either dialect (legacy: the original /chat):
 * 0 = ok; -1 = invalid, not JSON or not an object (e filled, answer 400);
 * -2 = out of memory. */
int chat_parse(const char *body, size_t len, int legacy, chat_req *out,
               parse_err *e);
void chat_req_free(chat_req *c);

#endif
