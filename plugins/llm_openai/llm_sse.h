/*
 * llm_sse — incremental parser for text/event-stream (the WHATWG
 * server-sent events format) as LLM APIs stream it: bytes arrive in pieces
 * that split lines, CRLF pairs and UTF-8 sequences anywhere.
 *
 * Feed it every piece in order; it calls fn once per complete event with
 * the event name ("message" when the stream names none) and the data lines
 * joined by '\n'. Comments (": keep-alive") and id/retry fields are
 * skipped. The pointers passed to fn are valid during the call only.
 *
 * Also the JSON reader for those events and for whole answers (oj_*,
 * below), and llm_utf8_seq, which the request writers validate with.
 */
#ifndef LLM_SSE_H
#define LLM_SSE_H

#include <stddef.h>
#include <stdint.h>

#include "llm_common.h"

#define LLM_SSE_TOO_LARGE (-1) /* a line or an event went over max bytes */

/* Returns 0 to go on; anything else stops the feed and is returned by it. */
typedef int (*llm_sse_fn)(void *ud, const char *event, const char *data,
                          size_t len);

typedef struct llm_sse {
    llm_buf line;    /* the current, unfinished line */
    llm_buf data;    /* data of the current event, lines joined by '\n' */
    char event[64];  /* event name of the current event, "" = "message" */
    int have_data;   /* a data field was seen (data may still be empty) */
    int after_cr;    /* the last terminator was CR: a leading LF is its pair */
    size_t max;      /* cap on one line and on one event's data */
} llm_sse;

void llm_sse_init(llm_sse *s, size_t max);
/* Forget any partial line or event (a new response starts). */
void llm_sse_reset(llm_sse *s);
void llm_sse_free(llm_sse *s);

/* Parse n more bytes. 0, the first nonzero fn result, or LLM_SSE_TOO_LARGE. */
int llm_sse_feed(llm_sse *s, const char *p, size_t n, llm_sse_fn fn, void *ud);

/* The stream ended: an unterminated last line and an event that lacks its
 * blank line are still delivered (servers that omit the final "\n\n" are
 * common enough to be worth it). Same result as llm_sse_feed. */
int llm_sse_finish(llm_sse *s, llm_sse_fn fn, void *ud);

/* Length of the UTF-8 sequence at s (n >= 1 bytes available): 1..4, or 0
 * when it is invalid (overlong, a surrogate, past U+10FFFF, cut short). */
size_t llm_utf8_seq(const unsigned char *s, size_t n);

/* ---- JSON reader ---------------------------------------------------------
 * oj_parse validates a whole document (RFC 8259 grammar, UTF-8, no NUL
 * characters, depth <= OJ_MAX_DEPTH) and indexes it into d->t; token 0 is
 * the root, and every token knows the index just past its subtree, so
 * members are walked without recursion. Lookups return a token index or -1
 * and accept -1 as "absent", so paths chain without checks in between. */
#define OJ_MAX_DEPTH 128

typedef enum oj_type {
    OJ_NONE = 0,
    OJ_OBJ,
    OJ_ARR,
    OJ_STR,
    OJ_NUM,
    OJ_TRUE,
    OJ_FALSE,
    OJ_NULL
} oj_type;

typedef struct oj_tok {
    uint8_t type;    /* oj_type */
    uint8_t escaped; /* OJ_STR: has backslash escapes */
    uint32_t start;  /* OJ_STR: first byte inside the quotes; else first byte */
    uint32_t len;    /* OJ_STR: raw bytes inside the quotes; OJ_NUM: text */
    uint32_t end;    /* index of the first token after this one's subtree */
} oj_tok;

/* The owner zero-initialises it (or oj_init_with for a first token array
 * of its own, e.g. on the stack) and frees it with oj_free; reusable. */
typedef struct oj_doc {
    const char *src; /* the text last parsed (borrowed) */
    oj_tok *t;
    size_t n, cap;
    oj_tok *fixed;   /* the owner's array: t starts here, never freed here */
    char err[80];    /* why oj_parse failed */
} oj_doc;

static inline void oj_init_with(oj_doc *d, oj_tok *toks, size_t n)
{
    *d = (oj_doc){.t = toks, .cap = n, .fixed = toks};
}

/* 0, -1 (malformed: d->err says why) or -2 (out of memory). */
int oj_parse(oj_doc *d, const char *s, size_t len);
void oj_free(oj_doc *d);

static inline oj_type oj_kind(const oj_doc *d, int i)
{
    return i >= 0 && (size_t)i < d->n ? (oj_type)d->t[i].type : OJ_NONE;
}

/* The value of member `key` of object i (the last one if repeated), -1. */
int oj_get(const oj_doc *d, int i, const char *key);
/* Element k of array i, or -1. */
int oj_at(const oj_doc *d, int i, size_t k);
/* Elements of array i (0 if not an array). */
size_t oj_count(const oj_doc *d, int i);
/* An integer that fits int64: 1 and *out; else 0. */
int oj_int(const oj_doc *d, int i, int64_t *out);
/* Any number, as a double: 1 and *out; else 0. */
int oj_double(const oj_doc *d, int i, double *out);
/* String i decoded into b (reset first, NUL-terminated): 0, -1 if i is
 * not a string, -2 out of memory. */
int oj_str(const oj_doc *d, int i, llm_buf *b);
/* String i decoded into out (NUL-terminated) if cap exceeds its raw
 * length: the decoded length; SIZE_MAX if not a string or too long. */
size_t oj_copy(const oj_doc *d, int i, char *out, size_t cap);
/* A string without escapes, borrowed from the source: its bytes and length
 * (not NUL-terminated); NULL if i is not such a string. */
const char *oj_raw(const oj_doc *d, int i, size_t *len);

#endif
