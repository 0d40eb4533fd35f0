/*
 * analyze — chunks and queries to index terms, on top of textproc.
 *
 * A chunk becomes a "bag": its distinct stems with their frequencies,
 * encoded as a blob (varint length, bytes, varint tf, repeated) that is
 * stored beside the chunk in SQLite and replayed into the in-memory index
 * at start-up and when the chunk is replaced.
 *
 * Threads: an_bagger and the tp_analyzer passed in belong to one thread at
 * a time; everything else is reentrant.
 */
#ifndef RK_RETRIEVER_SQLITE_ANALYZE_H
#define RK_RETRIEVER_SQLITE_ANALYZE_H

#include <stddef.h>
#include <stdint.h>

#include "textproc.h"

/* Bumped whenever the terms a text yields change: stored bags of an older
 * version are recomputed when the database is opened. */
#define AN_VERSION 2 /* 2: snake_case words are one token */

typedef struct an_buf {
    uint8_t *p;
    size_t len, cap;
} an_buf;

int an_buf_reserve(an_buf *b, size_t more); /* 0 or -1 (no memory) */
void an_buf_free(an_buf *b);

typedef struct an_opts {
    tp_langset enabled;
    int default_latin;    /* Latin language when stopwords do not decide */
    uint32_t title_weight; /* a title token counts this many times */
} an_opts;

typedef struct an_chunk_info {
    int main;    /* language of most of the text (tp lang id, -1 unknown) */
    int latin;   /* language its Latin-script words were stemmed as */
    uint32_t dl; /* length in tokens, title included (weighted) */
} an_chunk_info;

typedef struct an_bagger an_bagger;
an_bagger *an_bagger_new(void);
void an_bagger_free(an_bagger *b);

/* Analyse one chunk into out (replacing its content). hint: ISO 639-1 or
 * Snowball name of the language, or NULL to detect. latin_in >= 0 forces
 * the Latin language (used when re-analysing stored chunks). 0 or -1. */
int an_chunk(tp_analyzer *a, an_bagger *b, const an_opts *o, const char *title,
             const char *text, const char *hint, int latin_in,
             an_chunk_info *info, an_buf *out);

/* Walk a bag: 1 and the next term, 0 at the end, -1 if corrupt. */
typedef struct an_iter {
    const uint8_t *p, *end;
} an_iter;
int an_next(an_iter *it, const char **term, uint32_t *len, uint32_t *tf);

/* One distinct query term. */
typedef struct an_qterm {
    char s[TP_MAX_TOKEN + 1];
    uint32_t n;
    uint32_t qtf; /* occurrences in the query */
} an_qterm;

/* Stems of a query, distinct, in query order, stopwords dropped unless the
 * query has nothing else. Returns how many were written (<= cap). */
size_t an_query(tp_analyzer *a, const char *text, int latin, an_qterm *out,
                size_t cap);

#endif
