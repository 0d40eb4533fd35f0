/*
 * httprd — see httprd.h. One step per call of step_*: each either uses
 * some bytes and says what they were, or asks for more.
 */
#define _GNU_SOURCE
#include "httprd.h"

#include <string.h>

#include <ragkernel/error.h>

enum { P_HEAD, P_LEN, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_END, P_TRAILER, P_EOF, P_DONE };
#define STEP_NEXT (-1) /* a step that used bytes but made no event */

void httprd_init(httprd *rd, int head_only) { *rd = (httprd){.head_only = head_only}; }

int httprd_at_head(const httprd *rd) { return rd->phase == P_HEAD; }

int httprd_eof(httprd *rd)
{
    if (rd->phase != P_EOF) return 0;
    rd->phase = P_DONE;
    return 1;
}

static httprd_kind fail(httprd_ev *ev, int status, const char *msg)
{
    ev->status = status;
    ev->msg = msg;
    return HTTPRD_ERROR;
}

/* How the body of this response ends (RFC 9112 6.3). */
static void frame_set(httprd *rd, const httpmsg_head *f)
{
    rd->close_after = f->close || (f->minor == 0 && !f->keep);
    if (rd->head_only || f->status == 204 || f->status == 304) {
        rd->phase = P_DONE;
    } else if (f->te) {
        rd->phase = f->chunked ? P_CHUNK_SIZE : P_EOF;
    } else if (f->clen >= 0) {
        rd->remaining = f->clen;
        rd->phase = f->clen ? P_LEN : P_DONE;
    } else {
        rd->phase = P_EOF;
    }
    if (rd->phase == P_EOF) rd->close_after = 1;
}

static int step_head(httprd *rd, char *p, size_t avail, size_t *used,
                     httpmsg_fields *fields, httprd_ev *ev)
{
    size_t len = httpmsg_head_end(p, avail);
    httpmsg_head f;
    if (!len) {
        if (avail < HTTPRD_HEAD_MAX) return HTTPRD_MORE;
        return fail(ev, RK_ERR_IO, "malformed response: headers larger than 64 KiB");
    }
    int rc = httpmsg_head_parse(p, len, &f, fields);
    if (rc == 0 && f.status == 101) rc = HTTPMSG_BAD_STATUS; /* no upgrade was asked for */
    if (rc < 0)
        return fail(ev, rc == HTTPMSG_NOMEM ? RK_ERR_NOMEM : RK_ERR_IO,
                    rc == HTTPMSG_NOMEM       ? "out of memory"
                    : rc == HTTPMSG_BAD_STATUS ? "malformed response: bad status line"
                                               : "malformed response: bad Content-Length");
    *used = len;
    if (f.status < 200) return STEP_NEXT; /* interim: the final block follows */
    frame_set(rd, &f);
    ev->status = f.status;
    ev->nfields = f.nfields;
    return HTTPRD_HEAD;
}

static int step_data(httprd *rd, const char *p, size_t n, size_t *used, httprd_ev *ev)
{
    if (!n) return HTTPRD_MORE;
    if (rd->phase != P_EOF && (int64_t)n > rd->remaining) n = (size_t)rd->remaining;
    *used = n;
    if (rd->phase != P_EOF) {
        rd->remaining -= (int64_t)n;
        if (!rd->remaining) rd->phase = rd->phase == P_LEN ? P_DONE : P_CHUNK_END;
    }
    ev->data = p;
    ev->len = n;
    return HTTPRD_DATA;
}

/* A chunk-size line, the CRLF after chunk data, or a trailer line. */
static int step_line(httprd *rd, const char *s, size_t avail, size_t *used, httprd_ev *ev)
{
    const char *nl = memchr(s, '\n', avail);
    if (!nl && avail <= HTTPRD_LINE_MAX) return HTTPRD_MORE;
    size_t n = nl ? (size_t)(nl - s) - (nl > s && nl[-1] == '\r') : 0;
    int64_t v = nl && rd->phase == P_CHUNK_SIZE ? httpmsg_chunk_size(s, n) : 0;
    if (!nl || v < 0 || (rd->phase == P_CHUNK_END && n))
        return fail(ev, RK_ERR_IO, "malformed response: bad chunked encoding");
    *used = (size_t)(nl - s) + 1;
    if (rd->phase == P_CHUNK_SIZE) {
        rd->remaining = v;
        rd->phase = v ? P_CHUNK_DATA : P_TRAILER;
    } else if (rd->phase == P_CHUNK_END) {
        rd->phase = P_CHUNK_SIZE;
    } else if (!n) {
        rd->phase = P_DONE; /* the blank line after the trailers */
    }
    return STEP_NEXT;
}

httprd_kind httprd_next(httprd *rd, char *buf, size_t len, size_t *pos,
                        httpmsg_fields *fields, int body_ok, httprd_ev *ev)
{
    for (;;) {
        char *p = buf + *pos;
        size_t avail = len - *pos, used = 0;
        int k;
        switch (rd->phase) {
        case P_HEAD: k = step_head(rd, p, avail, &used, fields, ev); break;
        case P_LEN:
        case P_CHUNK_DATA:
        case P_EOF: k = body_ok ? step_data(rd, p, avail, &used, ev) : HTTPRD_MORE; break;
        case P_DONE: return HTTPRD_DONE;
        default: k = step_line(rd, p, avail, &used, ev); break;
        }
        *pos += used;
        if (k != STEP_NEXT) return (httprd_kind)k;
    }
}
