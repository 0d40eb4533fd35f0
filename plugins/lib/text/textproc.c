/*
 * textproc — owns everything between raw UTF-8 and index terms: splitting
 * text into word tokens (Unicode-aware, so Cyrillic, Greek and accented
 * Latin words stay whole and CJK ideographs become one-character tokens),
 * lower-casing them (ё folds to е so both spellings match), deciding which
 * language a text is in (script first, then stopword counts among the
 * Latin-script languages), and stemming each token with the Snowball
 * algorithm of its own script, because real documents mix scripts (an
 * English acronym inside Russian prose must not go through the Russian
 * stemmer). Stemming dominates indexing cost, so each analyzer keeps a
 * bounded word -> stem cache; word frequencies are Zipfian and the cache
 * answers most lookups. Kept free of any dependency but libc and libstemmer
 * so the extractive answerer can compile it in.
 */
#include "textproc.h"

#include <libstemmer.h>
#include <stdlib.h>
#include <string.h>

#include "textproc_data.h"

#define TP_NLANG ((int)(sizeof tp_langs / sizeof tp_langs[0]))
#define TP_DETECT_MAX_TOKENS 2000 /* enough to tell a language */

/* ---- code points ------------------------------------------------------ */

enum { CP_SEP = 0, CP_WORD = 1, CP_SINGLE = 2 };

static uint32_t utf8_decode(const unsigned char *s, size_t len, size_t *adv)
{
    uint32_t c = s[0];
    size_t n = c < 0x80 ? 1 : c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
    if (n == 0 || n > len) {
        *adv = 1;
        return 0xFFFD;
    }
    if (n == 1) {
        *adv = 1;
        return c;
    }
    c &= 0x7Fu >> n;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *adv = i;
            return 0xFFFD;
        }
        c = (c << 6) | (s[i] & 0x3Fu);
    }
    *adv = n;
    return c;
}

static size_t utf8_encode(uint32_t c, char *out)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xC0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* Lower case for the alphabets we stem, plus ё -> е. Case pairs in the
 * Latin Extended and Cyrillic blocks alternate upper/lower by parity. */
static uint32_t cp_lower(uint32_t c)
{
    if (c < 0x80)
        return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
        return c + 32;
    if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177) ||
        (c >= 0x1E00 && c <= 0x1EFF))
        return c == 0x130 ? 'i' : (c | 1);
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
        return (c & 1) ? c + 1 : c;
    if (c == 0x178)
        return 0xFF;
    if (c >= 0x391 && c <= 0x3A9)
        return c + 32;
    if (c == 0x386)
        return 0x3AC;
    if (c >= 0x388 && c <= 0x38A)
        return c + 37;
    if (c == 0x38C)
        return 0x3CC;
    if (c == 0x38E || c == 0x38F)
        return c + 63;
    if (c == 0x401 || c == 0x451)
        return 0x435; /* ё, Ё -> е */
    if (c >= 0x410 && c <= 0x42F)
        return c + 32;
    if (c >= 0x400 && c <= 0x40F)
        return c + 80;
    if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) ||
        (c >= 0x4D0 && c <= 0x52F))
        return c | 1;
    if (c >= 0x4C1 && c <= 0x4CE)
        return (c & 1) ? c + 1 : c;
    if (c >= 0x531 && c <= 0x556)
        return c + 48;
    if (c >= 0xFF21 && c <= 0xFF3A)
        return c + 32;
    return c;
}

/* Separator, part of a word, or a token on its own; *sc gets the script of
 * a letter (TP_SC_COUNT for marks that belong to no script). */
