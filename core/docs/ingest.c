/*
 * ingest — the front of document upload: decides what an upload is,
 * extracts its text, titles it and chunks it, before anything is stored,
 * so that a file we cannot read is refused with a precise 415/422 instead
 * of being stored and silently unsearchable. PDF text comes from poppler's
 * pdftotext in a confined child process (pdftext.h). Every upload runs
 * under a time budget (pipeline.ingest_timeout), checked inside the
 * extractors and around each step, so no document holds a worker longer
 * than that whatever its bytes. The limits are process-wide, like the
 * worker pool they protect: ingest_configure replaces them at start and on
 * reload under a mutex, and each upload works on its own copy.
 */
#define _GNU_SOURCE
#include "ingest.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "extract.h"

static const char T_PLAIN[] = "text/plain";
static const char T_MD[] = "text/markdown";
static const char T_HTML[] = "text/html";
static const char T_PDF[] = "application/pdf";
static const char SUPPORTED[] = "text/plain, text/markdown, text/html, application/pdf";

/* The current limits; prog points into prog_buf. */
static pthread_mutex_t limits_mu = PTHREAD_MUTEX_INITIALIZER;
static char prog_buf[PATH_MAX] = INGEST_PDFTOTEXT;
static ingest_limits limits = {
    .timeout_ms = INGEST_TIMEOUT_MS,
    .pdf = {.prog = prog_buf, .timeout_ms = INGEST_TIMEOUT_MS,
            .max_memory = INGEST_PDF_MAX_MEMORY, .max_parallel = INGEST_PDF_MAX_PARALLEL,
            .queue_timeout_ms = INGEST_PDF_QUEUE_MS},
};

static const struct {
    const char *name;
    const char *type;
} known_types[] = {
    {"text/plain", T_PLAIN}, {"text/markdown", T_MD}, {"text/x-markdown", T_MD},
    {"text/html", T_HTML}, {"application/xhtml+xml", T_HTML},
    {"application/pdf", T_PDF}, {"application/x-pdf", T_PDF},
};

static const struct {
    const char *ext;
    const char *type;
} known_exts[] = {
    {"txt", T_PLAIN}, {"text", T_PLAIN}, {"md", T_MD}, {"markdown", T_MD},
    {"html", T_HTML}, {"htm", T_HTML}, {"pdf", T_PDF},
};

/* ---- content type ---------------------------------------------------- */

/* "Text/HTML; charset=utf-8" -> its canonical type; NULL if unknown. */
static const char *canon_type(const char *given, size_t *len)
{
    while (*given == ' ' || *given == '\t') given++;
    size_t n = strcspn(given, "; \t");
    *len = n;
    for (size_t i = 0; i < sizeof known_types / sizeof *known_types; i++)
        if (strlen(known_types[i].name) == n && strncasecmp(given, known_types[i].name, n) == 0)
            return known_types[i].type;
    return NULL;
}

/* Type from the filename's extension; *has_ext says whether it had one. */
static const char *ext_type(const char *filename, int *has_ext)
{
    *has_ext = 0;
    if (!filename) return NULL;
    const char *base = strrchr(filename, '/');
    base = base ? base + 1 : filename;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base || !dot[1]) return NULL;
    *has_ext = 1;
    for (size_t i = 0; i < sizeof known_exts / sizeof *known_exts; i++)
        if (strcasecmp(dot + 1, known_exts[i].ext) == 0) return known_exts[i].type;
    return NULL;
}

