/*
 * http_chat_parse — owns request validation for the chat endpoints, kept
 * apart from the streaming machinery because it is pure (JSON in, struct or
 * a 400 message out). It follows OpenAI's leniency: unknown fields are
 * ignored, content may be a string or a list of text parts, "developer" is
 * the newer name of "system". It refuses what this server cannot honour
 * (tool messages, non-text parts, n > 1) rather than answering wrongly.
 */
#include "http_chat_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_buf.h"

static int bad(parse_err *e, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(parse_err *e, const char *param, const char *fmt, ...)
{
    va_list ap;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

void chat_req_free(chat_req *c)
{
    for (size_t i = 0; i < c->n_owned; i++)
        free(c->owned[i]);
    free(c->owned);
    free(c->msgs);
    json_decref(c->root);
    memset(c, 0, sizeof *c);
}

static int own(chat_req *c, char *s)
{
    char **p = realloc(c->owned, (c->n_owned + 1) * sizeof *p);
    if (!p) {
        free(s);
        return -2;
    }
    c->owned = p;
    c->owned[c->n_owned++] = s;
    return 0;
}

/* [{type:"text", text:"..."}, ...] -> one string, parts joined by "\n". */
static int join_parts(chat_req *c, json_t *parts, size_t i, const char **out,
                      parse_err *e)
{
    char param[64];
    hbuf b = {0};
    size_t k;
    json_t *part;
    json_array_foreach(parts, k, part)
    {
        snprintf(param, sizeof param, "messages[%zu].content[%zu]", i, k);
        const char *type = json_string_value(json_object_get(part, "type"));
        json_t *text = json_object_get(part, "text");
        if (!type || strcmp(type, "text") != 0 || !json_is_string(text)) {
            hbuf_free(&b);
            return bad(e, param, "Only text content parts are supported "
                                 "(type \"text\" with a string \"text\")");
        }
        if (k > 0)
            hbuf_append(&b, "\n", 1);
        hbuf_append(&b, json_string_value(text), json_string_length(text));
    }
    if (b.oom) {
        hbuf_free(&b);
        return -2;
    }
    char *s = b.data ? hbuf_take(&b, NULL) : strdup("");
    if (!s)
        return -2;
    *out = s;
    return own(c, s);
}

static int role_of(const char *role, const char **out)
{
    static const char *const ok[] = {"system", "user", "assistant"};
    for (size_t i = 0; i < 3; i++)
        if (strcmp(role, ok[i]) == 0) {
            *out = ok[i];
            return 0;
        }
    if (strcmp(role, "developer") == 0) {
        *out = "system";
        return 0;
    }
    return -1;
}

/* "messages[i]" + field: the param of an error, so only built for one. */
static const char *msg_param(char *buf, size_t cap, size_t i, const char *field)
{
    snprintf(buf, cap, "messages[%zu]%s", i, field);
    return buf;
}

static int parse_message(chat_req *c, json_t *m, size_t i, parse_err *e)
{
    char param[64];
    if (!json_is_object(m))
        return bad(e, msg_param(param, sizeof param, i, ""),
                   "%s must be an object with role and content", param);
    const char *role = json_string_value(json_object_get(m, "role"));
    if (!role)
        return bad(e, msg_param(param, sizeof param, i, ".role"),
                   "%s must be a string", param);
    if (role_of(role, &c->msgs[i].role) < 0)
        return bad(e, msg_param(param, sizeof param, i, ".role"),
                   "%s '%.32s' is not supported: use system, user, assistant "
                   "or developer (this server does not run tools)",
                   param, role);
    json_t *content = json_object_get(m, "content");
    if (json_is_string(content)) {
        c->msgs[i].content = json_string_value(content);
        return 0;
    }
    if (json_is_array(content))
        return join_parts(c, content, i, &c->msgs[i].content, e);
    if ((!content || json_is_null(content)) &&
        strcmp(c->msgs[i].role, "assistant") == 0) {
        c->msgs[i].content = ""; /* an assistant turn that only called tools */
        return 0;
    }
    return bad(e, msg_param(param, sizeof param, i, ".content"),
               "%s must be a string or an array of text parts", param);
}

static int parse_messages(chat_req *c, json_t *msgs, parse_err *e)
{
    if (!json_is_array(msgs))
        return bad(e, "messages", "'messages' must be an array of messages");
    size_t n = json_array_size(msgs);
    if (n == 0)
        return bad(e, "messages", "'messages' must not be empty");
    c->msgs = calloc(n, sizeof *c->msgs);
    if (!c->msgs)
        return -2;
    for (size_t i = 0; i < n; i++) {
        int rc = parse_message(c, json_array_get(msgs, i), i, e);
        if (rc < 0)
            return rc;
    }
    /* the pipeline retrieves for and answers the last user turn */
    if (strcmp(c->msgs[n - 1].role, "user") != 0)
        return bad(e, "messages", "The last message must have role 'user'");
    c->in.messages = c->msgs;
    c->in.n_messages = n;
    return 0;
}

/* Optional bool: absent or null = 0. */
static int opt_bool(json_t *v, const char *name, int *out, parse_err *e)
{
    if (!v || json_is_null(v)) {
        *out = 0;
        return 0;
    }
    if (!json_is_boolean(v))
        return bad(e, name, "'%s' must be a boolean", name);
    *out = json_is_true(v);
    return 0;
}

static int parse_sampling(chat_req *c, json_t *root, parse_err *e)
{
    json_t *t = json_object_get(root, "temperature");
    c->in.temperature = -1;
    if (t && !json_is_null(t)) {
        if (!json_is_number(t) || json_number_value(t) < 0 ||
            json_number_value(t) > 2)
            return bad(e, "temperature",
                       "'temperature' must be a number between 0 and 2");
        c->in.temperature = json_number_value(t);
    }
    const char *key = "max_completion_tokens";
    json_t *mt = json_object_get(root, key);
    if (!mt || json_is_null(mt)) {
        key = "max_tokens";
        mt = json_object_get(root, key);
    }
    if (mt && !json_is_null(mt)) {
        if (!json_is_integer(mt) || json_integer_value(mt) < 1)
            return bad(e, key, "'%s' must be a positive integer", key);
        c->in.max_tokens = json_integer_value(mt);
    }
    json_t *n = json_object_get(root, "n");
    if (n && !json_is_null(n) &&
        (!json_is_integer(n) || json_integer_value(n) != 1))
        return bad(e, "n", "'n' must be 1: one choice per request");
    return 0;
}

static void begin(chat_req *c, json_t *root)
{
    memset(c, 0, sizeof *c);
    c->root = json_incref(root);
    c->in.struct_size = sizeof c->in;
    c->in.temperature = -1;
    c->in.retrieve = 1;
}

int chat_parse_openai(json_t *root, chat_req *c, parse_err *e)
{
    begin(c, root);
    json_t *model = json_object_get(root, "model");
    if (model && !json_is_null(model) && !json_is_string(model))
        return bad(e, "model", "'model' must be a string");
    if (json_string_length(model) > 0)
        c->in.model = json_string_value(model);
    int rc = parse_messages(c, json_object_get(root, "messages"), e);
    if (rc < 0)
        return rc;
    if ((rc = parse_sampling(c, root, e)) < 0)
        return rc;
    if ((rc = opt_bool(json_object_get(root, "stream"), "stream",
                       &c->in.stream, e)) < 0)
        return rc;
    json_t *so = json_object_get(root, "stream_options");
    if (so && !json_is_null(so)) {
        if (!json_is_object(so))
            return bad(e, "stream_options", "'stream_options' must be an object");
        if ((rc = opt_bool(json_object_get(so, "include_usage"),
                           "stream_options.include_usage", &c->include_usage,
                           e)) < 0)
            return rc;
    }
    return 0;
}

int chat_parse_legacy(json_t *root, chat_req *c, parse_err *e)
{
    begin(c, root);
    c->in.new_conversation = 1;
    json_t *m = json_object_get(root, "message");
    if (!json_is_string(m) || json_string_length(m) == 0)
        return bad(e, "message", "'message' must be a non-empty string");
    json_t *conv = json_object_get(root, "conversation_id");
    if (conv && !json_is_null(conv)) {
        if (!json_is_string(conv) || json_string_length(conv) == 0 ||
            json_string_length(conv) > 128)
            return bad(e, "conversation_id",
                       "'conversation_id' must be a string of 1..128 bytes");
        c->in.conversation_id = json_string_value(conv);
    }
    c->msgs = calloc(1, sizeof *c->msgs);
    if (!c->msgs)
        return -2;
    c->msgs[0].role = "user";
    c->msgs[0].content = json_string_value(m);
    c->in.messages = c->msgs;
    c->in.n_messages = 1;
    return opt_bool(json_object_get(root, "stream"), "stream", &c->in.stream,
                    e);
}
