/*
 * tp_lang — owns the language table (textproc_data.h: every Snowball
 * algorithm of libstemmer 2.x, its ISO code, script and stopwords), the
 * stopword lookup, and guessing the language of a text: script first, then
 * stopword counts among the Latin-script languages, since the script alone
 * tells Cyrillic from Latin but not English from French. The stopword
 * table is built once when the object is loaded, so lookups never lock.
 */
#include "tp_lang.h"

#include <string.h>

#include "textproc_data.h"

#define TP_NLANG ((int)(sizeof tp_langs / sizeof tp_langs[0]))
#define TP_DETECT_MAX_TOKENS 2000 /* enough to tell a language */

_Static_assert(sizeof tp_langs / sizeof tp_langs[0] <= TP_MAX_LANGS,
               "tp_langset has one bit per language");

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
