/*
 * tp_stem — stemming tokens with the Snowball algorithm of their script.
 * A tp_analyzer is used by one thread at a time (it owns libstemmer state
 * and a stem cache).
 */
#ifndef RK_TEXT_TP_STEM_H
#define RK_TEXT_TP_STEM_H

#include "tp_lang.h"
#include "tp_token.h"

typedef struct tp_analyzer tp_analyzer;

/* enabled: languages whose stemmers may be used (others: lower-case only). */
tp_analyzer *tp_analyzer_new(tp_langset enabled);
void tp_analyzer_free(tp_analyzer *a);

/* The language whose stemmer and stopwords apply to token t when the text's
 * Latin language is latin: Latin -> latin, Cyrillic -> russian, Greek ->
 * greek, ...; -1 for digits, unsupported scripts and disabled languages. */
int tp_token_lang(const tp_analyzer *a, const tp_token *t, int latin);

/* Stem t into out (TP_MAX_TOKEN + 1 bytes, NUL-terminated); returns the
 * length. Tokens without a stemmer are copied as they are. */
size_t tp_stem(tp_analyzer *a, const tp_token *t, int latin, char *out);

#endif
