/*
 * http_buf — a growable byte buffer and the text encoders the HTTP
 * transport needs on hot paths: JSON string escaping that never emits
 * invalid UTF-8, and base64.
 */
#ifndef RK_HTTP_BUF_H
#define RK_HTTP_BUF_H

#include <stddef.h>

typedef struct hbuf {
    char *data; /* NUL-terminated when len > 0 or after any append */
    size_t len;
    size_t cap;
    int oom;    /* an append failed: contents are incomplete */
} hbuf;

void hbuf_free(hbuf *b);
void hbuf_reset(hbuf *b);                      /* len = 0, keeps memory */
int hbuf_append(hbuf *b, const void *p, size_t n); /* 0 or -1 (sets oom) */
int hbuf_puts(hbuf *b, const char *s);
/* A decimal integer: the hot answer paths write a few per response, and a
 * printf costs more than the rest of the number. */
int hbuf_int(hbuf *b, long long v);
int hbuf_printf(hbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Drop the first n bytes (what a reader has consumed). */
void hbuf_consume(hbuf *b, size_t n);
/* Hand the bytes to the caller (malloc'ed, NUL-terminated, may be NULL
 * when empty); the buffer is empty afterwards. */
char *hbuf_take(hbuf *b, size_t *len);

/* Append s[0..n) as a quoted JSON string. Invalid UTF-8 becomes U+FFFD. */
int hbuf_json_str(hbuf *b, const char *s, size_t n);

/* Length of the longest prefix of s[0..n) that does not end inside a
 * UTF-8 sequence: a streamed delta may split a character, and the tail is
 * held back until the next delta completes it. */
size_t utf8_complete_prefix(const char *s, size_t n);

/* A copy of s[0..n) with invalid UTF-8 replaced by U+FFFD (malloc'ed). */
char *utf8_sanitize(const char *s, size_t n);

/* Append base64 of p[0..n). */
int hbuf_base64(hbuf *b, const void *p, size_t n);

#endif
