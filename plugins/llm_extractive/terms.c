/*
 * terms — a small tokenizer for extractive answering: UTF-8 decoding,
 * lower-casing for Latin and Cyrillic (ё folded to е, as the Russian
 * stopword list and most texts write it), Snowball stopwords and libstemmer
 * stemming chosen per word by its script. It deliberately knows only the
 * two languages the answer messages exist in; other scripts pass through
 * lower-cased and unstemmed, which still lets exact words match. Stopword
 * lookup is a substring search in a space-delimited list: the lists are
 * short and the texts (a handful of passages) small, so a table would buy
 * nothing.
 */
#include "terms.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

#include <libstemmer.h>

#include "utf8.h"

#define WORD_MAX 96

struct terms {
    struct sb_stemmer *en, *ru;
};

/* Snowball's lists, plus a few question words. */
static const char stop_en[] =
    " i me my myself we our ours ourselves you your yours yourself yourselves"
    " he him his himself she her hers herself it its itself they them their"
    " theirs themselves what which who whom this that these those am is are"
    " was were be been being have has had having do does did doing would"
    " should could ought a an the and but if or because as until while of at"
    " by for with about against between into through during before after"
    " above below to from up down in out on off over under again further then"
    " once here there when where why how all any both each few more most other"
    " some such no nor not only own same so than too very can will just don"
    " now s t also may might must shall tell please there's what's it's ";

static const char stop_ru[] =
    " и в во не что он на я с со как а то все она так его но да ты к у же вы"
    " за бы по только ее мне было вот от меня еще нет о из ему теперь когда"
    " даже ну вдруг ли если уже или ни быть был него до вас нибудь опять уж"
    " вам ведь там потом себя ничего ей может они тут где есть надо ней для"
    " мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж"
    " тогда кто этот того потому этого какой совсем ним здесь этом один почти"
    " мой тем чтобы нее сейчас были куда зачем всех никогда можно при наконец"
    " два об другой хоть после над больше тот через эти нас про всего них"
    " какая много разве три эту моя впрочем хорошо свою этой перед иногда"
    " лучше чуть том нельзя такой им более всегда конечно всю между это как"
    " каков какова каково какие скажи расскажи ";

terms *terms_new(void)
{
    terms *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    /* a missing algorithm only disables stemming for that script */
    t->en = sb_stemmer_new("english", "UTF_8");
    t->ru = sb_stemmer_new("russian", "UTF_8");
    return t;
}

void terms_free(terms *t)
{
    if (!t)
        return;
    if (t->en)
        sb_stemmer_delete(t->en);
    if (t->ru)
        sb_stemmer_delete(t->ru);
    free(t);
}

/* Decode one code point at s[i]; invalid bytes decode as U+FFFD, length 1. */
static size_t utf8_next(const unsigned char *s, size_t len, size_t i, uint32_t *cp)
{
    unsigned char c = s[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > len) {
        *cp = 0xFFFD;
        return 1;
    }
    uint32_t v = n == 1 ? c : n == 2 ? (c & 0x1Fu) : n == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (size_t k = 1; k < n; k++) {
        if ((s[i + k] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = (v << 6) | (s[i + k] & 0x3Fu);
    }
    *cp = v;
    return n;
}

enum { CH_NONE, CH_DIGIT, CH_LATIN, CH_CYRILLIC, CH_MARK };

/* Class of cp and its lower-case form. */
static int fold(uint32_t cp, uint32_t *lower)
{
    *lower = cp;
    if (cp >= '0' && cp <= '9')
        return CH_DIGIT;
    if ((cp >= 'a' && cp <= 'z'))
        return CH_LATIN;
    if (cp >= 'A' && cp <= 'Z') {
        *lower = cp + 32;
        return CH_LATIN;
    }
    if (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) {
        if (cp <= 0xDE)
            *lower = cp + 32;
        else if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177))
            *lower = cp | 1u;
        else if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
            *lower = (cp & 1u) ? cp + 1 : cp;
        return CH_LATIN;
    }
    if (cp >= 0x400 && cp <= 0x4FF) {
        if (cp <= 0x40F)
            *lower = cp + 0x50;
        else if (cp <= 0x42F)
            *lower = cp + 0x20;
        else if (cp >= 0x460 && !(cp & 1u))
            *lower = cp + 1;
        if (*lower == 0x451)
            *lower = 0x435; /* ё -> е */
        return CH_CYRILLIC;
    }
    if (cp >= 0x300 && cp <= 0x36F)
        return CH_MARK; /* combining accents (Russian stress marks): skip */
    return CH_NONE;
}

