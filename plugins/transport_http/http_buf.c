/*
 * http_buf — owns the transport's byte buffers and text encoders. Every
 * response body, SSE event and request body goes through an hbuf, so growth
 * and out-of-memory are handled in one place (an append that fails marks the
 * buffer instead of returning a half-written event). JSON escaping lives
 * here rather than in jansson because streamed deltas are escaped one piece
 * at a time on the core's loop thread, and a delta may be cut in the middle
 * of a UTF-8 character: we repair instead of failing the whole answer.
 */
#include "http_buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oj.h"

void hbuf_free(hbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

void hbuf_reset(hbuf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int hbuf_reserve(hbuf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    /* most answers fit in one allocation, and 1000 bytes stays within
     * glibc malloc's per-thread cache (which stops at 1032) */
    size_t cap = b->cap ? b->cap : 1000;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int hbuf_append(hbuf *b, const void *p, size_t n)
{
    if (hbuf_reserve(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int hbuf_puts(hbuf *b, const char *s)
{
    return hbuf_append(b, s, strlen(s));
}

int hbuf_int(hbuf *b, long long v)
{
    char tmp[24], *p = tmp + sizeof tmp;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return hbuf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

int hbuf_printf(hbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || hbuf_reserve(b, (size_t)n) < 0)
        return -1;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void hbuf_consume(hbuf *b, size_t n)
{
    if (n >= b->len) {
        hbuf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n + 1);
    b->len -= n;
}

char *hbuf_take(hbuf *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

/* Length of the well-formed UTF-8 sequence at s (1..4), 0 if it is invalid,
 * -1 if it is a valid start cut short by the end of the input. */
static int utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    int len;
    unsigned lo = 0x80, hi = 0xBF; /* bounds of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return -1;
        unsigned lo_i = i == 1 ? lo : 0x80, hi_i = i == 1 ? hi : 0xBF;
        if (s[i] < lo_i || s[i] > hi_i)
            return 0;
    }
    return len;
}

size_t utf8_complete_prefix(const char *s, size_t n)
{
    /* only the last three bytes can start an unfinished sequence */
    size_t from = n > 3 ? n - 3 : 0;
    for (size_t i = from; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0xC0 && utf8_seq((const unsigned char *)s + i, n - i) < 0)
            return i;
    }
    return n;
}

char *utf8_sanitize(const char *s, size_t n)
{
    hbuf b = {0};
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    hbuf_reserve(&b, n);
    while (i < n) {
        int l = utf8_seq(u + i, n - i);
        if (l > 0) {
            hbuf_append(&b, u + i, (size_t)l);
            i += (size_t)l;
        } else {
            hbuf_append(&b, "\xEF\xBF\xBD", 3);
            i++;
        }
    }
    if (b.oom) {
        hbuf_free(&b);
        return NULL;
    }
    if (!b.data)
        return calloc(1, 1);
    return hbuf_take(&b, NULL);
}

int hbuf_json_str(hbuf *b, const char *s, size_t n)
{
    if (hbuf_reserve(b, OJ_ESCAPE_MAX(n)) < 0)
        return -1;
    b->len += oj_escape(s, n, b->data + b->len, 1); /* lenient: never fails */
    b->data[b->len] = '\0';
    return 0;
}

int hbuf_base64(hbuf *b, const void *p, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *u = p;
    if (hbuf_reserve(b, (n + 2) / 3 * 4) < 0)
        return -1;
    char *o = b->data + b->len;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)u[i] << 16 | (uint32_t)u[i + 1] << 8 | u[i + 2];
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = tab[(v >> 6) & 63];
        *o++ = tab[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)u[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)u[i + 1] << 8;
        *o++ = tab[v >> 18];
        *o++ = tab[(v >> 12) & 63];
        *o++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return 0;
}
