/*
 * oj — the strict JSON reader compiled into the plugins that parse JSON on
 * their hot path (see oj.c).
 */
#ifndef RK_PLUGINS_OJ_H
#define RK_PLUGINS_OJ_H

#include <stddef.h>
#include <stdint.h>

/* Length of the UTF-8 sequence at s (n >= 1 bytes available): 1..4, or 0
 * when it is invalid (overlong, a surrogate, past U+10FFFF, cut short). */
size_t oj_utf8_seq(const unsigned char *s, size_t n);

/* The JSON string literal (quotes included) of the n bytes at s, written
 * to out, which has room for OJ_ESCAPE_MAX(n) bytes: the length written.
 * Invalid UTF-8 and NUL bytes make it return SIZE_MAX, unless `lenient`,
 * which writes U+FFFD for a bad sequence and \u0000 for NUL. */
#define OJ_ESCAPE_MAX(n) (6 * (n) + 2)
size_t oj_escape(const char *s, size_t n, char *out, int lenient);

/* Length of the prefix of s that a JSON string holds as it is: printable
 * ASCII but '"' and '\\'. Eight bytes at a time, for the scanner and for
 * writers that escape. */
size_t oj_plain_run(const unsigned char *s, size_t n);

/* oj_parse validates a whole document (RFC 8259 grammar, UTF-8, no NUL
 * characters, depth <= OJ_MAX_DEPTH) and indexes it into d->t; token 0 is
 * the root, and every token knows the index just past its subtree, so
 * members are walked without recursion. Lookups return a token index or -1
 * and accept -1 as "absent", so paths chain without checks in between. */
#define OJ_MAX_DEPTH 128

typedef enum oj_type {
    OJ_NONE = 0,
    OJ_OBJ,
    OJ_ARR,
    OJ_STR,
    OJ_NUM,
    OJ_TRUE,
    OJ_FALSE,
    OJ_NULL
} oj_type;

typedef struct oj_tok {
    uint8_t type;    /* oj_type */
    uint8_t escaped; /* OJ_STR: has backslash escapes */
    uint32_t start;  /* OJ_STR: first byte inside the quotes; else first byte */
    uint32_t len;    /* OJ_STR: raw bytes inside the quotes; OJ_NUM: text */
    uint32_t end;    /* index of the first token after this one's subtree */
} oj_tok;

/* The owner zero-initialises it (or oj_init_with for a first token array
 * of its own, e.g. on the stack) and frees it with oj_free; reusable. */
typedef struct oj_doc {
    const char *src; /* the text last parsed (borrowed) */
    oj_tok *t;
    size_t n, cap;
    oj_tok *fixed;   /* the owner's array: t starts here, never freed here */
    char err[80];    /* why oj_parse failed */
    size_t err_at;   /* and at which byte */
} oj_doc;

static inline void oj_init_with(oj_doc *d, oj_tok *toks, size_t n)
{
    *d = (oj_doc){.t = toks, .cap = n, .fixed = toks};
}

/* 0, -1 (malformed: d->err says why) or -2 (out of memory). */
int oj_parse(oj_doc *d, const char *s, size_t len);
void oj_free(oj_doc *d);

static inline oj_type oj_kind(const oj_doc *d, int i)
{
    return i >= 0 && (size_t)i < d->n ? (oj_type)d->t[i].type : OJ_NONE;
}

/* The value of member `key` of object i (the last one if repeated), -1. */
int oj_get(const oj_doc *d, int i, const char *key);
/* Element k of array i, or -1. */
int oj_at(const oj_doc *d, int i, size_t k);
/* Elements of array i (0 if not an array). */
size_t oj_count(const oj_doc *d, int i);
/* An integer that fits int64: 1 and *out; else 0. */
int oj_int(const oj_doc *d, int i, int64_t *out);
/* Any number, as a double: 1 and *out; else 0. */
int oj_double(const oj_doc *d, int i, double *out);
/* String i decoded into out (NUL-terminated) if cap exceeds its raw
 * length: the decoded length; SIZE_MAX if not a string or too long. */
size_t oj_copy(const oj_doc *d, int i, char *out, size_t cap);
/* A string without escapes, borrowed from the source: its bytes and length
 * (not NUL-terminated); NULL if i is not such a string. */
const char *oj_raw(const oj_doc *d, int i, size_t *len);

#endif