/* The stopword lists as open-addressing hash sets of (offset, length) in
 * their strings, built once: a word is looked up in O(its length), not by
 * a scan of the whole list (which cost 14% of a /chat request's CPU). */
#define STOP_SLOTS 1024 /* power of two, over 4x the longer list */

typedef struct stopset {
    uint16_t off[STOP_SLOTS];
    uint8_t len[STOP_SLOTS]; /* 0 = empty slot */
} stopset;

static stopset g_stop_en, g_stop_ru;
static pthread_once_t g_stop_once = PTHREAD_ONCE_INIT;

static uint32_t word_hash(const char *w, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)w[i]) * 16777619u;
    return h;
}

static void stop_build(stopset *set, const char *list, size_t len)
{
    for (size_t i = 0; i < len;) {
        while (i < len && list[i] == ' ')
            i++;
        size_t j = i;
        while (j < len && list[j] != ' ')
            j++;
        if (j > i) {
            uint32_t k = word_hash(list + i, j - i) & (STOP_SLOTS - 1);
            while (set->len[k])
                k = (k + 1) & (STOP_SLOTS - 1);
            set->off[k] = (uint16_t)i;
            set->len[k] = (uint8_t)(j - i);
        }
        i = j;
    }
}

static void stop_init(void)
{
    stop_build(&g_stop_en, stop_en, sizeof stop_en - 1);
    stop_build(&g_stop_ru, stop_ru, sizeof stop_ru - 1);
}

static int is_stopword(int ru, const char *w, size_t n)
{
    pthread_once(&g_stop_once, stop_init);
    const stopset *set = ru ? &g_stop_ru : &g_stop_en;
    const char *list = ru ? stop_ru : stop_en;
    for (uint32_t k = word_hash(w, n) & (STOP_SLOTS - 1); set->len[k];
         k = (k + 1) & (STOP_SLOTS - 1))
        if (set->len[k] == n && memcmp(list + set->off[k], w, n) == 0)
            return 1;
    return 0;
}

_Static_assert(sizeof stop_ru < 65536 && sizeof stop_en < 65536, "offsets are 16-bit");

static int set_add(term_set *set, const char *term)
{
    size_t lo = 0, hi = set->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(set->v[mid], term);
        if (c == 0)
            return 0;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        char **v = realloc(set->v, cap * sizeof *v);
        if (!v)
            return -1;
        set->v = v;
        set->cap = cap;
    }
    char *copy = strdup(term);
    if (!copy)
        return -1;
    memmove(set->v + lo + 1, set->v + lo, (set->n - lo) * sizeof *set->v);
    set->v[lo] = copy;
    set->n++;
    return 0;
}

/* Stopword test, stemming and insertion of one lower-cased word. Returns 1
 * if it was a content word, 0 if dropped, -1 when out of memory. */
