/*
 * textnorm — UTF-8 cleaning and the paragraph normalisation every
 * extracted document goes through, shared by the core (the final pass over
 * whatever an extractor plugin produced, titles, file names) and the
 * extractor plugins (which clean and normalise as they parse). Output of
 * tn_normalize has lines joined by "\n" and paragraphs separated by
 * exactly one blank line ("\n\n"), with no leading or trailing blank lines.
 * All of it is linear in the input and thread-safe.
 */
#ifndef RK_COMMON_TEXTNORM_H
#define RK_COMMON_TEXTNORM_H

#include <stddef.h>

#include "strbuf.h"

#define TN_TITLE_MAX 200 /* bytes, cut at a UTF-8 boundary */

/* Valid UTF-8 from arbitrary bytes: a leading BOM is dropped, CR LF and CR
 * become LF, NUL and other C0 controls (except TAB, LF, FF) are dropped,
 * and each byte that does not start a valid sequence becomes U+FFFD.
 * *bad (may be NULL) receives the number of replaced bytes. Appends to out. */
void tn_utf8_clean(const char *in, size_t len, strbuf *out, size_t *bad);

/* 1 when s[0..len) is valid UTF-8 without NUL bytes. */
int tn_utf8_valid(const char *s, size_t len);

/* Length of the longest prefix of s[0..len) that is at most max bytes and
 * does not end inside a UTF-8 sequence. */
size_t tn_utf8_cut(const char *s, size_t len, size_t max);

/* Appends code point cp as UTF-8 (invalid ones, NUL too, as U+FFFD). */
void tn_put_cp(strbuf *b, unsigned long cp);

/* The normalisation above. collapse != 0 also squeezes runs of spaces and
 * tabs inside lines and trims line starts (HTML, PDF layout output). FF is
 * a paragraph break. Returns an owned string or NULL (out of memory). */
char *tn_normalize(const char *s, size_t len, int collapse);

/* Trimmed copy of s[0..len), white space as single spaces, cut to
 * TN_TITLE_MAX bytes at a UTF-8 boundary; NULL when empty after trimming
 * (or out of memory). */
char *tn_title_dup(const char *s, size_t len);

/* The first non-empty line of text as tn_title_dup makes it; NULL when
 * text has none (or out of memory). */
char *tn_first_line(const char *text);

#endif
