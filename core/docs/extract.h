/*
 * extract — plain text out of the text formats ragkernel ingests: UTF-8
 * cleaning, Markdown (extract_md.c: markup noise removed, link text and
 * code kept), HTML (extract_html.c: tags, scripts, styles and comments
 * dropped, entities decoded, block elements as paragraph breaks) and the
 * final normalisation every format (PDF too) goes through. Output text has
 * lines joined by "\n" and paragraphs separated by exactly one blank line
 * ("\n\n"), with no leading or trailing blank lines.
 */
#ifndef RK_CORE_EXTRACT_H
#define RK_CORE_EXTRACT_H

#include <stddef.h>
#include <stdint.h>

#include <ragkernel/error.h>

#include "strbuf.h"

#define EXTRACT_TITLE_MAX 200 /* bytes, cut at a UTF-8 boundary */
/* More invalid bytes than 1 in EXTRACT_BAD_RATIO means "not UTF-8 text". */
#define EXTRACT_BAD_RATIO 10

/* The extracted text (owned, NUL-terminated, normalised as above) and the
 * title (owned; NULL when the format gave none: the caller falls back to
 * the first line, then the filename). */
typedef struct extract_out {
    char *text;
    char *title;
} extract_out;

void extract_out_free(extract_out *o);

/* Valid UTF-8 from arbitrary bytes: a leading BOM is dropped, CR LF and CR
 * become LF, NUL and other C0 controls (except TAB, LF, FF) are dropped,
 * and each byte that does not start a valid sequence becomes U+FFFD.
 * *bad (may be NULL) receives the number of replaced bytes. Appends to out. */
void extract_utf8_clean(const char *in, size_t len, strbuf *out, size_t *bad);

/* 1 when s[0..len) is valid UTF-8 without NUL bytes. */
int extract_utf8_valid(const char *s, size_t len);

/* Each takes the raw upload bytes and costs O(len) time and memory, whatever
 * the bytes. RK_OK; RK_ERR_INVALID when the bytes are not UTF-8 text (over
 * the ratio above); RK_ERR_NOMEM. */
int extract_plain(const char *data, size_t len, extract_out *out, rk_err *err);
/* In extract_md.c. */
int extract_markdown(const char *data, size_t len, extract_out *out, rk_err *err);
/* In extract_html.c. */
int extract_html(const char *data, size_t len, extract_out *out, rk_err *err);

/* The same with a time budget: past deadline_ms (extract_now_ms's clock;
 * 0 = none) they stop and return RK_ERR_TIMEOUT. Checked every few hundred
 * lines or tags, so they overrun it by microseconds, not by the document. */
int extract_markdown_until(const char *data, size_t len, int64_t deadline_ms,
                           extract_out *out, rk_err *err);
int extract_html_until(const char *data, size_t len, int64_t deadline_ms, extract_out *out,
                       rk_err *err);

/* CLOCK_MONOTONIC in ms. */
int64_t extract_now_ms(void);
/* RK_OK before deadline_ms (or when it is 0), else RK_ERR_TIMEOUT. */
int extract_in_time(int64_t deadline_ms, rk_err *err);

/* Shared by the format extractors (extract_html.c too). */
/* extract_utf8_clean into b, then the ratio check: RK_ERR_INVALID "not
 * UTF-8 text", RK_ERR_NOMEM, or RK_OK. */
int extract_clean_checked(const char *data, size_t len, strbuf *b, rk_err *err);
/* Normalise raw into out->text (out->title is kept); on failure frees out
 * and returns RK_ERR_NOMEM. */
int extract_finish(const strbuf *raw, int collapse, extract_out *out, rk_err *err);
/* Appends code point cp as UTF-8 (invalid ones as U+FFFD). */
void extract_put_cp(strbuf *b, unsigned long cp);

/* The final pass (see the top of this file). collapse != 0 also squeezes
 * runs of spaces and tabs inside lines and trims line starts (HTML, PDF
 * layout output). FF is a paragraph break. Returns an owned string or NULL
 * (out of memory). */
char *extract_normalize(const char *s, size_t len, int collapse);

/* The first non-empty line of text, trimmed and cut to EXTRACT_TITLE_MAX
 * bytes; NULL when text has none (or out of memory). */
char *extract_first_line(const char *text);

/* Trimmed copy of s[0..len) cut to EXTRACT_TITLE_MAX bytes at a UTF-8
 * boundary; NULL when empty after trimming. */
char *extract_title_dup(const char *s, size_t len);

/* Length of the longest prefix of s[0..len) that is at most max bytes and
 * does not end inside a UTF-8 sequence. */
size_t extract_utf8_cut(const char *s, size_t len, size_t max);

#endif
