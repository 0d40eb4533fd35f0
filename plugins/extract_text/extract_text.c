/*
 * extract_text — the extractor plugin for the text formats: plain text,
 * Markdown and HTML (extract.c, extract_md.c, extract_html.c). It has no
 * state and no config: an instance is a name the pipeline can list. The
 * host's deadline is turned into this module's own monotonic clock once
 * per call, so the scanners' cheap checks (every few hundred lines or
 * tags) need no host call.
 */
#include <ragkernel/ragkernel.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "extract.h"

typedef struct xt {
    const rk_host *host;
} xt;

static const char T_PLAIN[] = "text/plain";
static const char T_MD[] = "text/markdown";
static const char T_HTML[] = "text/html";

static const rk_extract_format formats[] = {
    {T_PLAIN, ".txt .text", NULL},
    {T_MD, ".md .markdown", "text/x-markdown"},
    {T_HTML, ".html .htm", "application/xhtml+xml"},
    {NULL, NULL, NULL},
};

/* "<!doctype html" or "<html" after an optional BOM and white space. */
static const char *xt_sniff(void *ctx, const void *head, size_t len)
{
    (void)ctx;
    const char *d = head;
    size_t i = len >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    while (i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n')) i++;
    if ((len - i >= 14 && strncasecmp(d + i, "<!doctype html", 14) == 0) ||
        (len - i >= 5 && strncasecmp(d + i, "<html", 5) == 0))
        return T_HTML;
    return NULL;
}

static int xt_extract(void *ctx, const rk_extract_request *rq, const rk_extract_sink *out,
                      rk_err *err)
{
    xt *x = ctx;
    extract_out ex = {0};
    const char *type = rq->content_type ? rq->content_type : T_PLAIN;
    int64_t left = rq->deadline_ms > 0 ? rq->deadline_ms - x->host->now_ms() : 0;
    int64_t deadline = rq->deadline_ms > 0 ? extract_now_ms() + (left > 0 ? left : 0) : 0;
    if (deadline && left <= 0) deadline = 1; /* already past: any check fails */
    int rc;
    if (strcmp(type, T_MD) == 0) rc = extract_markdown_until(rq->data, rq->len, deadline, &ex, err);
    else if (strcmp(type, T_HTML) == 0) rc = extract_html_until(rq->data, rq->len, deadline, &ex, err);
    else rc = extract_plain(rq->data, rq->len, &ex, err);
    if (rc == RK_OK) rc = out->text(out->ud, ex.text, strlen(ex.text));
    if (rc == RK_OK && ex.title) rc = out->title(out->ud, ex.title, strlen(ex.title));
    if (rc != RK_OK && !err->msg[0]) rk_fail(err, rc, "%s", rk_strerror(rc));
    extract_out_free(&ex);
    return rc;
}

static int xt_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    (void)self;
    xt *x = calloc(1, sizeof *x);
    if (!x) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    x->host = host;
    *ctx = x;
    return RK_OK;
}

static void xt_destroy(void *ctx) { free(ctx); }

static const rk_extractor_vtable vtable = {
    .struct_size = sizeof(rk_extractor_vtable),
    .formats = formats,
    .sniff = xt_sniff,
    .extract = xt_extract,
};

static const rk_plugin desc = {
    RK_PLUGIN_HEADER,
    .kind = RK_KIND_EXTRACTOR,
    .name = "extract_text",
    .version = "1.0.0",
    .description = "plain text, Markdown and HTML uploads to indexable text",
    .config = NULL,
    .create = xt_create,
    .destroy = xt_destroy,
    .vtable = &vtable,
};

RK_PLUGIN_DEFINE(desc)
