/*
 * extract — plain text out of the text formats the extract_text plugin
 * reads: plain text, Markdown (extract_md.c: markup noise removed, link
 * text and code kept), HTML (extract_html.c: tags, scripts, styles and
 * comments dropped, entities decoded, block elements as paragraph breaks).
 * Output text is normalised as textnorm.h says.
 */
#ifndef RK_EXTRACT_TEXT_EXTRACT_H
#define RK_EXTRACT_TEXT_EXTRACT_H

#include <stddef.h>
#include <stdint.h>

#include <ragkernel/error.h>

#include "strbuf.h"
#include "textnorm.h"

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
/* tn_utf8_clean into b, then the ratio check: RK_ERR_INVALID "not
 * UTF-8 text", RK_ERR_NOMEM, or RK_OK. */
int extract_clean_checked(const char *data, size_t len, strbuf *b, rk_err *err);
/* Normalise raw into out->text (out->title is kept); on failure frees out
 * and returns RK_ERR_NOMEM. */
int extract_finish(const strbuf *raw, int collapse, extract_out *out, rk_err *err);

#endif
