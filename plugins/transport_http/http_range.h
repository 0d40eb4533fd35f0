/*
 * http_range — the header grammar of downloads, kept pure so it can be
 * reasoned about (and tested) apart from the streaming: Range (one byte
 * range), If-None-Match and If-Range against a sha256 ETag, the HTTP date
 * of Last-Modified, and Content-Disposition with an RFC 5987 filename*.
 */
#ifndef RK_HTTP_RANGE_H
#define RK_HTTP_RANGE_H

#include <stddef.h>
#include <stdint.h>

typedef enum range_kind {
    RANGE_NONE = 0, /* absent, ignored or unparsable: send everything */
    RANGE_FROM,     /* first-last, or first- (last = UINT64_MAX) */
    RANGE_SUFFIX    /* -n: the last n bytes (n in last) */
} range_kind;

typedef struct byte_range {
    range_kind kind;
    uint64_t first, last;
} byte_range;

/* One "bytes=" range. Several ranges, other units and syntax errors give
 * RANGE_NONE: RFC 9110 lets a server ignore them and send a 200. */
void range_parse(const char *header, byte_range *out);

/* Resolve against a document of `size` bytes: 0 with [*off, *off+*len),
 * or -1 when unsatisfiable (416: the first byte is past the end, a
 * suffix of 0 bytes, or an empty document). */
int range_resolve(const byte_range *br, uint64_t size, uint64_t *off,
                  uint64_t *len);

/* 1 when an If-None-Match value is "*" or lists "<sha256>" (weak
 * comparison: a W/ prefix still matches). */
int etag_listed(const char *list, const char *sha256);

/* 1 when an If-Range value is our strong ETag or our exact Last-Modified
 * text (then the range applies; otherwise the whole document is sent). */
int if_range_matches(const char *value, const char *etag,
                     const char *last_modified);

/* What a download answers, from the document (sha256, created_ms, size)
 * and the request's Range, If-None-Match and If-Range (NULL: absent): 304
 * when If-None-Match lists our ETag, 416 when the range cannot be
 * satisfied, 206 when a range applies, else 200. An If-Range that matches
 * neither our ETag nor our Last-Modified voids the range (the client's
 * copy is stale: it gets everything). [*off, *off+*len) is what the body
 * carries; *len is 0 for 304 and 416. */
int range_decide(const byte_range *range, const char *if_none_match,
                 const char *if_range, const char *sha256, int64_t created_ms,
                 uint64_t size, uint64_t *off, uint64_t *len);

/* "Sun, 06 Nov 1994 08:49:37 GMT" is 29 bytes; the room beyond lets the
 * compiler prove that no int field can overflow the buffer. */
#define HTTP_DATE_LEN 80
void http_date(int64_t unix_ms, char out[HTTP_DATE_LEN]);

/* attachment; filename*=UTF-8''<pct-encoded>, into out (NUL-terminated;
 * a name too long for out is cut at a character boundary). */
void content_disposition(const char *filename, char *out, size_t cap);

#endif
