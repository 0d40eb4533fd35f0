/*
 * httpmsg — HTTP/1.1 message text for the loop's own client (httpc):
 * URL targets it can take, request bytes, response header blocks and
 * chunk-size lines. No I/O and no state beyond the arguments.
 */
#ifndef RK_CORE_HTTPMSG_H
#define RK_CORE_HTTPMSG_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include <ragkernel/host.h>

/* Where a URL points, when httpc can take it. */
typedef struct httpmsg_target {
    struct sockaddr_storage sa;
    socklen_t salen;
    const char *authority; /* host[:port] as written: the Host header */
    size_t authority_len;
    const char *path;      /* from the first '/' ("/" when none) */
    size_t path_len;       /* up to a '#' */
} httpmsg_target;

/* 1 and t filled when url is http:// to an IPv4 literal, an [IPv6]
 * literal or localhost (127.0.0.1), without user info or bytes that need
 * encoding; 0 otherwise. t points into url. */
int httpmsg_target_parse(const char *url, httpmsg_target *t);

/* The whole request (head and body) in one malloc'd buffer of *len bytes.
 * Host comes from the URL unless req names one; Content-Length is written
 * for a body and for POST/PUT/PATCH; caller headers that would frame the
 * message (Content-Length, Transfer-Encoding, Connection, Expect) or have
 * an empty value are left out. NULL + err for a CR/LF or a bad name. */
char *httpmsg_request(const httpmsg_target *t, const rk_http_request *req, size_t *len,
                      rk_err *err);

/* A response header block, as httpmsg_head_parse reads it. */
typedef struct httpmsg_head {
    int status, minor;   /* HTTP/1.<minor> <status> */
    int64_t clen;        /* Content-Length, -1 when absent */
    int te, chunked;     /* a Transfer-Encoding; chunked among its codings */
    int close, keep;     /* Connection: close / keep-alive */
    size_t nfields;
} httpmsg_head;

/* The fields of the last block parsed: pointers into that block. */
typedef struct httpmsg_fields {
    rk_http_header *v;
    size_t cap;
} httpmsg_fields;

enum { HTTPMSG_BAD_STATUS = -1, HTTPMSG_BAD_FRAMING = -2, HTTPMSG_NOMEM = -3 };

/* Length of the header block at p through its blank line; 0 while it is
 * incomplete. */
size_t httpmsg_head_end(const char *p, size_t n);
/* Parse a complete block of len bytes in place (names and values are
 * NUL-terminated inside it). Fields are read for final (>= 200) responses
 * only. 0 or HTTPMSG_*. */
int httpmsg_head_parse(char *p, size_t len, httpmsg_head *h, httpmsg_fields *f);

/* The size on a chunk-size line of n bytes (no CR/LF), extensions
 * ignored; -1 when it is not one. */
int64_t httpmsg_chunk_size(const char *s, size_t n);

#endif
