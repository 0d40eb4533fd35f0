/*
 * rp_text — owns the client-side text decisions of retriever_postgres. The
 * server does the stemming (its snowball configurations), but it cannot
 * guess a language, so each chunk's configuration is chosen here with
 * retriever_sqlite's detector (script first, then stopwords), limited to
 * the two stemmed configurations we rely on: english and russian (russian
 * also stems ASCII words with the english stemmer, so Russian text with
 * English terms in it is handled). Everything else goes to 'simple'
 * rather than to a stemmer for another language.
 *
 * Questions become an OR of their words because an AND (plainto_ or
 * websearch_to_tsquery) finds nothing as soon as one word of a question is
 * missing from the chunk; ranking then prefers chunks that cover more of
 * the words. Words come from our own tokenizer and are kept only if they
 * are letters and digits, so quoting each makes the to_tsquery input safe
 * whatever the user typed.
 *
 * Case: text search lower-cases with the database's LC_CTYPE, and under
 * LC_CTYPE=C (common, and what initdb --locale=C gives) that is ASCII only,
 * so "Документ" and "документ" would be different lexemes. The server
 * therefore folds text with lower() plus a translate() table from here
 * before analysing it — documents and queries alike. The table maps one
 * character to one character, which is what lets rp_snippet put a
 * headline computed on the folded text back onto the original.
 */
#include "rp_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "textproc.h"
#include "utf8.h"

static const char *config_of(int lang)
{
    const char *name = lang >= 0 ? tp_lang_name(lang) : NULL;
    if (name && (strcmp(name, "english") == 0 || strcmp(name, "russian") == 0))
        return name;
    return "simple";
}

const char *rp_chunk_config(const char *text, const char *hint)
{
    if (hint && *hint)
        return config_of(tp_lang_find(hint));
    int en = tp_lang_english(), ru = tp_lang_find("russian");
    tp_langset enabled = ((tp_langset)1 << en) | ((tp_langset)1 << ru);
    tp_langinfo li;
    tp_detect(text ? text : "", text ? strlen(text) : 0, enabled, en, &li);
    return config_of(li.main);
}

/* ---- query ------------------------------------------------------------ */

/* Letters and digits only: ASCII alphanumerics or UTF-8 multibyte
 * sequences (the tokenizer already split at punctuation there). */
static int plain_word(const char *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        if (c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9')))
            return 0;
    }
    return n > 0;
}

size_t rp_query_text(const char *text, char *out, size_t cap, int *other_script)
{
    char seen[RP_MAX_TERMS][TP_MAX_TOKEN + 1];
    if (!text)
        text = ""; /* tokens point into it: never NULL + offset */
    size_t used = 0, terms = 0, pos = 0, len = strlen(text);
    tp_token t;
    *other_script = 0;
    if (cap)
        out[0] = '\0';
    while (terms < RP_MAX_TERMS && tp_next_token(text, len, &pos, &t)) {
        const char *w = text + t.off;
        int dup = 0;
        for (size_t i = 0; i < terms && !dup; i++)
            dup = strcmp(seen[i], t.norm) == 0;
        if (dup || t.len > TP_MAX_TOKEN || !plain_word(w, t.len))
            continue;
        if (used + t.len + 6 > cap)
            break;
        if (terms)
            memcpy(out + used, " | ", 3), used += 3;
        out[used++] = '\'';
        memcpy(out + used, w, t.len);
        used += t.len;
        out[used++] = '\'';
        out[used] = '\0';
        memcpy(seen[terms++], t.norm, t.nlen + 1);
        if (t.script != TP_SC_LATIN && t.script != TP_SC_CYRILLIC && t.script != TP_SC_DIGIT)
            *other_script = 1;
    }
    return terms;
}

/* ---- folding ---------------------------------------------------------- */

static uint32_t fold_cp(uint32_t c)
{
    if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) ||
        (c >= 0x410 && c <= 0x42F))
        return c + 0x20;
    if (c >= 0x400 && c <= 0x40F)
        return c + 0x50;
    if (((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) && !(c & 1) && c != 0x130)
        return c + 1;
    if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) && (c & 1))
        return c + 1;
    if (c == 0x178)
        return 0xFF;
    if (c == 0x386)
        return 0x3AC; /* Greek capitals with tonos */
    if (c >= 0x388 && c <= 0x38A)
        return c + 37;
    if (c == 0x38C)
        return 0x3CC;
    if (c == 0x38E || c == 0x38F)
        return c + 63;
    return c;
}

void rp_fold_sets(char from[RP_FOLD_MAX], char to[RP_FOLD_MAX])
{
    size_t n = 0, m = 0;
    for (uint32_t c = 0xC0; c < 0x430 && n + 3 < RP_FOLD_MAX; c++) {
        uint32_t l = fold_cp(c);
        if (l == c)
            continue;
        n += utf8_put(from + n, c);
        m += utf8_put(to + m, l);
    }
    from[n] = '\0';
    to[m] = '\0';
}

/* ---- headline --------------------------------------------------------- */

static size_t cp_len(const char *s)
{
    unsigned char c = (unsigned char)*s;
    size_t n = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    for (size_t i = 1; i < n; i++)
        if (!s[i])
            return i; /* truncated sequence: stop at the NUL */
    return n;
}

static int is_mark(char c) { return c == RP_MARK_START || c == RP_MARK_STOP; }

/* Copy hl with the marks as "**", characters taken from src when it is
 * not NULL (the original text), else from hl itself. 0, or -1 when src
 * ran out (the positions did not line up). */
static int rebuild(const char *hl, const char *src, char *out)
{
    size_t o = 0;
    for (const char *h = hl; *h;) {
        if (is_mark(*h)) {
            memcpy(out + o, "**", 2), o += 2, h++;
            continue;
        }
        size_t hn = cp_len(h);
        const char *from = src ? src : h;
        size_t fn = src ? cp_len(src) : hn;
        if (!*from)
            return -1;
        memcpy(out + o, from, fn), o += fn;
        h += hn;
        if (src)
            src += fn;
    }
    out[o] = '\0';
    return 0;
}

char *rp_snippet(const char *body, const char *hl, long at)
{
    size_t bl = strlen(body), hlen = strlen(hl);
    char *out = malloc(bl + 2 * hlen + 1);
    if (!out)
        return NULL;
    const char *src = body;
    for (long i = 1; at > 0 && i < at && *src; i++)
        src += cp_len(src);
    if (at > 0 && *src && rebuild(hl, src, out) == 0)
        return out;
    rebuild(hl, NULL, out);
    return out;
}
