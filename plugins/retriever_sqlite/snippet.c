/*
 * snippet — owns highlighting. The passage is re-tokenised and stemmed
 * exactly as it was for indexing, so a highlighted word is precisely a
 * word that matched the query ("documents" lights up for a query with
 * "document", "книгами" for "книга"), never a substring. The window with
 * the most distinct matched terms wins, then it is centred on its matches
 * so each one keeps some context on both sides.
 */
#include "snippet.h"

#include <stdlib.h>
#include <string.h>

#define SNIP_MAX_TOKENS 20000 /* a chunk longer than this is cut short */

typedef struct snip_tok {
    uint32_t off, len;
    int8_t term; /* query term index, -1: no match */
} snip_tok;

struct snip_ctx {
    snip_tok *toks;
    size_t n, cap;
    an_buf out;
};

snip_ctx *snip_new(void) { return calloc(1, sizeof(snip_ctx)); }

void snip_free(snip_ctx *c)
{
    if (!c)
        return;
    free(c->toks);
    an_buf_free(&c->out);
    free(c);
}

static int match_term(const char *stem, size_t n, const an_qterm *q, size_t nq,
                      uint64_t used)
{
    for (size_t i = 0; i < nq && i < 64; i++)
        if (((used >> i) & 1) && q[i].n == n && memcmp(q[i].s, stem, n) == 0)
            return (int)i;
    return -1;
}

static int tokenize(snip_ctx *c, tp_analyzer *a, const char *text, int latin,
                    const an_qterm *q, size_t nq, uint64_t used, size_t *n_match)
{
    size_t pos = 0, len = strlen(text);
    tp_token t;
    char stem[TP_MAX_TOKEN + 1];
    c->n = 0;
    *n_match = 0;
    while (c->n < SNIP_MAX_TOKENS && tp_next_token(text, len, &pos, &t)) {
        if (c->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 256;
            snip_tok *p = realloc(c->toks, cap * sizeof *p);
            if (!p)
                return -1;
            c->toks = p;
            c->cap = cap;
        }
        int m = match_term(stem, tp_stem(a, &t, latin, stem), q, nq, used);
        c->toks[c->n++] = (snip_tok){(uint32_t)t.off, (uint32_t)t.len, (int8_t)m};
        *n_match += m >= 0;
    }
    return 0;
}

/* Start of the window of w tokens with the most distinct terms (then the
 * most matches), centred on the matches it holds. */
static size_t best_window(const snip_ctx *c, size_t w)
{
    unsigned cnt[64] = {0};
    size_t distinct = 0, total = 0, best = 0, best_score = 0;
    for (size_t i = 0; i < c->n; i++) {
        int m = c->toks[i].term;
        if (m >= 0) {
            distinct += cnt[m]++ == 0;
            total++;
        }
        if (i >= w && (m = c->toks[i - w].term) >= 0) {
            distinct -= --cnt[m] == 0;
            total--;
        }
        size_t score = distinct * 4096 + total;
        if (score > best_score) {
            best_score = score;
            best = i + 1 > w ? i + 1 - w : 0;
        }
    }
    size_t first = best, last = best;
    for (size_t i = best; i < best + w && i < c->n; i++) {
        if (c->toks[i].term < 0)
            continue;
        if (c->toks[first].term < 0)
            first = i;
        last = i;
    }
    size_t pad = (w - (last - first + 1)) / 2;
    size_t start = first > pad ? first - pad : 0;
    if (start + w > c->n)
        start = c->n > w ? c->n - w : 0;
    return start;
}

static int put(an_buf *b, const char *s, size_t n)
{
    if (an_buf_reserve(b, n + 1) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) /* keep the excerpt on one line */
        b->p[b->len + i] = (unsigned char)s[i] < 0x20 ? ' ' : (uint8_t)s[i];
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int render(snip_ctx *c, const char *text, size_t start, size_t end)
{
    an_buf *b = &c->out;
    b->len = 0;
    int rc = put(b, "", 0);
    if (start > 0)
        rc |= put(b, "… ", strlen("… "));
    for (size_t i = start; i < end && rc == 0; i++) {
        const snip_tok *t = &c->toks[i];
        if (i > start) {
            const snip_tok *prev = &c->toks[i - 1];
            rc |= put(b, text + prev->off + prev->len, t->off - prev->off - prev->len);
        }
        if (t->term >= 0)
            rc |= put(b, "**", 2);
        rc |= put(b, text + t->off, t->len);
        if (t->term >= 0)
            rc |= put(b, "**", 2);
    }
    if (end < c->n && rc == 0)
        rc |= put(b, " …", strlen(" …"));
    return rc;
}

const char *snip_make(snip_ctx *c, tp_analyzer *a, const char *text, int latin,
                      const an_qterm *q, size_t nq, uint64_t used, size_t window)
{
    size_t n_match;
    if (window == 0)
        window = 24;
    if (tokenize(c, a, text, latin, q, nq, used, &n_match) < 0)
        return NULL;
    size_t start = n_match ? best_window(c, window) : 0;
    size_t end = start + window < c->n ? start + window : c->n;
    if (render(c, text, start, end) < 0)
        return NULL;
    return (const char *)c->out.p;
}
