/*
 * strbuf — the one growable string the pipeline builds prompts, answers and
 * error summaries with. Kept tiny and separate so every module that
 * concatenates text does it the same bounded, checked way (no sprintf into
 * fixed buffers).
 */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oj.h"

static int grow(strbuf *b, size_t extra)
{
    if (b->oom) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = 1;
        return -1;
    }
    b->s = s;
    b->cap = cap;
    return 0;
}

void sb_append(strbuf *b, const char *data, size_t len)
{
    if (grow(b, len) < 0) return;
    if (len) memcpy(b->s + b->len, data, len);
    b->len += len;
    b->s[b->len] = '\0';
}

void sb_puts(strbuf *b, const char *s) { sb_append(b, s, strlen(s)); }

void sb_printf(strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || grow(b, (size_t)n) < 0) return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

int sb_json_str(strbuf *b, const char *s, size_t n)
{
    if (grow(b, OJ_ESCAPE_MAX(n)) < 0) return 0; /* oom is sticky: checked once */
    size_t w = oj_escape(s, n, b->s + b->len, 0);
    if (w == SIZE_MAX) {
        b->s[b->len] = '\0';
        return -1;
    }
    b->len += w;
    b->s[b->len] = '\0';
    return 0;
}

const char *sb_str(const strbuf *b) { return b->s ? b->s : ""; }

char *sb_take(strbuf *b)
{
    char *s = b->oom ? NULL : (b->s ? b->s : strdup(""));
    if (b->oom) free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
    return s;
}

void sb_free(strbuf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}
