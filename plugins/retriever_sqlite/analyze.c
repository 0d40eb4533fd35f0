/*
 * analyze — owns the mapping from a chunk or a query to the terms the index
 * stores and matches. A chunk's language is decided once (hint, else
 * script and stopwords) and every token is stemmed by its own script, so
 * indexing and querying go through exactly the same steps. Bags are
 * counted in a small per-thread hash table that is cleared, not freed,
 * between chunks: indexing a large corpus allocates almost nothing.
 */
#include "analyze.h"

#include <stdlib.h>
#include <string.h>

#include "varint.h"

int an_buf_reserve(an_buf *b, size_t more)
{
    if (b->len + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

void an_buf_free(an_buf *b)
{
    free(b->p);
    *b = (an_buf){0};
}

/* ---- bag counting ------------------------------------------------------- */

typedef struct bag_ent {
    uint32_t hash, off, len, tf;
} bag_ent;

struct an_bagger {
    uint32_t *slots; /* entry index + 1; 0 = empty */
    uint32_t cap;    /* power of two */
    bag_ent *ents;
    uint32_t n, ents_cap;
    an_buf str;      /* term bytes */
};

an_bagger *an_bagger_new(void) { return calloc(1, sizeof(an_bagger)); }

void an_bagger_free(an_bagger *b)
{
    if (!b)
        return;
    free(b->slots);
    free(b->ents);
    an_buf_free(&b->str);
    free(b);
}

static uint32_t term_hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h ^ (h >> 16);
}

static void bag_clear(an_bagger *b)
{
    for (uint32_t i = 0; i < b->n; i++) { /* only the slots in use */
        uint32_t j = b->ents[i].hash & (b->cap - 1);
        while (b->slots[j])
            b->slots[j] = 0, j = (j + 1) & (b->cap - 1);
    }
    b->n = 0;
    b->str.len = 0;
}

static int bag_grow(an_bagger *b)
{
    uint32_t cap = b->cap ? b->cap * 2 : 1024;
    uint32_t *slots = calloc(cap, sizeof *slots);
    bag_ent *ents = realloc(b->ents, (size_t)cap / 2 * sizeof *ents);
    if (!slots || !ents) {
        free(slots);
        if (ents)
            b->ents = ents;
        return -1;
    }
    for (uint32_t i = 0; i < b->n; i++) {
        uint32_t j = ents[i].hash & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = i + 1;
    }
    free(b->slots);
    b->slots = slots;
    b->ents = ents;
    b->cap = cap;
    b->ents_cap = cap / 2;
    return 0;
}

static int bag_add(an_bagger *b, const char *s, size_t n, uint32_t w)
{
    if (b->n + 1 > b->ents_cap && bag_grow(b) < 0)
        return -1;
    uint32_t h = term_hash(s, n), j = h & (b->cap - 1);
    for (; b->slots[j]; j = (j + 1) & (b->cap - 1)) {
        bag_ent *e = &b->ents[b->slots[j] - 1];
        if (e->hash == h && e->len == n && memcmp(b->str.p + e->off, s, n) == 0) {
            e->tf += w;
            return 0;
        }
    }
    if (an_buf_reserve(&b->str, n) < 0)
        return -1;
    b->ents[b->n] = (bag_ent){h, (uint32_t)b->str.len, (uint32_t)n, w};
    memcpy(b->str.p + b->str.len, s, n);
    b->str.len += n;
    b->slots[j] = ++b->n;
    return 0;
}

static int bag_encode(const an_bagger *b, an_buf *out)
{
    out->len = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        const bag_ent *e = &b->ents[i];
        if (an_buf_reserve(out, e->len + 2 * VARINT_MAX) < 0)
            return -1;
        out->len += varint_put(out->p + out->len, e->len);
        memcpy(out->p + out->len, b->str.p + e->off, e->len);
        out->len += e->len;
        out->len += varint_put(out->p + out->len, e->tf);
    }
    return 0;
}

/* ---- chunks -------------------------------------------------------------- */

/* The Latin language of a chunk. Guessing it costs a pass over the text,
 * needed only when more than one Latin-script language is enabled. */
