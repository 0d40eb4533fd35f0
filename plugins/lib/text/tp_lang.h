/*
 * tp_lang — the languages (the Snowball algorithms, identified by a small
 * int), their stopwords, and what language a text is in. Thread-safe.
 */
#ifndef RK_TEXT_TP_LANG_H
#define RK_TEXT_TP_LANG_H

#include "tp_token.h"

#define TP_MAX_LANGS 64 /* bits of a tp_langset */
typedef uint64_t tp_langset; /* bit (1 << lang) */

int tp_lang_count(void);
/* "english", "en" (case-sensitive, lower case) -> id; -1 if unknown. */
int tp_lang_find(const char *name_or_code);
const char *tp_lang_name(int lang); /* "english" */
const char *tp_lang_code(int lang); /* "en" */
tp_script tp_lang_script(int lang);
tp_langset tp_langset_all(void);
int tp_lang_english(void); /* id of english, the default Latin language */

/* The language written in script sc (russian for Cyrillic, ...), preferring
 * enabled ones; -1 if none (Latin: ask tp_detect). */
int tp_script_lang(tp_script sc, tp_langset enabled);
/* How many enabled languages use the Latin script. */
int tp_latin_langs(tp_langset enabled);

/* Is the lower-cased word a stopword of lang? (lang < 0: never) */
int tp_is_stopword(int lang, const char *w, size_t n);

/* What a text is written in. main: the language of most of its letters
 * (the Latin language or, say, russian); latin: the language used to stem
 * its Latin-script tokens; confident: the Latin guess rests on stopwords
 * (otherwise latin is fallback_latin). */
typedef struct tp_langinfo {
    int main;
    int latin;
    int confident;
} tp_langinfo;

void tp_detect(const char *text, size_t len, tp_langset enabled,
               int fallback_latin, tp_langinfo *out);

#endif
