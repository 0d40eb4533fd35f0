/*
 * s3_buf — growable NUL-terminated buffer. Errors are sticky (see the
 * header) because the strings built here are long chains of appends where a
 * check after each one would bury the logic.
 */
#include "s3_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(s3_buf *b, size_t more)
{
    if (b->failed)
        return -1;
    if (b->p && b->len + more + 1 <= b->cap) /* cap counts only once p exists */
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + more + 1) {
        if (cap > ((size_t)-1) / 2) {
            b->failed = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void s3_buf_add(s3_buf *b, const void *data, size_t len)
{
    if (reserve(b, len) != 0)
        return;
    if (len)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
}

void s3_buf_str(s3_buf *b, const char *s)
{
    s3_buf_add(b, s, strlen(s));
}

void s3_buf_printf(s3_buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        s3_buf_add(b, small, (size_t)n);
        return;
    }
    if (reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *s3_buf_take(s3_buf *b)
{
    if (!b->failed && !b->p)
        s3_buf_add(b, "", 0);
    char *p = b->failed ? NULL : b->p;
    if (!p)
        free(b->p);
    *b = (s3_buf){0};
    return p;
}

void s3_buf_free(s3_buf *b)
{
    free(b->p);
    *b = (s3_buf){0};
}
