/*
 * http_chat_parse — owns request validation for the chat endpoints, kept
 * apart from the streaming machinery because it is pure (bytes in, struct
 * or a 400 message out). It follows OpenAI's leniency: unknown fields are
 * ignored, content may be a string or a list of text parts, "developer" is
 * the newer name of "system". It refuses what this server cannot honour
 * (tool messages, non-text parts, n > 1) rather than answering wrongly.
 * Every chat request passes here, so the body is read with the flat JSON
 * reader (oj.h) and the strings kept are decoded into one arena the size
 * of the body: no tree, one allocation for all of them. Multi-part
 * contents are joined in that arena too. Everything here runs on a loop
 * thread, so every step is linear in the body: arrays are walked token by
 * token (never by index), and the limits on messages, parts and text are
 * checked while walking, before anything is allocated for them (text is
 * counted as it is decoded into the arena, which exists already).
 */
#include "http_chat_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKS 64 /* tokens on the stack: a short conversation needs no more */

static int bad(parse_err *e, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(parse_err *e, const char *param, const char *fmt, ...)
{
    va_list ap;
    e->status = 400;
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}
#ifdef __clang_analyzer__
/* The analyzer does not step into variadic functions: it would take a
 * failure as possibly 0 and walk on into half-parsed messages. */
#define bad(...) (bad(__VA_ARGS__), -1)
#endif

/* Past one of the limits: 413 (as the pipeline answers for its own
 * input limits), the message naming the limit's config key. */
static int too_large(parse_err *e, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int too_large(parse_err *e, const char *param, const char *fmt, ...)
{
    va_list ap;
    e->status = 413;
    snprintf(e->param, sizeof e->param, "%s", param);
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static int too_much_text(const chat_req *c, parse_err *e, const char *param)
{
    return too_large(e, param,
                     "The messages hold more than %zu bytes of text (the "
                     "limit, max_text_bytes); send a shorter conversation",
                     c->lim->max_text);
}

void chat_req_free(chat_req *c)
{
    for (size_t i = 0; i < c->n_owned; i++)
        free(c->owned[i]);
    free(c->owned);
    free(c->msgs);
    free(c->arena);
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

/* String token i, decoded and NUL-terminated, in the arena (or, should it
 * ever run out, a copy of its own); NULL out of memory. */
static const char *keep_str(chat_req *c, const oj_doc *d, int i)
{
    size_t raw = d->t[i].len;
    if (c->arena_cap - c->arena_len > raw) {
        char *s = c->arena + c->arena_len;
        c->arena_len += oj_copy(d, i, s, raw + 1) + 1;
        return s;
    }
    char *s = malloc(raw + 1);
    if (!s || own(c, s) < 0)
        return NULL;
    oj_copy(d, i, s, raw + 1);
    return s;
}

/* The string at token i compared with lit (decoding escapes if any). */
static int str_is(const oj_doc *d, int i, const char *lit)
{
    char buf[32];
    size_t n = oj_copy(d, i, buf, sizeof buf);
    return n != SIZE_MAX && strcmp(buf, lit) == 0;
}

/* Message text at string token i, kept like keep_str and counted against
 * lim->max_text; param names the field for the 413. */
static int keep_text(chat_req *c, const oj_doc *d, int i, const char **out,
                     const char *param, parse_err *e)
{
    const char *s = keep_str(c, d, i);
    if (!s)
        return -2;
    c->text += strlen(s);
    *out = s;
    /* counted once decoded (escapes shrink): the copy went to the arena,
     * which is already allocated, so checking after it costs nothing */
    return c->lim->max_text && c->text > c->lim->max_text
               ? too_much_text(c, e, param)
               : 0;
}

/* Part `part` is {type:"text", text:"..."}: its text token, else -1. */
static int text_of_part(const oj_doc *d, int part)
{
    int type = oj_get(d, part, "type"), text = oj_get(d, part, "text");
    if (oj_kind(d, type) != OJ_STR || !str_is(d, type, "text") ||
        oj_kind(d, text) != OJ_STR)
        return -1;
    return text;
}

/* [{type:"text", text:"..."}, ...] -> one string, parts joined by "\n",
 * decoded straight into the arena: each part's raw text plus its quotes
 * is longer than its decoded text plus the "\n" or NUL after it, so the
 * joined string fits where its parts would have. */
static int join_parts(chat_req *c, const oj_doc *d, int parts, size_t i,
                      const char **out, parse_err *e)
{
    char param[64];
    size_t n = oj_count(d, parts);
    snprintf(param, sizeof param, "messages[%zu].content", i);
    if (c->lim->max_parts && n > c->lim->max_parts)
        return too_large(e, param,
                         "%s has %zu parts: the limit is %zu "
                         "(max_content_parts)",
                         param, n, c->lim->max_parts);
    char *s = c->arena + c->arena_len, *o = s;
    int part = parts + 1; /* elements in order, each ends where the next starts */
    for (size_t k = 0; k < n; k++, part = (int)d->t[part].end) {
        int text = text_of_part(d, part);
        if (text < 0) {
            snprintf(param, sizeof param, "messages[%zu].content[%zu]", i, k);
            return bad(e, param, "Only text content parts are supported "
                                 "(type \"text\" with a string \"text\")");
        }
        size_t raw = d->t[text].len;
        if ((size_t)(c->arena + c->arena_cap - o) < raw + 2)
            return -2; /* cannot happen: see above */
        if (k > 0)
            *o++ = '\n';
        size_t got = oj_copy(d, text, o, raw + 1);
        o += got;
        c->text += got + (k > 0);
        if (c->lim->max_text && c->text > c->lim->max_text)
            return too_much_text(c, e, param);
    }
    *o = '\0';
    c->arena_len = (size_t)(o + 1 - c->arena);
    *out = s;
    return 0;
}

static int role_of(const oj_doc *d, int i, const char **out)
{
    static const char *const ok[] = {"system", "user", "assistant"};
    for (size_t k = 0; k < 3; k++)
        if (str_is(d, i, ok[k])) {
            *out = ok[k];
            return 0;
        }
    if (str_is(d, i, "developer")) {
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

static int parse_message(chat_req *c, const oj_doc *d, int m, size_t i,
                         parse_err *e)
{
    char param[64], shown[33];
    if (oj_kind(d, m) != OJ_OBJ)
        return bad(e, msg_param(param, sizeof param, i, ""),
                   "%s must be an object with role and content", param);
    int role = oj_get(d, m, "role");
    if (oj_kind(d, role) != OJ_STR)
        return bad(e, msg_param(param, sizeof param, i, ".role"),
                   "%s must be a string", param);
    if (role_of(d, role, &c->msgs[i].role) < 0) {
        if (oj_copy(d, role, shown, sizeof shown) == SIZE_MAX)
            snprintf(shown, sizeof shown, "%s", "(long)");
        return bad(e, msg_param(param, sizeof param, i, ".role"),
                   "%s '%.32s' is not supported: use system, user, assistant "
                   "or developer (this server does not run tools)",
                   param, shown);
    }
    int content = oj_get(d, m, "content");
    if (oj_kind(d, content) == OJ_STR)
        return keep_text(c, d, content, &c->msgs[i].content,
                         msg_param(param, sizeof param, i, ".content"), e);
    if (oj_kind(d, content) == OJ_ARR)
        return join_parts(c, d, content, i, &c->msgs[i].content, e);
    if ((content < 0 || oj_kind(d, content) == OJ_NULL) &&
        strcmp(c->msgs[i].role, "assistant") == 0) {
        c->msgs[i].content = ""; /* an assistant turn that only called tools */
        return 0;
    }
    return bad(e, msg_param(param, sizeof param, i, ".content"),
               "%s must be a string or an array of text parts", param);
}

static int parse_messages(chat_req *c, const oj_doc *d, int msgs, parse_err *e)
{
    if (oj_kind(d, msgs) != OJ_ARR)
        return bad(e, "messages", "'messages' must be an array of messages");
    size_t n = oj_count(d, msgs);
    if (n == 0)
        return bad(e, "messages", "'messages' must not be empty");
    if (c->lim->max_messages && n > c->lim->max_messages)
        return too_large(e, "messages",
                         "'messages' holds %zu messages: the limit is %zu "
                         "(max_messages)",
                         n, c->lim->max_messages);
    c->msgs = calloc(n, sizeof *c->msgs);
    if (!c->msgs)
        return -2;
    int m = msgs + 1; /* elements in order: each ends where the next starts */
    for (size_t i = 0; i < n; i++, m = (int)d->t[m].end) {
        int rc = parse_message(c, d, m, i, e);
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

static int absent(const oj_doc *d, int i)
{
    return i < 0 || oj_kind(d, i) == OJ_NULL;
}

/* Optional bool: absent or null = 0. */
static int opt_bool(const oj_doc *d, int v, const char *name, int *out,
                    parse_err *e)
{
    *out = 0;
    if (absent(d, v))
        return 0;
    if (oj_kind(d, v) != OJ_TRUE && oj_kind(d, v) != OJ_FALSE)
        return bad(e, name, "'%s' must be a boolean", name);
    *out = oj_kind(d, v) == OJ_TRUE;
    return 0;
}

static int parse_sampling(chat_req *c, const oj_doc *d, parse_err *e)
{
    int t = oj_get(d, 0, "temperature");
    double temp;
    int64_t v;
    c->in.temperature = -1;
    if (!absent(d, t)) {
        if (!oj_double(d, t, &temp) || !(temp >= 0 && temp <= 2))
            return bad(e, "temperature",
                       "'temperature' must be a number between 0 and 2");
        c->in.temperature = temp;
    }
    const char *key = "max_completion_tokens";
    int mt = oj_get(d, 0, key);
    if (absent(d, mt)) {
        key = "max_tokens";
        mt = oj_get(d, 0, key);
    }
    if (!absent(d, mt)) {
        if (!oj_int(d, mt, &v) || v < 1)
            return bad(e, key, "'%s' must be a positive integer", key);
        c->in.max_tokens = v;
    }
    int n = oj_get(d, 0, "n");
    if (!absent(d, n) && (!oj_int(d, n, &v) || v != 1))
        return bad(e, "n", "'n' must be 1: one choice per request");
    return 0;
}

/* Line and column (from 1) of byte `at` of s. */
static void line_col(const char *s, size_t at, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < at; i++) {
        if (s[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

/* Parse body into d and set c up: 0, or -1 (e filled) / -2. */
static int begin(chat_req *c, oj_doc *d, const char *body, size_t len,
                 parse_err *e)
{
    memset(c, 0, sizeof *c);
    c->in.struct_size = sizeof c->in;
    c->in.temperature = -1;
    c->in.retrieve = 1;
    int rc = oj_parse(d, body, len);
    if (rc == -2)
        return -2;
    if (rc < 0) {
        int line, col;
        line_col(body, d->err_at, &line, &col);
        return bad(e, NULL, "We could not parse the JSON body of your request: "
                   "%s (line %d, column %d)", d->err, line, col);
    }
    if (oj_kind(d, 0) != OJ_OBJ)
        return bad(e, NULL, "The request body must be a JSON object");
    /* decoded strings are never longer than their raw bytes plus quotes */
    c->arena = malloc(len + 1);
    if (!c->arena)
        return -2;
    c->arena_cap = len + 1;
    return 0;
}

static int parse_openai(chat_req *c, const oj_doc *d, parse_err *e)
{
    int model = oj_get(d, 0, "model"), rc;
    if (!absent(d, model) && oj_kind(d, model) != OJ_STR)
        return bad(e, "model", "'model' must be a string");
    if (oj_kind(d, model) == OJ_STR && d->t[model].len > 0 &&
        !(c->in.model = keep_str(c, d, model)))
        return -2;
    if ((rc = parse_messages(c, d, oj_get(d, 0, "messages"), e)) < 0)
        return rc;
    if ((rc = parse_sampling(c, d, e)) < 0)
        return rc;
    if ((rc = opt_bool(d, oj_get(d, 0, "stream"), "stream", &c->in.stream, e)) < 0)
        return rc;
    int so = oj_get(d, 0, "stream_options");
    if (absent(d, so))
        return 0;
    if (oj_kind(d, so) != OJ_OBJ)
        return bad(e, "stream_options", "'stream_options' must be an object");
    return opt_bool(d, oj_get(d, so, "include_usage"),
                    "stream_options.include_usage", &c->include_usage, e);
}

static int parse_legacy(chat_req *c, const oj_doc *d, parse_err *e)
{
    c->in.new_conversation = 1;
    int m = oj_get(d, 0, "message");
    if (oj_kind(d, m) != OJ_STR || d->t[m].len == 0)
        return bad(e, "message", "'message' must be a non-empty string");
    int conv = oj_get(d, 0, "conversation_id");
    if (!absent(d, conv)) {
        const char *id = oj_kind(d, conv) == OJ_STR ? keep_str(c, d, conv) : "";
        if (!id)
            return -2;
        if (!*id || strlen(id) > 128)
            return bad(e, "conversation_id",
                       "'conversation_id' must be a string of 1..128 bytes");
        c->in.conversation_id = id;
    }
    c->msgs = calloc(1, sizeof *c->msgs);
    if (!c->msgs)
        return -2;
    c->msgs[0].role = "user";
    int rc = keep_text(c, d, m, &c->msgs[0].content, "message", e);
    if (rc < 0)
        return rc;
    c->in.messages = c->msgs;
    c->in.n_messages = 1;
    return opt_bool(d, oj_get(d, 0, "stream"), "stream", &c->in.stream, e);
}

int chat_parse(const char *body, size_t len, int legacy,
               const chat_limits *lim, chat_req *c, parse_err *e)
{
    static const chat_limits defaults = {CHAT_MAX_MESSAGES, CHAT_MAX_PARTS,
                                         CHAT_MAX_TEXT};
    oj_tok toks[TOKS];
    oj_doc d;
    oj_init_with(&d, toks, TOKS);
    int rc = begin(c, &d, body ? body : "", body ? len : 0, e);
    c->lim = lim ? lim : &defaults;
    if (rc == 0)
        rc = legacy ? parse_legacy(c, &d, e) : parse_openai(c, &d, e);
    oj_free(&d);
    return rc;
}
