/*
 * oj — a strict JSON reader for the plugins that read JSON on every
 * request: a document is validated and indexed into one flat token array
 * (reused between documents) instead of a tree with a node, a hash table
 * and a string copy per member, which cost more than the HTTP exchange
 * around it. Strict on purpose: what jansson refuses (invalid UTF-8, lone
 * surrogates, NUL characters, trailing garbage) is refused here too.
 * Numbers are checked against the grammar, not their range; the integers
 * read are range-checked where they are read. Compiled into each plugin
 * that uses it and into the core (see common/README.md), never shared at
 * run time.
 */
#define _GNU_SOURCE /* strndup */
#include "oj.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct oj_ps {
    const unsigned char *s;
    size_t len, p;
    oj_doc *d;
} oj_ps;

static int oj_fail(oj_ps *x, const char *what)
{
    snprintf(x->d->err, sizeof x->d->err, "%s at byte %zu", what, x->p);
    x->d->err_at = x->p;
    return -1;
}

static int oj_push(oj_ps *x, oj_type type, size_t start)
{
    oj_doc *d = x->d;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        int fixed = d->t && d->t == d->fixed;
        oj_tok *t = realloc(fixed ? NULL : d->t, cap * sizeof *t);
        if (!t) return -2;
        if (fixed) memcpy(t, d->t, d->n * sizeof *t);
        d->t = t;
        d->cap = cap;
    }
    d->t[d->n] = (oj_tok){.type = (uint8_t)type, .start = (uint32_t)start,
                          .end = (uint32_t)d->n + 1};
    return (int)d->n++;
}

static void oj_ws(oj_ps *x)
{
    while (x->p < x->len) {
        unsigned char c = x->s[x->p];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t') break;
        x->p++;
    }
}

size_t oj_utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) need = 2;
    else if (c >= 0xf0 && c <= 0xf4) need = 3;
    else return 0;
    if (c == 0xe0) lo = 0xa0;
    else if (c == 0xed) hi = 0x9f; /* no UTF-16 surrogates */
    else if (c == 0xf0) lo = 0x90;
    else if (c == 0xf4) hi = 0x8f; /* nothing past U+10FFFF */
    if (n < need + 1 || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i <= need; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    return need + 1;
}

/* The high bit of each byte of v that is below 0x20, '"' or '\\', or not
 * ASCII ("has less than" and "has zero byte" of Bit Twiddling Hacks). A
 * borrow can mark a byte after a real hit, never before one, so the lowest
 * bit set is exact. */
static uint64_t oj_special8(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
    uint64_t lt = (v - ones * 0x20) & ~v;
    uint64_t zq = (q - ones) & ~q, zb = (b - ones) & ~b;
    return ((lt | zq | zb) & high) | (v & high);
}

size_t oj_plain_run(const unsigned char *s, size_t n)
{
    size_t i = 0;
    uint64_t v, m;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    for (; i + 8 <= n; i += 8) {
        memcpy(&v, s + i, 8); /* byte k of the run is bits 8k..8k+7 */
        if ((m = oj_special8(v)))
            return i + (size_t)__builtin_ctzll(m) / 8;
    }
#else
    (void)v;
    (void)m;
#endif
    while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\') i++;
    return i;
}

/* One byte below 0x20, '"' or '\\' as its escape; the length written. */
static size_t oj_escape_byte(unsigned char c, char *o)
{
    static const char hex[] = "0123456789abcdef";
    o[0] = '\\';
    switch (c) {
    case '"': o[1] = '"'; return 2;
    case '\\': o[1] = '\\'; return 2;
    case '\b': o[1] = 'b'; return 2;
    case '\f': o[1] = 'f'; return 2;
    case '\n': o[1] = 'n'; return 2;
    case '\r': o[1] = 'r'; return 2;
    case '\t': o[1] = 't'; return 2;
    default:
        memcpy(o + 1, "u00", 3);
        o[4] = hex[c >> 4];
        o[5] = hex[c & 15];
        return 6;
    }
}