static int add_word(terms *t, const char *w, size_t n, int cyr, int latin,
                    term_set *set)
{
    if (latin && !cyr && n == 1)
        return 0;
    if (is_stopword(cyr, w, n))
        return 0;
    struct sb_stemmer *st = cyr ? t->ru : latin ? t->en : NULL;
    char term[WORD_MAX + 4];
    memcpy(term, w, n);
    term[n] = '\0';
    if (st) {
        const sb_symbol *s = sb_stemmer_stem(st, (const sb_symbol *)w, (int)n);
        int sn = s ? sb_stemmer_length(st) : -1;
        if (sn > 0 && (size_t)sn <= WORD_MAX) {
            memcpy(term, s, (size_t)sn);
            term[sn] = '\0';
        }
    }
    return set_add(set, term) == 0 ? 1 : -1;
}

long terms_collect(terms *t, const char *text, size_t len, term_set *set)
{
    const unsigned char *s = (const unsigned char *)text;
    char w[WORD_MAX + 4];
    size_t wn = 0;
    int cyr = 0, latin = 0;
    long words = 0;
    for (size_t i = 0; i <= len;) {
        uint32_t cp = 0, lower;
        size_t adv = i < len ? utf8_next(s, len, i, &cp) : 1;
        int cls = i < len ? fold(cp, &lower) : CH_NONE;
        i += adv;
        if (cls == CH_MARK)
            continue;
        if (cls == CH_NONE && cp == '_' && wn && i < len) { /* snake_case: one word */
            uint32_t next, nl;
            utf8_next(s, len, i, &next);
            int nc = fold(next, &nl);
            if (nc != CH_NONE && nc != CH_MARK) {
                cls = CH_LATIN;
                lower = '_';
            }
        }
        if (cls != CH_NONE) {
            if (wn + 3 <= WORD_MAX) /* longer words are cut, not split */
                wn += utf8_put(w + wn, lower);
            cyr |= cls == CH_CYRILLIC;
            latin |= cls == CH_LATIN;
            continue;
        }
        if (wn) {
            int r = add_word(t, w, wn, cyr, latin, set);
            if (r < 0)
                return -1;
            words += r;
        }
        wn = 0;
        cyr = latin = 0;
    }
    return words;
}

int term_set_has(const term_set *set, const char *term)
{
    size_t lo = 0, hi = set->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(set->v[mid], term);
        if (c == 0)
            return 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

int term_set_match(const term_set *set, const char *term)
{
    if (term_set_has(set, term))
        return 1;
    unsigned char c0 = (unsigned char)term[0];
    if ((c0 != 0xD0 && c0 != 0xD1) || utf8_chars(term) < 3)
        return 0;
    size_t len = strlen(term);
    /* the set has term minus its last letter */
    char shorter[WORD_MAX + 4];
    size_t cut = len;
    while (cut > 0 && ((unsigned char)term[cut - 1] & 0xC0) == 0x80)
        cut--;
    if (cut > 0 && utf8_chars(term) > 3 && len < sizeof shorter) {
        memcpy(shorter, term, cut - 1);
        shorter[cut - 1] = '\0';
        if (term_set_has(set, shorter))
            return 1;
    }
    /* the set has term plus one letter: it sorts right after term */
    size_t lo = 0, hi = set->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(set->v[mid], term) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < set->n && strncmp(set->v[lo], term, len) == 0; lo++)
        if (utf8_chars(set->v[lo] + len) == 1)
            return 1;
    return 0;
}

void term_set_free(term_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        free(set->v[i]);
    free(set->v);
    memset(set, 0, sizeof *set);
}

int terms_is_russian(const char *text) { return terms_is_russian_n(text, strlen(text)); }

int terms_is_russian_n(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    long cyr = 0, latin = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp, lower;
        i += utf8_next(s, len, i, &cp);
        int cls = fold(cp, &lower);
        cyr += cls == CH_CYRILLIC;
        latin += cls == CH_LATIN;
    }
    return cyr > latin;
}

long terms_count_words(const char *text)
{
    long n = 0;
    int in = 0;
    for (const char *p = text; *p; p++) {
        int space = *p == ' ' || *p == '\n' || *p == '\t' || *p == '\r';
        n += !space && !in;
        in = !space;
    }
    return n;
}
