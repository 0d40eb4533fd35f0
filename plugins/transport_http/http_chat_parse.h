/*
 * http_chat_parse — turn a chat request body into an rk_chat_input. Two
 * dialects: OpenAI's chat.completions and the original /chat.
 *
 * Ownership: a chat_req holds a reference to the JSON body; the input's
 * strings point into it or into chat_req-owned copies, and stay valid
 * until chat_req_free.
 */
#ifndef RK_HTTP_CHAT_PARSE_H
#define RK_HTTP_CHAT_PARSE_H

#include <jansson.h>

#include <ragkernel/chat.h>

typedef struct chat_req {
    json_t *root;
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

/* 0 = ok; -1 = invalid (e filled, answer 400); -2 = out of memory. */
int chat_parse_openai(json_t *root, chat_req *out, parse_err *e);
int chat_parse_legacy(json_t *root, chat_req *out, parse_err *e);
void chat_req_free(chat_req *c);

#endif
