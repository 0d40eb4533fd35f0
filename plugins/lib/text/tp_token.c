/*
 * tp_token — owns the step from raw UTF-8 to word tokens: decoding (an
 * invalid sequence is one U+FFFD, never a reason to stop), the class of
 * each code point (part of a word, a word on its own as CJK ideographs
 * are, or a separator), Unicode-aware lower-casing (Latin, Greek, Cyrillic
 * with ё folded to е so both spellings match, Armenian) and the script of
 * each token, which decides its stemmer downstream (tp_stem): real
 * documents mix scripts, and an English acronym inside Russian prose must
 * not go through the Russian stemmer. libc only.
 */
#include "tp_token.h"

#include <string.h>

#include "utf8.h"

uint32_t tp_hash(const char *s, size_t n, uint32_t seed)
{
    uint32_t h = 2166136261u ^ seed;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h ^ (h >> 15);
}

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
    size_t n = utf8_put(buf, cp_lower(c));
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
