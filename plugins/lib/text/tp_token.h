/*
 * tp_token — UTF-8 text to word tokens: lower-cased, each with its script.
 * Thread-safe (no state).
 */
#ifndef RK_TEXT_TP_TOKEN_H
#define RK_TEXT_TP_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TP_MAX_TOKEN 96 /* bytes of a normalised token; longer ones are cut */

typedef enum tp_script {
    TP_SC_DIGIT = 0, /* digits only: never stemmed */
    TP_SC_LATIN,
    TP_SC_CYRILLIC,
    TP_SC_GREEK,
    TP_SC_ARABIC,
    TP_SC_ARMENIAN,
    TP_SC_DEVANAGARI,
    TP_SC_TAMIL,
    TP_SC_HEBREW,
    TP_SC_CJK,  /* one ideograph or kana per token */
    TP_SC_OTHER,
    TP_SC_COUNT
} tp_script;

typedef struct tp_token {
    size_t off, len;              /* where the token is in the source text */
    char norm[TP_MAX_TOKEN + 1];  /* lower-cased, NUL-terminated */
    size_t nlen;
    tp_script script;
} tp_token;

/* Next token at or after *pos in text[0..len). Returns 1 and fills *t, or 0
 * at the end. *pos advances past the token. */
int tp_next_token(const char *text, size_t len, size_t *pos, tp_token *t);

/* FNV-1a of s[0..n) with a seed, finished for use as a table index: the
 * hash of tp_lang's stopword table and tp_stem's cache. */
uint32_t tp_hash(const char *s, size_t n, uint32_t seed);

#endif