static int cp_class_high(uint32_t c, tp_script *sc)
{
    *sc = TP_SC_OTHER;
    if (c < 0xC0 || c == 0xD7 || c == 0xF7 || (c >= 0x2B0 && c <= 0x2FF) ||
        c == 0x37E || c == 0x387 || (c >= 0x55A && c <= 0x55F) || c == 0x589 ||
        c == 0x5BE || c == 0x5C0 || c == 0x5C3 || c == 0x5C6 ||
        c == 0x5F3 || c == 0x5F4 || c == 0x60C || c == 0x61B || c == 0x61F ||
        (c >= 0x66A && c <= 0x66D) || c == 0x6D4 || c == 0x964 || c == 0x965 ||
        (c >= 0x2000 && c <= 0x2BFF) || (c >= 0x2E00 && c <= 0x2E7F) ||
        (c >= 0x3000 && c <= 0x303F) || (c >= 0xE000 && c <= 0xF8FF) ||
        (c >= 0xFE00 && c <= 0xFE6F) || (c >= 0xFF00 && c <= 0xFF0F) ||
        (c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40) ||
        (c >= 0xFF5B && c <= 0xFF65) || (c >= 0xFFF0 && c <= 0xFFFF) ||
        (c >= 0x1F000 && c <= 0x1FAFF))
        return CP_SEP;
    if (c >= 0x20000 && c <= 0x2FFFF) {
        *sc = TP_SC_CJK;
        return CP_SINGLE;
    }
    if (c <= 0x2AF || (c >= 0x1E00 && c <= 0x1EFF) || (c >= 0xFF21 && c <= 0xFF5A))
        *sc = TP_SC_LATIN;
    else if (c >= 0x300 && c <= 0x36F)
        *sc = TP_SC_COUNT;
    else if (c >= 0x370 && c <= 0x3FF)
        *sc = TP_SC_GREEK;
    else if (c >= 0x400 && c <= 0x52F)
        *sc = TP_SC_CYRILLIC;
    else if (c >= 0x530 && c <= 0x58F)
        *sc = TP_SC_ARMENIAN;
    else if (c >= 0x590 && c <= 0x5FF)
        *sc = TP_SC_HEBREW;
    else if (c >= 0x600 && c <= 0x6FF)
        *sc = TP_SC_ARABIC;
    else if (c >= 0x900 && c <= 0x97F)
        *sc = TP_SC_DEVANAGARI;
    else if (c >= 0xB80 && c <= 0xBFF)
        *sc = TP_SC_TAMIL;
    else if (c >= 0xFF10 && c <= 0xFF19)
        *sc = TP_SC_DIGIT;
    else if ((c >= 0x3040 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x4DBF) ||
             (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xF900 && c <= 0xFAFF)) {
        *sc = TP_SC_CJK;
        return CP_SINGLE;
    }
    return CP_WORD;
}

static int cp_class(uint32_t c, tp_script *sc)
{
    if (c < 0x80) {
        if (c >= '0' && c <= '9') {
            *sc = TP_SC_DIGIT;
            return CP_WORD;
        }
        if ((c | 32) >= 'a' && (c | 32) <= 'z') {
            *sc = TP_SC_LATIN;
            return CP_WORD;
        }
        return CP_SEP;
    }
    return cp_class_high(c, sc);
}

static void tok_append(tp_token *t, uint32_t c)
{
    char buf[4];
    size_t n = utf8_encode(cp_lower(c), buf);
    if (t->nlen + n <= TP_MAX_TOKEN) {
        memcpy(t->norm + t->nlen, buf, n);
        t->nlen += n;
    }
}

/* A word's script: any Cyrillic letter makes it Cyrillic (so a Latin
 * homoglyph inside Russian text still gets the Russian stemmer), then
 * Greek, then Latin, then any other letter; digits only -> DIGIT. */
static tp_script tok_script(const unsigned seen[TP_SC_COUNT])
{
    static const tp_script order[] = {TP_SC_CYRILLIC, TP_SC_GREEK, TP_SC_LATIN,
                                      TP_SC_ARABIC, TP_SC_ARMENIAN, TP_SC_DEVANAGARI,
                                      TP_SC_TAMIL, TP_SC_HEBREW, TP_SC_OTHER};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (seen[order[i]])
            return order[i];
    return TP_SC_DIGIT;
}

/* Does a word character start at s[p]? (an underscore joins two words
 * into one token, as identifiers like RAGKERNEL_DATA are written) */
static int joins_word(const unsigned char *s, size_t len, size_t p)
{
    size_t adv;
    tp_script sc;
    if (p >= len)
        return 0;
    uint32_t c = s[p] < 0x80 ? s[p] : utf8_decode(s + p, len - p, &adv);
    return cp_class(c, &sc) == CP_WORD;
}

