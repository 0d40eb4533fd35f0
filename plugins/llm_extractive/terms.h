/*
 * terms — turns text into the set of its content terms: words lower-cased,
 * stopwords dropped, stemmed (English for Latin script, Russian for
 * Cyrillic), so "capitals" matches "capital" and "столицей" matches
 * "столица".
 */
#ifndef RK_LLM_EXTRACTIVE_TERMS_H
#define RK_LLM_EXTRACTIVE_TERMS_H

#include <stddef.h>

typedef struct terms terms; /* one thread at a time: owns stemmer state */

terms *terms_new(void);
void terms_free(terms *t);

/* A sorted set of distinct terms. */
typedef struct term_set {
    char **v;
    size_t n, cap;
} term_set;

/* Add the content terms of text[0..len) to set; returns the number of
 * content words seen (repeats included), or -1 when out of memory. */
long terms_collect(terms *t, const char *text, size_t len, term_set *set);
int term_set_has(const term_set *set, const char *term);
/* term_set_has, plus for Cyrillic stems of 3+ letters a stem that is one
 * letter longer or shorter: Snowball's Russian stemmer cuts some forms of
 * a word one letter shorter than others (музеи -> муз, музеев -> музе). */
int term_set_match(const term_set *set, const char *term);
void term_set_free(term_set *set);

/* 1 if text has more Cyrillic than Latin letters (the answer's language). */
int terms_is_russian(const char *text);
/* The same for len bytes of text (no NUL needed). */
int terms_is_russian_n(const char *text, size_t len);

/* Words separated by white space: a rough token count for usage. */
long terms_count_words(const char *text);

#endif
