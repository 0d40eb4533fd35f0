/*
 * strbuf — a growable NUL-terminated byte buffer. Out of memory is sticky:
 * after a failed append `oom` is set and further appends do nothing, so
 * callers check once at the end instead of after every piece.
 */
#ifndef RK_CORE_STRBUF_H
#define RK_CORE_STRBUF_H

#include <stddef.h>

typedef struct strbuf {
    char *s;    /* NULL until the first append; always NUL-terminated after */
    size_t len;
    size_t cap;
    int oom;
} strbuf;

void sb_append(strbuf *b, const char *data, size_t len);
void sb_puts(strbuf *b, const char *s);
void sb_printf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s (n bytes) as a quoted JSON string: 0, or -1 when s is not UTF-8 or
 * holds a NUL (nothing appended). */
int sb_json_str(strbuf *b, const char *s, size_t n);
/* The text so far ("" when empty); owned by b. */
const char *sb_str(const strbuf *b);
/* Hand the buffer to the caller (never NULL unless oom; "" when empty). */
char *sb_take(strbuf *b);
void sb_free(strbuf *b);

#endif