size_t oj_escape(const char *s, size_t n, char *out, int lenient)
{
    const unsigned char *u = (const unsigned char *)s;
    char *o = out;
    *o++ = '"';
    for (size_t i = 0; i < n;) {
        size_t run = oj_plain_run(u + i, n - i);
        memcpy(o, u + i, run);
        o += run;
        i += run;
        if (i >= n) break;
        if (u[i] >= 0x80) {
            size_t k = oj_utf8_seq(u + i, n - i);
            if (k) {
                memcpy(o, u + i, k);
                o += k;
                i += k;
                continue;
            }
            if (!lenient) return SIZE_MAX;
            memcpy(o, "\xEF\xBF\xBD", 3); /* U+FFFD for the bad byte */
            o += 3;
            i++;
            continue;
        }
        if (u[i] == 0 && !lenient) return SIZE_MAX;
        o += oj_escape_byte(u[i++], o);
    }
    *o++ = '"';
    return (size_t)(o - out);
}

static int oj_hex4(const unsigned char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* \uXXXX at x->p (after the backslash-u); one code point, pairs joined. */
static int oj_scan_u(oj_ps *x)
{
    unsigned u, lo;
    if (x->p + 4 > x->len || oj_hex4(x->s + x->p, &u) < 0) return oj_fail(x, "bad \\u escape");
    x->p += 4;
    if (u == 0) return oj_fail(x, "\\u0000 is not allowed");
    if (u >= 0xdc00 && u <= 0xdfff) return oj_fail(x, "lone low surrogate");
    if (u < 0xd800 || u > 0xdbff) return 0;
    if (x->p + 6 > x->len || x->s[x->p] != '\\' || x->s[x->p + 1] != 'u' ||
        oj_hex4(x->s + x->p + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
        return oj_fail(x, "lone high surrogate");
    x->p += 6;
    return 0;
}

/* A string; x->p at the opening quote. */
static int oj_scan_str(oj_ps *x)
{
    int i = oj_push(x, OJ_STR, ++x->p);
    if (i < 0) return i;
    for (;;) {
        x->p += oj_plain_run(x->s + x->p, x->len - x->p);
        if (x->p >= x->len) return oj_fail(x, "unterminated string");
        unsigned char c = x->s[x->p];
        if (c == '"') break;
        if (c < 0x20) return oj_fail(x, "control character in string");
        if (c == '\\') {
            x->d->t[i].escaped = 1;
            if (++x->p >= x->len) return oj_fail(x, "unterminated string");
            c = x->s[x->p++];
            if (c == 'u') {
                int rc = oj_scan_u(x);
                if (rc < 0) return rc;
            } else if (!strchr("\"\\/bfnrt", c) || !c) {
                return oj_fail(x, "bad escape");
            }
            continue;
        }
        size_t n = c < 0x80 ? 1 : oj_utf8_seq(x->s + x->p, x->len - x->p);
        if (!n) return oj_fail(x, "invalid UTF-8");
        x->p += n;
    }
    x->d->t[i].len = (uint32_t)(x->p - x->d->t[i].start);
    x->p++;
    return 0;
}

static int oj_digits(oj_ps *x)
{
    size_t from = x->p;
    while (x->p < x->len && x->s[x->p] >= '0' && x->s[x->p] <= '9') x->p++;
    return x->p > from ? 0 : oj_fail(x, "bad number");
}

static int oj_scan_num(oj_ps *x)
{
    int i = oj_push(x, OJ_NUM, x->p);
    if (i < 0) return i;
    if (x->s[x->p] == '-') x->p++;
    if (x->p < x->len && x->s[x->p] == '0') x->p++;
    else if (oj_digits(x) < 0) return -1;
    if (x->p < x->len && x->s[x->p] == '.') {
        x->p++;
        if (oj_digits(x) < 0) return -1;
    }
    if (x->p < x->len && (x->s[x->p] == 'e' || x->s[x->p] == 'E')) {
        x->p++;
        if (x->p < x->len && (x->s[x->p] == '+' || x->s[x->p] == '-')) x->p++;
        if (oj_digits(x) < 0) return -1;
    }
    x->d->t[i].len = (uint32_t)(x->p - x->d->t[i].start);
    return 0;
}

static int oj_scan_word(oj_ps *x, const char *w, oj_type type)
{
    size_t n = strlen(w);
    if (x->len - x->p < n || memcmp(x->s + x->p, w, n) != 0) return oj_fail(x, "invalid literal");
    int i = oj_push(x, type, x->p);
    x->p += n;
    return i < 0 ? i : 0;
}

/* One scalar, or the opening of a container (pushed on stack). */
static int oj_scan_value(oj_ps *x, int *stack, int *depth)
{
    if (x->p >= x->len) return oj_fail(x, "unexpected end");
    unsigned char c = x->s[x->p];
    if (c == '{' || c == '[') {
        if (*depth >= OJ_MAX_DEPTH) return oj_fail(x, "nested too deeply");
        int i = oj_push(x, c == '{' ? OJ_OBJ : OJ_ARR, x->p++);
        if (i < 0) return i;
        stack[(*depth)++] = i;
        return 1;
    }
    if (c == '"') return oj_scan_str(x);
    if (c == '-' || (c >= '0' && c <= '9')) return oj_scan_num(x);
    if (c == 't') return oj_scan_word(x, "true", OJ_TRUE);
    if (c == 'f') return oj_scan_word(x, "false", OJ_FALSE);
    if (c == 'n') return oj_scan_word(x, "null", OJ_NULL);
    return oj_fail(x, "unexpected character");
}

/* "key": with x->p at the key's quote. */
static int oj_scan_key(oj_ps *x)
{
    if (x->p >= x->len || x->s[x->p] != '"') return oj_fail(x, "expected a member name");
    int rc = oj_scan_str(x);
    if (rc < 0) return rc;
    oj_ws(x);
    if (x->p >= x->len || x->s[x->p] != ':') return oj_fail(x, "expected ':'");
    x->p++;
    oj_ws(x);
    return 0;
}

int oj_parse(oj_doc *d, const char *s, size_t len)
{
    oj_ps x = {(const unsigned char *)s, len, 0, d};
    int stack[OJ_MAX_DEPTH], depth = 0, rc;
    d->n = 0;
    d->src = s;
    d->err[0] = '\0';
    if (len >= UINT32_MAX) return oj_fail(&x, "document too large");
    oj_ws(&x);
    for (;;) {
        rc = oj_scan_value(&x, stack, &depth);
        if (rc < 0) return rc;
        int opened = rc == 1;
        for (;;) {
            oj_ws(&x);
            if (depth == 0) return x.p == len ? 0 : oj_fail(&x, "trailing characters");
            oj_tok *top = &d->t[stack[depth - 1]];
            unsigned char c = x.p < len ? x.s[x.p] : 0;
            char close = top->type == OJ_OBJ ? '}' : ']';
            if (c == close) { /* after '[' / '{' or after a value */
                x.p++;
                top->end = (uint32_t)d->n;
                depth--;
                opened = 0;
                continue;
            }
            if (!opened) {
                if (c != ',') return oj_fail(&x, "expected ',' or a closing bracket");
                x.p++;
                oj_ws(&x);
            }
            break;
        }
        if (d->t[stack[depth - 1]].type == OJ_OBJ && (rc = oj_scan_key(&x)) < 0) return rc;
    }
}

void oj_free(oj_doc *d)
{
    if (d->t != d->fixed) free(d->t);
    d->t = NULL;
    d->n = d->cap = 0;
    d->fixed = NULL;
}

/* Decode the n raw bytes of a valid string into out (room for n + 1). */
static size_t oj_decode(const char *raw, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (raw[i] != '\\') {
            out[o++] = raw[i++];
            continue;
        }
        char c = raw[i + 1];
        i += 2;
        if (c != 'u') {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            out[o++] = to[strchr(from, c) - from];
            continue;
        }
        /* oj_parse checked the digits: the 0s are never read */
        unsigned u = 0, lo = 0;
        oj_hex4((const unsigned char *)raw + i, &u);
        i += 4;
        if (u >= 0xd800 && u <= 0xdbff) {
            oj_hex4((const unsigned char *)raw + i + 2, &lo);
            i += 6;
            u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
        }
        if (u < 0x80) {
            out[o++] = (char)u;
        } else if (u < 0x800) {
            out[o++] = (char)(0xc0 | (u >> 6));
            out[o++] = (char)(0x80 | (u & 0x3f));
        } else if (u < 0x10000) {
            out[o++] = (char)(0xe0 | (u >> 12));
            out[o++] = (char)(0x80 | ((u >> 6) & 0x3f));
            out[o++] = (char)(0x80 | (u & 0x3f));
        } else {
            out[o++] = (char)(0xf0 | (u >> 18));
            out[o++] = (char)(0x80 | ((u >> 12) & 0x3f));
            out[o++] = (char)(0x80 | ((u >> 6) & 0x3f));
            out[o++] = (char)(0x80 | (u & 0x3f));
        }
    }
    out[o] = '\0';
    return o;
}

static int oj_key_is(const oj_doc *d, const oj_tok *k, const char *key, size_t klen)
{
    const char *raw = d->src + k->start;
    if (!k->escaped) return k->len == klen && memcmp(raw, key, klen) == 0;
    char buf[256];
    if (k->len >= sizeof buf) return 0; /* no key we look up is that long */
    size_t n = oj_decode(raw, k->len, buf);
    return n == klen && memcmp(buf, key, klen) == 0;
}

int oj_get(const oj_doc *d, int i, const char *key)
{
    if (oj_kind(d, i) != OJ_OBJ) return -1;
    size_t klen = strlen(key);
    int found = -1;
    for (uint32_t k = (uint32_t)i + 1; k < d->t[i].end; k = d->t[k + 1].end)
        if (oj_key_is(d, &d->t[k], key, klen)) found = (int)k + 1;
    return found;
}

int oj_at(const oj_doc *d, int i, size_t k)
{
    if (oj_kind(d, i) != OJ_ARR) return -1;
    uint32_t e = (uint32_t)i + 1;
    for (size_t n = 0; e < d->t[i].end; e = d->t[e].end, n++)
        if (n == k) return (int)e;
    return -1;
}

size_t oj_count(const oj_doc *d, int i)
{
    size_t n = 0;
    if (oj_kind(d, i) != OJ_ARR) return 0;
    for (uint32_t e = (uint32_t)i + 1; e < d->t[i].end; e = d->t[e].end) n++;
    return n;
}

int oj_int(const oj_doc *d, int i, int64_t *out)
{
    if (oj_kind(d, i) != OJ_NUM) return 0;
    const char *p = d->src + d->t[i].start, *end = p + d->t[i].len;
    int neg = *p == '-';
    uint64_t v = 0;
    for (p += neg; p < end; p++) {
        if (*p < '0' || *p > '9') return 0; /* a fraction or an exponent */
        if (v > (UINT64_MAX - 9) / 10) return 0;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > (uint64_t)INT64_MAX + (uint64_t)neg) return 0;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 1;
}

int oj_double(const oj_doc *d, int i, double *out)
{
    char num[64];
    if (oj_kind(d, i) != OJ_NUM) return 0;
    size_t n = d->t[i].len;
    if (n >= sizeof num) {
        /* digits past what a double holds: let strtod see them all */
        char *big = strndup(d->src + d->t[i].start, n);
        if (!big) return 0;
        *out = strtod(big, NULL);
        free(big);
        return 1;
    }
    memcpy(num, d->src + d->t[i].start, n);
    num[n] = '\0';
    *out = strtod(num, NULL);
    return 1;
}

size_t oj_copy(const oj_doc *d, int i, char *out, size_t cap)
{
    if (oj_kind(d, i) != OJ_STR || d->t[i].len >= cap) return SIZE_MAX;
    return oj_decode(d->src + d->t[i].start, d->t[i].len, out);
}

const char *oj_raw(const oj_doc *d, int i, size_t *len)
{
    if (oj_kind(d, i) != OJ_STR || d->t[i].escaped) return NULL;
    *len = d->t[i].len;
    return d->src + d->t[i].start;
}
