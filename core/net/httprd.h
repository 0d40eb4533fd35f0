/*
 * httprd — reading one HTTP/1.1 response out of a connection's buffer: a
 * pull decoder that turns the bytes into events (the final header block,
 * body pieces, the end) and knows how the body is framed (Content-Length,
 * chunked with trailers, or until the peer closes; none after HEAD, 204
 * or 304: RFC 9112 6.3). It does no I/O and calls nothing back, so the
 * client (httpc.c) decides what each event means for its connection.
 */
#ifndef RK_CORE_HTTPRD_H
#define RK_CORE_HTTPRD_H

#include <stddef.h>
#include <stdint.h>

#include "httpmsg.h"

#define HTTPRD_HEAD_MAX 65536 /* largest response header block */
#define HTTPRD_LINE_MAX 4096  /* largest chunk-size or trailer line */

typedef struct httprd {
    int phase;         /* private */
    int64_t remaining; /* private: of the body or the current chunk */
    int head_only;     /* set by the caller: a response to HEAD */
    int close_after;   /* the connection cannot be reused after this response */
} httprd;

typedef enum httprd_kind {
    HTTPRD_MORE,  /* the buffer holds no complete event: read more */
    HTTPRD_HEAD,  /* the final header block: status, nfields (in fields) */
    HTTPRD_DATA,  /* body bytes: data, len (pointing into the buffer) */
    HTTPRD_DONE,  /* the response is complete */
    HTTPRD_ERROR  /* malformed: status (an RK_ERR_*), msg */
} httprd_kind;

typedef struct httprd_ev {
    int status;
    size_t nfields;
    const char *data;
    size_t len;
    const char *msg;
} httprd_ev;

/* A reader for a new response; head_only for a HEAD request. */
void httprd_init(httprd *rd, int head_only);

/* The next event from buf[*pos, len), advancing *pos past what it used.
 * Interim (1xx) blocks are skipped; a 101 is an error (no upgrade is ever
 * asked for). With body_ok == 0 (the reader is paused) body bytes are left
 * in the buffer and HTTPRD_MORE is returned instead. The header fields
 * of HTTPRD_HEAD live in *fields until its next use. */
httprd_kind httprd_next(httprd *rd, char *buf, size_t len, size_t *pos,
                        httpmsg_fields *fields, int body_ok, httprd_ev *ev);

/* The peer closed the connection: 1 when that ends this response (its body
 * runs until the close), 0 when the response was cut short. */
int httprd_eof(httprd *rd);

/* 1 before any byte of the final header block was decoded. */
int httprd_at_head(const httprd *rd);

#endif
