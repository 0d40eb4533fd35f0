/*
 * llm_sse — reading what streaming LLM APIs send: the event-stream framing
 * and the JSON inside the events (and inside whole answers). The SSE parser
 * owns only its two buffers: the partial line and the partial event. Lines
 * are found with memchr-style scans over each piece rather than byte-by-byte
 * appends, because on a busy server this runs for every token of every
 * stream. Sizes are capped so a misbehaving upstream cannot make one call
 * grow without bound.
 * The JSON inside the events is read with the shared reader (oj.h).
 */
#include "llm_sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void llm_sse_init(llm_sse *s, size_t max)
{
    memset(s, 0, sizeof *s);
    s->max = max ? max : (size_t)1 << 20;
}

void llm_sse_reset(llm_sse *s)
{
    llm_buf_reset(&s->line);
    llm_buf_reset(&s->data);
    s->event[0] = '\0';
    s->have_data = 0;
    s->after_cr = 0;
}

void llm_sse_free(llm_sse *s)
{
    llm_buf_free(&s->line);
    llm_buf_free(&s->data);
}

static int dispatch(llm_sse *s, llm_sse_fn fn, void *ud)
{
    int rc = 0;
    if (s->have_data) {
        size_t len = s->data.len;
        if (len > 0 && s->data.p[len - 1] == '\n')
            len--; /* the spec drops the last data line's '\n' */
        rc = fn(ud, s->event[0] ? s->event : "message", len ? s->data.p : "", len);
    }
    llm_buf_reset(&s->data);
    s->have_data = 0;
    s->event[0] = '\0';
    return rc;
}

/* One complete line, without its terminator. */
static int process_line(llm_sse *s, const char *line, size_t len,
                        llm_sse_fn fn, void *ud)
{
    if (len == 0)
        return dispatch(s, fn, ud);
    if (line[0] == ':')
        return 0; /* comment / keep-alive */
    const char *colon = memchr(line, ':', len);
    size_t flen = colon ? (size_t)(colon - line) : len;
    const char *val = colon ? colon + 1 : line + len;
    size_t vlen = (size_t)(line + len - val);
    if (vlen > 0 && val[0] == ' ') {
        val++;
        vlen--;
    }
    if (flen == 4 && memcmp(line, "data", 4) == 0) {
        if (s->data.len + vlen + 1 > s->max)
            return LLM_SSE_TOO_LARGE;
        if (llm_buf_add(&s->data, val, vlen) != RK_OK ||
            llm_buf_add(&s->data, "\n", 1) != RK_OK)
            return LLM_SSE_TOO_LARGE;
        s->have_data = 1;
    } else if (flen == 5 && memcmp(line, "event", 5) == 0) {
        size_t n = vlen < sizeof s->event - 1 ? vlen : sizeof s->event - 1;
        memcpy(s->event, val, n);
        s->event[n] = '\0';
    }
    return 0; /* id, retry and unknown fields are ignored */
}

/* Index of the first CR or LF in p[0..n), or n. */
static size_t find_eol(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] == '\n' || p[i] == '\r')
            return i;
    return n;
}

int llm_sse_feed(llm_sse *s, const char *p, size_t n, llm_sse_fn fn, void *ud)
{
    size_t i = 0;
    if (n > 0 && s->after_cr && p[0] == '\n')
        i = 1; /* second half of a CRLF split across pieces */
    s->after_cr = 0;
    while (i < n) {
        size_t k = find_eol(p + i, n - i);
        if (i + k == n) { /* no terminator: keep the partial line */
            if (s->line.len + k > s->max)
                return LLM_SSE_TOO_LARGE;
            return llm_buf_add(&s->line, p + i, k) == RK_OK ? 0 : LLM_SSE_TOO_LARGE;
        }
        int rc;
        if (s->line.len > 0) {
            if (s->line.len + k > s->max ||
                llm_buf_add(&s->line, p + i, k) != RK_OK)
                return LLM_SSE_TOO_LARGE;
            rc = process_line(s, s->line.p, s->line.len, fn, ud);
            llm_buf_reset(&s->line);
        } else {
            rc = process_line(s, p + i, k, fn, ud);
        }
        char term = p[i + k];
        i += k + 1;
        if (term == '\r') {
            if (i < n && p[i] == '\n')
                i++;
            else if (i == n)
                s->after_cr = 1;
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

int llm_sse_finish(llm_sse *s, llm_sse_fn fn, void *ud)
{
    int rc = 0;
    if (s->line.len > 0) {
        rc = process_line(s, s->line.p, s->line.len, fn, ud);
        llm_buf_reset(&s->line);
    }
    if (rc == 0)
        rc = dispatch(s, fn, ud);
    s->after_cr = 0;
    return rc;
}

/* oj_copy into a buffer made big enough first: decoding never makes a
 * string longer than its raw bytes. */
int oj_str(const oj_doc *d, int i, llm_buf *b)
{
    if (oj_kind(d, i) != OJ_STR) return -1;
    size_t n = d->t[i].len;
    if (b->cap < n + 1) {
        char *p = realloc(b->p, n + 1);
        if (!p) return -2;
        b->p = p;
        b->cap = n + 1;
    }
    b->len = oj_copy(d, i, b->p, b->cap);
    return 0;
}
