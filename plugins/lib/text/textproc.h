/*
 * textproc — text analysis shared by retrieval and extractive answering:
 * a UTF-8 tokenizer with Unicode-aware lower-casing (Latin, Greek,
 * Cyrillic with ё→е, Armenian), per-token script, stopword lists used both
 * to drop query words and to guess the language of Latin-script text, and
 * Snowball stemming (libstemmer) chosen per token by its script.
 *
 * Depends on libc and libstemmer only, so any plugin may compile it in
 * (PLUGIN_SRCS_<name> := plugins/lib/text/textproc.c in its plugin.mk).
 *
 * Threads: everything is thread-safe except a tp_analyzer, which one thread
 * uses at a time (it owns libstemmer state and a stem cache).
 */
#ifndef RK_RETRIEVER_SQLITE_TEXTPROC_H
#define RK_RETRIEVER_SQLITE_TEXTPROC_H

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

/* ---- languages: the Snowball algorithms, identified by a small int ---- */
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

/* ---- stemming -------------------------------------------------------- */
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