static int chunk_latin(const an_opts *o, const char *title, const char *text, int hint,
                       int latin_in)
{
    if (hint >= 0 && tp_lang_script(hint) == TP_SC_LATIN)
        return hint;
    if (latin_in >= 0)
        return latin_in;
    if (tp_latin_langs(o->enabled) < 2)
        return o->default_latin;
    tp_langinfo li, lt;
    tp_detect(text, strlen(text), o->enabled, o->default_latin, &li);
    if (!li.confident && title[0]) { /* a short text: let the title vote */
        tp_detect(title, strlen(title), o->enabled, o->default_latin, &lt);
        if (lt.confident)
            return lt.latin;
    }
    return li.latin;
}

/* The language of most words, from the scripts counted while stemming. */
static int chunk_main(const an_opts *o, const unsigned *scripts, int latin)
{
    tp_script best = TP_SC_LATIN;
    for (int s = TP_SC_LATIN; s < TP_SC_COUNT; s++)
        if (scripts[s] > scripts[best])
            best = (tp_script)s;
    return best == TP_SC_LATIN ? latin : tp_script_lang(best, o->enabled);
}

static int bag_text(tp_analyzer *a, an_bagger *b, const char *s, int latin,
                    uint32_t w, uint32_t *dl, unsigned *scripts)
{
    size_t pos = 0, len = strlen(s);
    tp_token t;
    char stem[TP_MAX_TOKEN + 1];
    while (tp_next_token(s, len, &pos, &t)) {
        size_t n = tp_stem(a, &t, latin, stem);
        if (bag_add(b, stem, n, w) < 0)
            return -1;
        *dl += w;
        scripts[t.script]++;
    }
    return 0;
}

int an_chunk(tp_analyzer *a, an_bagger *b, const an_opts *o, const char *title,
             const char *text, const char *hint, int latin_in,
             an_chunk_info *info, an_buf *out)
{
    unsigned scripts[TP_SC_COUNT] = {0};
    int h = tp_lang_find(hint);
    if (!title)
        title = "";
    info->latin = chunk_latin(o, title, text, h, latin_in);
    info->dl = 0;
    bag_clear(b);
    int rc = bag_text(a, b, title, info->latin, o->title_weight, &info->dl, scripts);
    if (rc == 0)
        rc = bag_text(a, b, text, info->latin, 1, &info->dl, scripts);
    if (rc == 0)
        rc = bag_encode(b, out);
    bag_clear(b);
    info->main = h >= 0 ? h : chunk_main(o, scripts, info->latin);
    return rc;
}

int an_next(an_iter *it, const char **term, uint32_t *len, uint32_t *tf)
{
    if (it->p >= it->end)
        return 0;
    uint32_t n;
    if (!varint_get(&it->p, it->end, &n) || n > (size_t)(it->end - it->p))
        return -1;
    *term = (const char *)it->p;
    *len = n;
    it->p += n;
    return varint_get(&it->p, it->end, tf) ? 1 : -1;
}

/* ---- queries ------------------------------------------------------------- */

static size_t qterm_add(an_qterm *out, size_t n, size_t cap, const char *s,
                        size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (out[i].n == len && memcmp(out[i].s, s, len) == 0) {
            out[i].qtf++;
            return n;
        }
    }
    if (n == cap)
        return n;
    memcpy(out[n].s, s, len + 1);
    out[n].n = (uint32_t)len;
    out[n].qtf = 1;
    return n + 1;
}

size_t an_query(tp_analyzer *a, const char *text, int latin, an_qterm *out,
                size_t cap)
{
    size_t n = 0, pos = 0, len = strlen(text);
    tp_token t;
    char stem[TP_MAX_TOKEN + 1];
    for (int pass = 0; pass < 2 && n == 0; pass++) { /* pass 1: all stopwords */
        pos = 0;
        while (tp_next_token(text, len, &pos, &t)) {
            if (pass == 0 && tp_is_stopword(tp_token_lang(a, &t, latin), t.norm, t.nlen))
                continue;
            size_t sn = tp_stem(a, &t, latin, stem);
            n = qterm_add(out, n, cap, stem, sn);
        }
    }
    return n;
}