int tp_next_token(const char *text, size_t len, size_t *pos, tp_token *t)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t p = *pos, adv;
    tp_script sc;
    int cls = CP_SEP;
    uint32_t c = 0;
    while (p < len) { /* skip separators */
        c = s[p] < 0x80 ? (adv = 1, s[p]) : utf8_decode(s + p, len - p, &adv);
        cls = cp_class(c, &sc);
        if (cls != CP_SEP)
            break;
        p += adv;
    }
    if (p >= len) {
        *pos = p;
        return 0;
    }
    unsigned seen[TP_SC_COUNT + 1] = {0};
    t->off = p;
    t->nlen = 0;
    tok_append(t, c);
    seen[sc]++;
    p += adv;
    while (cls == CP_WORD && p < len) {
        c = s[p] < 0x80 ? (adv = 1, s[p]) : utf8_decode(s + p, len - p, &adv);
        if (c == '_' && joins_word(s, len, p + 1)) { /* snake_case is one word */
            tok_append(t, c);
            p++;
            continue;
        }
        if (cp_class(c, &sc) != CP_WORD)
            break;
        tok_append(t, c);
        seen[sc]++;
        p += adv;
    }
    t->len = p - t->off;
    t->norm[t->nlen] = '\0';
    t->script = cls == CP_SINGLE ? TP_SC_CJK : tok_script(seen);
    *pos = p;
    return 1;
}

/* ---- languages and stopwords ------------------------------------------ */

int tp_lang_count(void) { return TP_NLANG; }

int tp_lang_find(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < TP_NLANG; i++)
        if (strcmp(name, tp_langs[i].name) == 0 || strcmp(name, tp_langs[i].code) == 0)
            return i;
    if (strcmp(name, "nb") == 0 || strcmp(name, "nn") == 0)
        return tp_lang_find("no");
    return -1;
}

const char *tp_lang_name(int lang)
{
    return lang >= 0 && lang < TP_NLANG ? tp_langs[lang].name : "none";
}

const char *tp_lang_code(int lang)
{
    return lang >= 0 && lang < TP_NLANG ? tp_langs[lang].code : "und";
}

tp_script tp_lang_script(int lang)
{
    return lang >= 0 && lang < TP_NLANG ? tp_langs[lang].script : TP_SC_OTHER;
}

tp_langset tp_langset_all(void) { return (((tp_langset)1) << TP_NLANG) - 1; }

int tp_lang_english(void) { return tp_lang_find("english"); }

static uint32_t tp_hash(const char *s, size_t n, uint32_t seed)
{
    uint32_t h = 2166136261u ^ seed;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h ^ (h >> 15);
}

/* word -> bit set of the languages listing it, built once. */
#define SW_SLOTS 8192
typedef struct sw_slot {
    const char *w;
    uint32_t n;
    tp_langset langs;
} sw_slot;
static sw_slot sw_table[SW_SLOTS];

static void sw_add(const char *w, size_t n, int lang)
{
    uint32_t i = tp_hash(w, n, 0) & (SW_SLOTS - 1);
    while (sw_table[i].w && !(sw_table[i].n == n && memcmp(sw_table[i].w, w, n) == 0))
        i = (i + 1) & (SW_SLOTS - 1);
    sw_table[i].w = w;
    sw_table[i].n = (uint32_t)n;
    sw_table[i].langs |= ((tp_langset)1) << lang;
}

/* Built when the object is loaded, before any thread can call in, so
 * lookups need no synchronisation at all. */
__attribute__((constructor)) static void sw_build(void)
{
    for (int l = 0; l < TP_NLANG; l++) {
        const char *p = tp_langs[l].stop;
        while (*p) {
            size_t n = strcspn(p, " ");
            if (n)
                sw_add(p, n, l);
            p += n;
            p += *p == ' ';
        }
    }
}

static tp_langset sw_langs(const char *w, size_t n)
{
    uint32_t i = tp_hash(w, n, 0) & (SW_SLOTS - 1);
    while (sw_table[i].w) {
        if (sw_table[i].n == n && memcmp(sw_table[i].w, w, n) == 0)
            return sw_table[i].langs;
        i = (i + 1) & (SW_SLOTS - 1);
    }
    return 0;
}

