/*
 * textnorm — the UTF-8 and whitespace rules of extracted text, in one
 * place because the core and the extractor plugins must agree on them: the
 * plugins clean as they parse (their ratio of invalid bytes decides "not
 * text"), and the core runs the same pass over whatever any extractor,
 * ours or a third party's, hands it, so the index only ever holds valid,
 * normalised UTF-8. Bytes that are not UTF-8 become U+FFFD instead of
 * failing, because one stray Latin-1 byte in a long document should not
 * cost the whole document. Every scan is linear: the input comes straight
 * from clients. Sequences are checked by oj_utf8_seq (RFC 3629), the one
 * copy of those rules.
 */
#include "textnorm.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oj.h"
#include "utf8.h"

/* ---- UTF-8 ---------------------------------------------------------- */

void tn_put_cp(strbuf *b, unsigned long cp)
{
    char u[4];
    sb_append(b, u, utf8_put(u, cp > 0x10FFFF ? 0xFFFD : (uint32_t)cp));
}

void tn_utf8_clean(const char *in, size_t len, strbuf *out, size_t *bad)
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
        } else if ((k = oj_utf8_seq(s + i, len - i)) == 0) {
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

int tn_utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t k = u[i] ? oj_utf8_seq(u + i, len - i) : 0;
        if (k == 0) return 0;
        i += k;
    }
    return 1;
}

size_t tn_utf8_cut(const char *s, size_t len, size_t max)
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

char *tn_normalize(const char *s, size_t len, int collapse)
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

char *tn_title_dup(const char *s, size_t len)
{
    while (len > 0 && is_ws(*s)) s++, len--;
    while (len > 0 && is_ws(s[len - 1])) len--;
    len = tn_utf8_cut(s, len, TN_TITLE_MAX);
    if (len == 0) return NULL;
    char *t = strndup(s, len);
    if (!t) return NULL;
    for (char *p = t; *p; p++)
        if (is_ws(*p)) *p = ' ';
    return t;
}

char *tn_first_line(const char *text)
{
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char *t = tn_title_dup(p, n);
        if (t || !e) return t;
        p = e + 1;
    }
    return NULL;
}
