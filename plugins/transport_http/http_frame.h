/*
 * http_frame — checks a request's framing headers on the first access
 * handler call, before MHD reads a byte of the body: exactly one way to
 * tell where the body ends, spelled the one way every HTTP parser reads
 * the same; and query arguments a C string would cut short.
 */
#ifndef RK_HTTP_FRAME_H
#define RK_HTTP_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

typedef struct frame_info {
    int chunked;     /* Transfer-Encoding: chunked */
    uint64_t length; /* Content-Length, 0 when absent */
} frame_info;

/* MHD thread, first access-handler call. 0 and *out filled; or -1 with
 * msg (cap bytes) saying which header is wrong, for a 400 that closes the
 * connection. Refused: a header name that is not a token (whitespace
 * before the colon: "Transfer-Encoding : chunked"), more than one
 * Content-Length or Transfer-Encoding, a Content-Length that is not
 * digits, a Transfer-Encoding other than "chunked", both at once, and a
 * query parameter whose name or value holds a NUL byte (%00). */
int frame_check(struct MHD_Connection *c, frame_info *out, char *msg,
                size_t cap);

/* The request carries a body (a positive length, or chunks). */
static inline int frame_has_body(const frame_info *f)
{
    return f->chunked || f->length > 0;
}

#endif
