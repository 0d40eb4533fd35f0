/*
 * extract_pdf — the extractor plugin for PDF: poppler's pdftotext run as a
 * confined child (pdftext.c) under the instance's limits and the host's
 * deadline, its layout output cleaned and normalised with white-space runs
 * squeezed (textnorm.h). The config is read and checked once, at create
 * (and by check for --check-config); a call only copies it. The cap on
 * children is process-wide (pdftext.c), so two instances share it and
 * each waits under its own max_parallel.
 */
#define _GNU_SOURCE
#include <ragkernel/ragkernel.h>

#include <stdlib.h>
#include <string.h>

#include "pdftext.h"
#include "textnorm.h"

#define PDF_MIN_MEMORY (32LL << 20) /* pdftotext needs about that to start */

typedef struct xp {
    const rk_host *host;
    char *prog; /* owned */
    pdftext_limits lim;
} xp;

static const rk_config_key keys[] = {
    {"program", RK_CFG_STRING, "/usr/bin/pdftotext", 0,
     "absolute path of poppler's pdftotext (no PATH lookup)"},
    {"max_memory", RK_CFG_SIZE, "512MB", 0,
     "address space of one pdftotext process (RLIMIT_AS; at least 32MB); its CPU time is "
     "limited to what is left of pipeline.ingest_timeout"},
    {"max_parallel", RK_CFG_INT, "2", 0, "pdftotext processes running at once (1..256)"},
    {"queue_timeout", RK_CFG_DURATION, "5s", 0,
     "how long an upload waits for one of them to finish, then 503 (retry later)"},
    {NULL, 0, NULL, 0, NULL}};

static const char T_PDF[] = "application/pdf";

static const rk_extract_format formats[] = {
    {T_PDF, ".pdf", "application/x-pdf"},
    {NULL, NULL, NULL},
};

/* The config into *l (prog borrowed from the host), or RK_ERR_CONFIG with
 * the key's file:line:col. */
static int read_limits(const rk_host *h, rk_instance *self, pdftext_limits *l, rk_err *err)
{
    char where[128];
    *l = (pdftext_limits){.prog = h->cfg_string(self, "program"),
                          .max_memory = h->cfg_int(self, "max_memory"),
                          .queue_timeout_ms = h->cfg_int(self, "queue_timeout")};
    int64_t par = h->cfg_int(self, "max_parallel");
    l->max_parallel = par >= 1 && par <= 256 ? (int)par : 0;
    if (!l->prog || l->prog[0] != '/')
        return rk_fail(err, RK_ERR_CONFIG,
                       "%s: program: must be an absolute path (it is not looked up in PATH), "
                       "got '%s'", h->cfg_where(self, "program", where, sizeof where),
                       l->prog ? l->prog : "");
    if (l->max_memory < PDF_MIN_MEMORY)
        return rk_fail(err, RK_ERR_CONFIG,
                       "%s: max_memory: must be at least 32MB (pdftotext needs about that to "
                       "start)", h->cfg_where(self, "max_memory", where, sizeof where));
    if (!l->max_parallel)
        return rk_fail(err, RK_ERR_CONFIG, "%s: max_parallel: must be between 1 and 256",
                       h->cfg_where(self, "max_parallel", where, sizeof where));
    if (l->queue_timeout_ms < 0)
        return rk_fail(err, RK_ERR_CONFIG, "%s: queue_timeout: must not be negative",
                       h->cfg_where(self, "queue_timeout", where, sizeof where));
    return RK_OK;
}

static const char *xp_sniff(void *ctx, const void *head, size_t len)
{
    (void)ctx;
    return memmem(head, len < 1024 ? len : 1024, "%PDF-", 5) ? T_PDF : NULL;
}

static int xp_extract(void *ctx, const rk_extract_request *rq, const rk_extract_sink *out,
                      rk_err *err)
{
    xp *x = ctx;
    pdftext_limits l = x->lim;
    strbuf raw = {0}, clean = {0};
    int64_t left = rq->deadline_ms > 0 ? rq->deadline_ms - x->host->now_ms() : 30000;
    l.timeout_ms = left > 0 ? left : 1;
    int rc = pdftext_run(&l, rq->data, rq->len, &raw, err);
    char *text = NULL;
    if (rc == RK_OK) {
        tn_utf8_clean(sb_str(&raw), raw.len, &clean, NULL);
        /* -layout pads columns with spaces: squeeze them */
        text = clean.oom ? NULL : tn_normalize(sb_str(&clean), clean.len, 1);
        rc = text ? out->text(out->ud, text, strlen(text))
                  : rk_fail(err, RK_ERR_NOMEM, "out of memory");
        if (rc != RK_OK && text) rk_fail(err, rc, "%s", rk_strerror(rc));
    }
    free(text);
    sb_free(&raw);
    sb_free(&clean);
    return rc;
}

static int xp_check(const rk_host *host, rk_instance *self, rk_err *err)
{
    pdftext_limits l;
    return read_limits(host, self, &l, err);
}

static int xp_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    pdftext_limits l;
    int rc = read_limits(host, self, &l, err);
    if (rc != RK_OK) return rc;
    xp *x = calloc(1, sizeof *x);
    if (!x || !(x->prog = strdup(l.prog))) {
        free(x);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    x->host = host;
    x->lim = l;
    x->lim.prog = x->prog;
    *ctx = x;
    return RK_OK;
}

static void xp_destroy(void *ctx)
{
    xp *x = ctx;
    if (!x) return;
    free(x->prog);
    free(x);
}

static const rk_extractor_vtable vtable = {
    .struct_size = sizeof(rk_extractor_vtable),
    .formats = formats,
    .sniff = xp_sniff,
    .extract = xp_extract,
};

static const rk_plugin desc = {
    RK_PLUGIN_HEADER,
    .kind = RK_KIND_EXTRACTOR,
    .name = "extract_pdf",
    .version = "1.0.0",
    .description = "PDF uploads to text through poppler's pdftotext in a confined child",
    .config = keys,
    .create = xp_create,
    .destroy = xp_destroy,
    .vtable = &vtable,
    .check = xp_check,
};

RK_PLUGIN_DEFINE(desc)
