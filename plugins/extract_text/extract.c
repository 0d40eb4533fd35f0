/*
 * extract — turns uploaded text formats into the plain UTF-8 text that is
 * chunked and indexed. Retrieval only needs the words a reader would see,
 * so markup is removed rather than rendered: Markdown loses its heading
 * hashes, emphasis markers, link URLs and fences (but keeps link text and
 * code), HTML loses tags, scripts, styles and comments (and gains paragraph
 * breaks at block elements). Bytes that are not UTF-8 are replaced with
 * U+FFFD (textnorm.h) instead of failing the upload; only input that is
 * mostly invalid (more than 1 byte in EXTRACT_BAD_RATIO) is refused as "not
 * UTF-8 text". All scanners are linear and bounded, since the input comes
 * straight from clients. Markdown (extract_md.c) and HTML (extract_html.c)
 * have files of their own on top of the helpers and the plain-text
 * extractor here; extract_text.c is the plugin around them.
 */
#include "extract.h"

#include <stdlib.h>
#include <time.h>

void extract_out_free(extract_out *o)
{
    if (!o) return;
    free(o->text);
    free(o->title);
    o->text = o->title = NULL;
}

int extract_clean_checked(const char *data, size_t len, strbuf *b, rk_err *err)
{
    size_t bad = 0;
    tn_utf8_clean(data, len, b, &bad);
    if (b->oom) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    if (bad > 0 && bad * EXTRACT_BAD_RATIO > len)
        return rk_fail(err, RK_ERR_INVALID, "not UTF-8 text (%zu of %zu bytes invalid)",
                       bad, len);
    return RK_OK;
}

int extract_finish(const strbuf *raw, int collapse, extract_out *out, rk_err *err)
{
    if (raw->oom || !(out->text = tn_normalize(sb_str(raw), raw->len, collapse))) {
        extract_out_free(out);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    return RK_OK;
}

int extract_plain(const char *data, size_t len, extract_out *out, rk_err *err)
{
    strbuf b = {0};
    *out = (extract_out){0};
    int rc = extract_clean_checked(data, len, &b, err);
    if (rc == RK_OK) rc = extract_finish(&b, 0, out, err);
    sb_free(&b);
    return rc;
}

int64_t extract_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int extract_in_time(int64_t deadline_ms, rk_err *err)
{
    if (deadline_ms > 0 && extract_now_ms() >= deadline_ms)
        return rk_fail(err, RK_ERR_TIMEOUT, "text extraction ran out of time");
    return RK_OK;
}