int tp_is_stopword(int lang, const char *w, size_t n)
{
    if (lang < 0 || lang >= TP_NLANG)
        return 0;
    return (sw_langs(w, n) >> lang) & 1;
}

static int first_lang_of_script(tp_script sc, tp_langset enabled)
{
    int any = -1;
    for (int l = 0; l < TP_NLANG; l++) {
        if (tp_langs[l].script != sc)
            continue;
        if ((enabled >> l) & 1)
            return l;
        if (any < 0)
            any = l;
    }
    if (sc == TP_SC_CYRILLIC)
        return tp_lang_find("russian");
    return any;
}

int tp_script_lang(tp_script sc, tp_langset enabled)
{
    return sc == TP_SC_LATIN || sc == TP_SC_DIGIT ? -1 : first_lang_of_script(sc, enabled);
}

int tp_latin_langs(tp_langset enabled)
{
    int n = 0;
    for (int l = 0; l < TP_NLANG; l++)
        n += tp_langs[l].script == TP_SC_LATIN && ((enabled >> l) & 1);
    return n;
}

static int pick_latin(const unsigned *hits, tp_langset enabled, int fallback,
                      int *confident)
{
    int best = fallback;
    unsigned best_n = fallback >= 0 ? hits[fallback] : 0;
    for (int l = 0; l < TP_NLANG; l++) {
        if (tp_langs[l].script == TP_SC_LATIN && ((enabled >> l) & 1) && hits[l] > best_n) {
            best = l;
            best_n = hits[l];
        }
    }
    *confident = best_n > 0;
    return best;
}

void tp_detect(const char *text, size_t len, tp_langset enabled,
               int fallback_latin, tp_langinfo *out)
{
    unsigned hits[TP_NLANG] = {0}, scripts[TP_SC_COUNT] = {0};
    int n_latin_langs = tp_latin_langs(enabled);
    tp_token t;
    size_t pos = 0;
    for (int i = 0; i < TP_DETECT_MAX_TOKENS && tp_next_token(text, len, &pos, &t); i++) {
        scripts[t.script]++;
        if (t.script != TP_SC_LATIN || n_latin_langs < 2)
            continue;
        tp_langset m = sw_langs(t.norm, t.nlen) & enabled;
        for (int l = 0; m; l++, m >>= 1)
            hits[l] += (unsigned)(m & 1);
    }
    out->latin = pick_latin(hits, enabled, fallback_latin, &out->confident);
    tp_script main_sc = TP_SC_LATIN;
    for (int s = TP_SC_LATIN; s < TP_SC_COUNT; s++)
        if (scripts[s] > scripts[main_sc])
            main_sc = (tp_script)s;
    out->main = main_sc == TP_SC_LATIN ? out->latin : tp_script_lang(main_sc, enabled);
}

/* ---- stemming ---------------------------------------------------------- */

#define SC_SLOTS 65536u          /* stem cache slots (power of two) */
#define SC_ARENA (2u << 20)      /* bytes of cached words and stems */

typedef struct sc_slot {
    uint32_t hash, off;          /* off: word then stem in the arena */
    uint8_t lang, wlen, slen, used;
} sc_slot;

struct tp_analyzer {
    tp_langset enabled;
    int script_lang[TP_SC_COUNT];
    struct sb_stemmer *stem[sizeof tp_langs / sizeof tp_langs[0]];
    unsigned char tried[sizeof tp_langs / sizeof tp_langs[0]];
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
    for (int l = 0; l < TP_NLANG; l++)
        sb_stemmer_delete(a->stem[l]);
    free(a->slots);
    free(a->arena);
    free(a);
}

int tp_token_lang(const tp_analyzer *a, const tp_token *t, int latin)
{
    if (t->script == TP_SC_LATIN)
        return latin >= 0 && latin < TP_NLANG && ((a->enabled >> latin) & 1) ? latin : -1;
    return a->script_lang[t->script];
}

static struct sb_stemmer *stemmer_for(tp_analyzer *a, int lang)
{
    if (!a->tried[lang]) {
        a->tried[lang] = 1;
        a->stem[lang] = sb_stemmer_new(tp_langs[lang].name, "UTF_8");
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
