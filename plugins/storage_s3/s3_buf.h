/*
 * s3_buf — a growable byte buffer, always NUL-terminated, for the text the
 * plugin assembles (canonical requests, URLs, XML bodies) and the bodies it
 * collects. A failed allocation sets `failed` and later appends are no-ops,
 * so callers build a whole string and check once at the end.
 */
#ifndef RK_S3_BUF_H
#define RK_S3_BUF_H

#include <stddef.h>

typedef struct s3_buf {
    char *p;    /* owned; NULL until the first append */
    size_t len; /* bytes used, not counting the NUL */
    size_t cap;
    int failed; /* an allocation failed: the content is incomplete */
} s3_buf;

void s3_buf_add(s3_buf *b, const void *data, size_t len);
void s3_buf_str(s3_buf *b, const char *s);
void s3_buf_printf(s3_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Hand the string to the caller (free() it); NULL if any append failed.
 * The buffer is empty afterwards. An empty buffer yields "". */
char *s3_buf_take(s3_buf *b);
void s3_buf_free(s3_buf *b);

#endif
