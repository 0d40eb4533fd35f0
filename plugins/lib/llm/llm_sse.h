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
 * The JSON in those events (and in whole answers) is read with oj.h.
 */
#ifndef LLM_SSE_H
#define LLM_SSE_H

#include <stddef.h>
#include <stdint.h>

#include "llm_common.h"
#include "oj.h"

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

/* Decode string i into b (reset first, NUL-terminated): 0, -1 if i is
 * not a string, -2 out of memory. */
int oj_str(const oj_doc *d, int i, llm_buf *b);

#endif
