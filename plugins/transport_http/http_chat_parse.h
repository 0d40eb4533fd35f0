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

/* What one chat request may hold. They are checked as the parsed body is
 * walked, before anything is joined or copied, so a hostile body costs
 * one linear pass and no more. 0 = no limit. */
typedef struct chat_limits {
    size_t max_messages; /* entries of "messages" */
    size_t max_parts;    /* content parts of one message */
    size_t max_text;     /* decoded bytes of every message's text */
} chat_limits;

#define CHAT_MAX_MESSAGES 1000
#define CHAT_MAX_PARTS 256
#define CHAT_MAX_TEXT (1024 * 1024)

typedef struct chat_req {
    char *arena;      /* decoded strings of the body, NUL-terminated */
    size_t arena_len, arena_cap;
    const chat_limits *lim; /* during chat_parse only */
    size_t text;      /* message text kept so far (bytes) */
    rk_chat_input in; /* request_id left NULL: the caller fills it */
    rk_message *msgs;
    char **owned;     /* strings that did not fit the arena */
    size_t n_owned;
    int include_usage; /* stream_options.include_usage */
} chat_req;

typedef struct parse_err {
    char param[64];   /* the offending field, "" if none */
    char msg[256];
    int status;       /* HTTP status: 400, or 413 past a chat_limits one */
} parse_err;

/* Parse a request body of either dialect (legacy: the original /chat)
 * within lim (NULL = the CHAT_MAX_* defaults): 0 = ok; -1 = invalid, not
 * JSON, not an object or past a limit (e filled: answer e->status);
 * -2 = out of memory. Time and memory are linear in len. */
int chat_parse(const char *body, size_t len, int legacy,
               const chat_limits *lim, chat_req *out, parse_err *e);
void chat_req_free(chat_req *c);

#endif
