/*
 * tp_stem — owns the analyzer: one thread's Snowball stemmers (libstemmer,
 * created on first use per language) and its bounded word -> stem cache.
 * Each token is stemmed with the algorithm of its own script (tp_token's
 * script, tp_lang's language for it). Stemming dominates indexing cost and
 * word frequencies are Zipfian, so the cache (open addressing over a
 * fixed arena, emptied whole when full) answers most lookups.
 */
#include "tp_stem.h"

#include <libstemmer.h>
#include <stdlib.h>
#include <string.h>

#define SC_SLOTS 65536u          /* stem cache slots (power of two) */
#define SC_ARENA (2u << 20)      /* bytes of cached words and stems */

typedef struct sc_slot {
    uint32_t hash, off;          /* off: word then stem in the arena */
    uint8_t lang, wlen, slen, used;
} sc_slot;

struct tp_analyzer {
    tp_langset enabled;
    int script_lang[TP_SC_COUNT];
    struct sb_stemmer *stem[TP_MAX_LANGS];
    unsigned char tried[TP_MAX_LANGS];
    sc_slot *slots;              /* NULL until the first stem */
    char *arena;
    size_t arena_len, n_used;
};

tp_analyzer *tp_analyzer_new(tp_langset enabled)
{
    tp_analyzer *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->enabled = enabled;
    for (int s = 0; s < TP_SC_COUNT; s++) {
        int l = tp_script_lang((tp_script)s, enabled);
        a->script_lang[s] = l >= 0 && ((enabled >> l) & 1) ? l : -1;
    }
    return a;
}

void tp_analyzer_free(tp_analyzer *a)
{
    if (!a)
        return;
    for (int l = 0; l < TP_MAX_LANGS; l++)
        sb_stemmer_delete(a->stem[l]);
    free(a->slots);
    free(a->arena);
    free(a);
}

int tp_token_lang(const tp_analyzer *a, const tp_token *t, int latin)
{
    if (t->script == TP_SC_LATIN)
        return latin >= 0 && latin < tp_lang_count() && ((a->enabled >> latin) & 1) ? latin : -1;
    return a->script_lang[t->script];
}

static struct sb_stemmer *stemmer_for(tp_analyzer *a, int lang)
{
    if (!a->tried[lang]) {
        a->tried[lang] = 1;
        a->stem[lang] = sb_stemmer_new(tp_lang_name(lang), "UTF_8");
    }
    return a->stem[lang];
}

static void cache_reset(tp_analyzer *a)
{
    memset(a->slots, 0, SC_SLOTS * sizeof *a->slots);
    a->arena_len = 0;
    a->n_used = 0;
}

/* Slot for (lang, word): the matching one or the empty one to fill. */
static sc_slot *cache_slot(tp_analyzer *a, int lang, const char *w, size_t n,
                           uint32_t h)
{
    uint32_t i = h & (SC_SLOTS - 1);
    for (;;) {
        sc_slot *s = &a->slots[i];
        if (!s->used || (s->hash == h && s->lang == lang && s->wlen == n &&
                         memcmp(a->arena + s->off, w, n) == 0))
            return s;
        i = (i + 1) & (SC_SLOTS - 1);
    }
}

static size_t stem_uncached(tp_analyzer *a, int lang, const tp_token *t, char *out)
{
    struct sb_stemmer *st = stemmer_for(a, lang);
    const sb_symbol *r = st ? sb_stemmer_stem(st, (const sb_symbol *)t->norm, (int)t->nlen) : NULL;
    if (!r) {
        memcpy(out, t->norm, t->nlen + 1);
        return t->nlen;
    }
    size_t n = (size_t)sb_stemmer_length(st);
    if (n > TP_MAX_TOKEN)
        n = TP_MAX_TOKEN;
    memcpy(out, r, n);
    out[n] = '\0';
    return n;
}

size_t tp_stem(tp_analyzer *a, const tp_token *t, int latin, char *out)
{
    int lang = tp_token_lang(a, t, latin);
    if (lang < 0) {
        memcpy(out, t->norm, t->nlen + 1);
        return t->nlen;
    }
    if (!a->slots) {
        a->slots = calloc(SC_SLOTS, sizeof *a->slots);
        a->arena = malloc(SC_ARENA);
        if (!a->slots || !a->arena) { /* no cache: still correct, slower */
            free(a->slots);
            free(a->arena);
            a->slots = NULL;
            a->arena = NULL;
            return stem_uncached(a, lang, t, out);
        }
    }
    uint32_t h = tp_hash(t->norm, t->nlen, (uint32_t)lang);
    sc_slot *s = cache_slot(a, lang, t->norm, t->nlen, h);
    if (s->used) {
        memcpy(out, a->arena + s->off + s->wlen, s->slen);
        out[s->slen] = '\0';
        return s->slen;
    }
    size_t n = stem_uncached(a, lang, t, out);
    if (a->n_used + 1 > SC_SLOTS / 4 * 3 || a->arena_len + t->nlen + n > SC_ARENA) {
        cache_reset(a);
        s = cache_slot(a, lang, t->norm, t->nlen, h);
    }
    *s = (sc_slot){.hash = h, .off = (uint32_t)a->arena_len, .lang = (uint8_t)lang,
                   .wlen = (uint8_t)t->nlen, .slen = (uint8_t)n, .used = 1};
    memcpy(a->arena + a->arena_len, t->norm, t->nlen);
    memcpy(a->arena + a->arena_len + t->nlen, out, n);
    a->arena_len += t->nlen + n;
    a->n_used++;
    return n;
}
