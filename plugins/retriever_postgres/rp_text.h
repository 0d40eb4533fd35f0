/*
 * rp_text — what retriever_postgres decides on the client side: the text
 * search configuration a chunk is analysed with, the OR-query text built
 * from a question's words, the case-folding table the server applies
 * before analysis, and putting the server's headline back onto the
 * original text. Thread-safe (no state).
 */
#ifndef RK_RETRIEVER_POSTGRES_RP_TEXT_H
#define RK_RETRIEVER_POSTGRES_RP_TEXT_H

#include <stddef.h>

#define RP_MAX_TERMS 32    /* distinct query words sent to the server */
#define RP_QUERY_MAX 8192  /* bytes of to_tsquery input */
#define RP_FOLD_MAX 1024   /* bytes of each translate() argument */
#define RP_MARK_START '\002' /* headline markers: never '**', which */
#define RP_MARK_STOP '\003'  /* documents contain (Markdown bold) */

/* "english", "russian" or "simple" for a chunk: the hint ("en", "ru",
 * "english", ...) when it names one of these, "simple" for any other
 * hint, else what the text is mostly written in. */
const char *rp_chunk_config(const char *text, const char *hint);

/* The query's distinct words (letters and digits only, as typed, at most
 * RP_MAX_TERMS) as to_tsquery input "'w1' | 'w2' | ...", written into
 * out[cap]. Returns the number of words (0: nothing to search for).
 * *other_script is set when a word is in a script neither the english nor
 * the russian configuration stems, so the caller adds 'simple'. */
size_t rp_query_text(const char *text, char *out, size_t cap, int *other_script);

/* The two translate() arguments (NUL-terminated UTF-8, no quotes or
 * backslashes) that lower-case, character for character, the capitals
 * lower() leaves alone in a database with LC_CTYPE=C: Latin-1, Latin
 * Extended-A, Greek and Cyrillic. */
void rp_fold_sets(char from[RP_FOLD_MAX], char to[RP_FOLD_MAX]);

/* The headline hl (made from the folded body, matches between
 * RP_MARK_START and RP_MARK_STOP) rebuilt over the original body with
 * "**" marks; at is the 1-based character position of the unmarked
 * headline in the folded body (0 or a mismatch: the folded text is used).
 * Returns a malloc'd string, NULL on no memory. */
char *rp_snippet(const char *body, const char *hl, long at);

#endif
