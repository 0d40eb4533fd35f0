/*
 * extract — turns uploaded text formats into the plain UTF-8 text that is
 * chunked and indexed. Retrieval only needs the words a reader would see,
 * so markup is removed rather than rendered: Markdown loses its heading
 * hashes, emphasis markers, link URLs and fences (but keeps link text and
 * code), HTML loses tags, scripts, styles and comments (and gains paragraph
 * breaks at block elements). Bytes that are not UTF-8 are replaced with
 * U+FFFD instead of failing the upload, because one stray Latin-1 byte in a
 * long document should not cost the whole document; only input that is
 * mostly invalid (more than 1 byte in EXTRACT_BAD_RATIO) is refused as "not
 * UTF-8 text". All scanners are linear and bounded, since the input comes
 * straight from clients. Markdown (extract_md.c) and HTML (extract_html.c)
 * have files of their own on top of the UTF-8 and normalisation helpers
 * and the plain-text extractor here.
 */
#include "extract.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void extract_out_free(extract_out *o)
{
    if (!o) return;
    free(o->text);
    free(o->title);
    o->text = o->title = NULL;
}

/* ---- UTF-8 ---------------------------------------------------------- */

/* Length of the valid sequence at s (1..4), or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0], cp, min;
    size_t k;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) k = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0) k = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) k = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (n < k) return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return k;
}

static size_t utf8_put(char out[4], uint32_t cp)
{
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

void extract_put_cp(strbuf *b, unsigned long cp)
{
    char u[4];
    sb_append(b, u, utf8_put(u, cp > 0x10FFFF ? 0xFFFD : (uint32_t)cp));
}

void extract_utf8_clean(const char *in, size_t len, strbuf *out, size_t *bad)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0, nbad = 0;
    if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) i = 3;
    while (i < len) {
        size_t run = i;
        while (run < len && s[run] >= 0x20 && s[run] < 0x7F) run++;
        if (run > i) {
            sb_append(out, in + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = s[i];
        size_t k;
        if (c == '\r') {
            sb_append(out, "\n", 1);
            i += (i + 1 < len && s[i + 1] == '\n') ? 2 : 1;
        } else if (c == '\n' || c == '\t' || c == '\f') {
            sb_append(out, in + i++, 1);
        } else if (c < 0x20 || c == 0x7F) {
            i++; /* control bytes carry no text */
        } else if ((k = utf8_seq(s + i, len - i)) == 0) {
            sb_append(out, "\xEF\xBF\xBD", 3);
            nbad++;
            i++;
        } else {
            sb_append(out, in + i, k);
            i += k;
        }
    }
    if (bad) *bad = nbad;
}

int extract_utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t k = u[i] ? utf8_seq(u + i, len - i) : 0;
        if (k == 0) return 0;
        i += k;
    }
    return 1;
}

size_t extract_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max) return len;
    size_t p = max;
    while (p > 0 && ((unsigned char)s[p] & 0xC0) == 0x80) p--;
    return p;
}

/* ---- normalisation and titles ---------------------------------------- */

static int is_hspace(char c) { return c == ' ' || c == '\t'; }
static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

/* One line into b; a blank line turns the next separator into "\n\n". */
static void norm_line(strbuf *b, const char *s, size_t n, int collapse, int *pending)
{
    while (n > 0 && is_hspace(s[n - 1])) n--;
    if (collapse)
        while (n > 0 && is_hspace(*s)) s++, n--;
    if (n == 0) {
        if (*pending) *pending = 2;
        return;
    }
    if (*pending) sb_append(b, *pending == 2 ? "\n\n" : "\n", (size_t)*pending);
    *pending = 1;
    if (!collapse) {
        sb_append(b, s, n);
        return;
    }
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && !is_hspace(s[j])) j++;
        sb_append(b, s + i, j - i);
        if (j == n) break;
        sb_append(b, " ", 1);
        while (j < n && is_hspace(s[j])) j++;
        i = j;
    }
}

char *extract_normalize(const char *s, size_t len, int collapse)
{
    strbuf b = {0};
    int pending = 0; /* 0 nothing emitted yet, 1 line break, 2 paragraph break */
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && s[e] != '\n' && s[e] != '\f') e++;
        norm_line(&b, s + i, e - i, collapse, &pending);
        if (e < len && s[e] == '\f' && pending) pending = 2;
        i = e + 1;
    }
    return sb_take(&b);
}

char *extract_title_dup(const char *s, size_t len)
{
    while (len > 0 && is_ws(*s)) s++, len--;
    while (len > 0 && is_ws(s[len - 1])) len--;
    len = extract_utf8_cut(s, len, EXTRACT_TITLE_MAX);
    if (len == 0) return NULL;
    char *t = strndup(s, len);
    if (!t) return NULL;
    for (char *p = t; *p; p++)
        if (is_ws(*p)) *p = ' ';
    return t;
}

char *extract_first_line(const char *text)
{
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char *t = extract_title_dup(p, n);
        if (t || !e) return t;
        p = e + 1;
    }
    return NULL;
}

int extract_clean_checked(const char *data, size_t len, strbuf *b, rk_err *err)
{
    size_t bad = 0;
    extract_utf8_clean(data, len, b, &bad);
    if (b->oom) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    if (bad > 0 && bad * EXTRACT_BAD_RATIO > len)
        return rk_fail(err, RK_ERR_INVALID, "not UTF-8 text (%zu of %zu bytes invalid)",
                       bad, len);
    return RK_OK;
}

int extract_finish(const strbuf *raw, int collapse, extract_out *out, rk_err *err)
{
    if (raw->oom || !(out->text = extract_normalize(sb_str(raw), raw->len, collapse))) {
        extract_out_free(out);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    return RK_OK;
}

int extract_plain(const char *data, size_t len, extract_out *out, rk_err *err)
{
    strbuf b = {0};
    *out = (extract_out){0};
    int rc = extract_clean_checked(data, len, &b, err);
    if (rc == RK_OK) rc = extract_finish(&b, 0, out, err);
    sb_free(&b);
    return rc;
}

int64_t extract_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int extract_in_time(int64_t deadline_ms, rk_err *err)
{
    if (deadline_ms > 0 && extract_now_ms() >= deadline_ms)
        return rk_fail(err, RK_ERR_TIMEOUT, "text extraction ran out of time");
    return RK_OK;
}