static const char *sniff_type(const char *d, size_t len)
{
    size_t head = len < 1024 ? len : 1024;
    if (memmem(d, head, "%PDF-", 5)) return T_PDF;
    size_t i = len >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    while (i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n')) i++;
    if ((len - i >= 14 && strncasecmp(d + i, "<!doctype html", 14) == 0) ||
        (len - i >= 5 && strncasecmp(d + i, "<html", 5) == 0))
        return T_HTML;
    return NULL;
}

const char *ingest_content_type(const char *given, const char *filename,
                                const void *data, size_t len)
{
    int has_ext;
    const char *by_ext = ext_type(filename, &has_ext);
    if (!data) data = "", len = 0;
    if (given && *given) {
        size_t n;
        const char *t = canon_type(given, &n);
        /* text/plain is what many clients send for any text file: a more
         * specific extension wins over it. */
        if (t == T_PLAIN && by_ext && by_ext != T_PDF) return by_ext;
        if (t) return t;
        if (n != 0 && !(n == 24 && strncasecmp(given + strspn(given, " \t"), "application/octet-stream", 24) == 0))
            return NULL;
    }
    if (by_ext) return by_ext;
    const char *sniffed = sniff_type(data, len);
    if (sniffed) return sniffed;
    if (!has_ext && extract_utf8_valid(data, len)) return T_PLAIN;
    return NULL;
}

/* ---- limits ------------------------------------------------------------- */

int ingest_configure(const ingest_limits *l, rk_err *err)
{
    const char *prog = l->pdf.prog;
    if (!prog || prog[0] != '/' || strlen(prog) >= sizeof prog_buf)
        return rk_fail(err, RK_ERR_CONFIG, "pipeline.pdftotext must be an absolute path, got '%s'",
                       prog ? prog : "");
    if (l->timeout_ms < 1 || l->pdf.max_parallel < 1 || l->pdf.max_memory < 0 ||
        l->pdf.queue_timeout_ms < 0)
        return rk_fail(err, RK_ERR_CONFIG, "ingest limits out of range");
    pthread_mutex_lock(&limits_mu);
    snprintf(prog_buf, sizeof prog_buf, "%s", prog);
    limits = *l;
    limits.pdf.prog = prog_buf;
    pthread_mutex_unlock(&limits_mu);
    return RK_OK;
}

/* A copy of the current limits whose prog lives in buf (PATH_MAX bytes). */
static ingest_limits limits_now(char *buf)
{
    pthread_mutex_lock(&limits_mu);
    ingest_limits l = limits;
    memcpy(buf, prog_buf, sizeof prog_buf);
    pthread_mutex_unlock(&limits_mu);
    l.pdf.prog = buf;
    return l;
}

static int over_budget(const ingest_limits *l, const char *what, rk_err *err)
{
    return rk_fail(err, RK_ERR_TIMEOUT, "%s took longer than pipeline.ingest_timeout (%lld ms)",
                   what, (long long)l->timeout_ms);
}

/* ---- the whole step ---------------------------------------------------- */

static int extract_pdf(const void *data, size_t len, ingest_limits *l, int64_t deadline,
                       extract_out *out, rk_err *err)
{
    strbuf raw = {0}, clean = {0};
    *out = (extract_out){0};
    int64_t left = deadline - extract_now_ms();
    l->pdf.timeout_ms = left > 0 ? left : 1;
    int rc = pdftext_run(&l->pdf, data, len, &raw, err);
    if (rc == RK_OK) {
        extract_utf8_clean(sb_str(&raw), raw.len, &clean, NULL);
        rc = extract_finish(&clean, 1, out, err); /* -layout pads with spaces */
    }
    sb_free(&raw);
    sb_free(&clean);
    return rc == RK_ERR_TIMEOUT ? over_budget(l, "PDF text extraction", err) : rc;
}

static int extract_as(const char *type, const void *data, size_t len, ingest_limits *l,
                      int64_t deadline, extract_out *ex, rk_err *err)
{
    int rc;
    if (type == T_PDF) return extract_pdf(data, len, l, deadline, ex, err);
    if (type == T_MD) rc = extract_markdown_until(data, len, deadline, ex, err);
    else if (type == T_HTML) rc = extract_html_until(data, len, deadline, ex, err);
    else rc = extract_plain(data, len, ex, err);
    if (rc == RK_OK && extract_in_time(deadline, err) != RK_OK) {
        extract_out_free(ex);
        rc = RK_ERR_TIMEOUT;
    }
    return rc == RK_ERR_TIMEOUT ? over_budget(l, "text extraction", err) : rc;
}

static char *pick_title(char *given, const char *text, const char *filename)
{
    if (given) return given;
    char *t = extract_first_line(text);
    if (!t && filename) {
        const char *base = strrchr(filename, '/');
        base = base ? base + 1 : filename;
        t = extract_title_dup(base, strlen(base));
    }
    return t ? t : strdup("untitled");
}

int ingest_run(const void *data, size_t len, const char *filename,
               const char *content_type, ingest_doc *out, rk_err *err)
{
    extract_out ex = {0};
    char prog[PATH_MAX];
    ingest_limits lim = limits_now(prog);
    int64_t deadline = extract_now_ms() + lim.timeout_ms;
    *out = (ingest_doc){0};
    if (!data) data = "", len = 0;
    const char *type = ingest_content_type(content_type, filename, data, len);
    if (!type) {
        const char *shown = content_type && *content_type ? content_type
                                                          : "application/octet-stream";
        return rk_fail(err, RK_ERR_UNSUPPORTED, "unsupported content type '%s'%s%s%s; supported: %s",
                       shown, filename ? " (" : "", filename ? filename : "",
                       filename ? ")" : "", SUPPORTED);
    }
    int rc = extract_as(type, data, len, &lim, deadline, &ex, err);
    if (rc != RK_OK) goto fail;
    if (strlen(ex.text) > INGEST_MAX_TEXT) {
        rc = rk_fail(err, RK_ERR_TOO_LARGE, "extracted text over %u bytes", INGEST_MAX_TEXT);
        goto fail;
    }
    if (ex.text[0] == '\0') {
        rc = rk_fail(err, RK_ERR_INVALID, "no text could be extracted");
        goto fail;
    }
    out->content_type = type;
    out->title = pick_title(ex.title, ex.text, filename);
    ex.title = NULL;
    out->text = ex.text;
    ex.text = NULL;
    if (!out->title ||
        chunk_text(out->text, strlen(out->text), CHUNK_TARGET_BYTES, CHUNK_OVERLAP_BYTES,
                   &out->chunks) != 0) {
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (extract_in_time(deadline, err) != RK_OK) {
        rc = over_budget(&lim, "chunking the text", err);
        goto fail;
    }
    return RK_OK;
fail:
    extract_out_free(&ex);
    ingest_doc_free(out);
    return rc;
}

void ingest_doc_free(ingest_doc *d)
{
    if (!d) return;
    free(d->title);
    free(d->text);
    chunk_list_free(&d->chunks);
    *d = (ingest_doc){0};
}

int ingest_http_status(int status)
{
    switch (status) {
    case RK_OK: return 200;
    case RK_ERR_UNSUPPORTED: return 415;
    case RK_ERR_INVALID:
    case RK_ERR_TIMEOUT: return 422;
    case RK_ERR_TOO_LARGE: return 413;
    case RK_ERR_UNAVAILABLE: return 503;
    default: return 500;
    }
}
