/*
 * extract_csv — a third-party-style extractor, built against the SDK
 * headers alone, that the host must use for its type without any core
 * change: text/csv (".csv", alias "application/csv") becomes one line of
 * text per row with the cells joined by " | ", and the first row (the
 * header) is the title. Rows are streamed to the sink one at a time, so a
 * document arrives in many pieces. Bytes that are not CSV text (a NUL)
 * are refused with RK_ERR_INVALID; a deadline that has passed is met with
 * RK_ERR_TIMEOUT. It needs nothing beyond ABI 1.1 and has no state.
 */
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

typedef struct xc {
    const rk_host *host;
} xc;

static const rk_extract_format formats[] = {
    {"text/csv", ".csv", "application/csv"},
    {NULL, NULL, NULL},
};

/* One row (no trailing newline) into out as "a | b | c\n". */
static int row(const rk_extract_sink *out, const char *s, size_t n, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 4 < cap; i++) {
        if (s[i] == ',') {
            memcpy(buf + o, " | ", 3);
            o += 3;
        } else if (s[i] != '"' && s[i] != '\r') {
            buf[o++] = s[i];
        }
    }
    buf[o++] = '\n';
    return out->text(out->ud, buf, o);
}

static int xc_extract(void *ctx, const rk_extract_request *rq, const rk_extract_sink *out,
                      rk_err *err)
{
    xc *x = ctx;
    const char *d = rq->data, *end = d + rq->len;
    char buf[4096];
    if (memchr(d, '\0', rq->len)) return rk_fail(err, RK_ERR_INVALID, "not CSV text (NUL byte)");
    if (rq->deadline_ms > 0 && x->host->now_ms() >= rq->deadline_ms)
        return rk_fail(err, RK_ERR_TIMEOUT, "CSV extraction ran out of time");
    for (int first = 1; d < end; first = 0) {
        const char *nl = memchr(d, '\n', (size_t)(end - d));
        size_t n = nl ? (size_t)(nl - d) : (size_t)(end - d);
        int rc = first ? out->title(out->ud, d, n) : RK_OK;
        if (rc == RK_OK) rc = row(out, d, n, buf, sizeof buf);
        if (rc != RK_OK) return rk_fail(err, rc, "sink refused a row");
        d += n + (nl ? 1 : 0);
    }
    return RK_OK;
}

static int xc_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    xc *x = calloc(1, sizeof *x);
    if (!x) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    x->host = host;
    *ctx = x;
    return RK_OK;
}

static void xc_destroy(void *ctx) { free(ctx); }

static const rk_extractor_vtable vtable = {
    .struct_size = sizeof(rk_extractor_vtable),
    .formats = formats,
    .sniff = NULL,
    .extract = xc_extract,
};

static const rk_plugin desc = {
    RK_PLUGIN_HEADER,
    .kind = RK_KIND_EXTRACTOR,
    .name = "extract_csv",
    .version = "0.1.0",
    .description = "test: CSV rows as lines of text",
    .create = xc_create,
    .destroy = xc_destroy,
    .vtable = &vtable,
};

RK_PLUGIN_DEFINE(desc)
