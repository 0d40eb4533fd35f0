/*
 * ingest — the front of document upload: decides which extractor reads an
 * upload, runs it, titles and chunks the text, before anything is stored,
 * so that a file we cannot read is refused with a precise 415/422 instead
 * of being stored and silently unsearchable. Formats live in extractor
 * plugins; what stays here is what every format needs and no plugin should
 * be trusted with: the choice between them (the same precedence for every
 * deployment), the upload's time budget (pipeline.ingest_timeout, checked
 * around each step and passed to the extractor as its deadline), a cap on
 * the text an extractor may hand over, and one last cleaning pass
 * (textnorm.h) so the index only ever holds valid, normalised UTF-8
 * whichever plugin produced it.
 */
#define _GNU_SOURCE
#include "ingest.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gate.h"
#include "log.h"
#include "loop.h"
#include "strbuf.h"
#include "textnorm.h"

static const char T_PLAIN[] = "text/plain";

/* ---- the set ----------------------------------------------------------- */

static int is_extractor(const rk_instance *in)
{
    return in && in->plugin && in->plugin->kind == RK_KIND_EXTRACTOR;
}

ingest_set *ingest_set_of(rk_instance *const *ex, size_t n, int64_t timeout_ms)
{
    ingest_set *s = calloc(1, sizeof *s);
    if (!s || (n && !(s->ex = calloc(n, sizeof *s->ex)))) {
        free(s);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (is_extractor(ex[i])) s->ex[s->n++] = ex[i];
    s->timeout_ms = timeout_ms > 0 ? timeout_ms : INGEST_TIMEOUT_MS;
    return s;
}

ingest_set *ingest_set_new(const registry *r, rk_err *err)
{
    const cfg_values *p = r->conf->pipeline;
    size_t listed = cfg_values_count(p, "extractors");
    rk_instance **ex = calloc(r->n + listed + 1, sizeof *ex);
    size_t n = 0;
    if (!ex) {
        rk_fail(err, RK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < listed; i++) {
        const char *name = cfg_values_item(p, "extractors", i);
        if (!(ex[n++] = registry_get_kind(r, name, RK_KIND_EXTRACTOR))) {
            free(ex);
            rk_fail(err, RK_ERR_CONFIG, "pipeline.extractors: '%s' is not an extractor instance",
                    name ? name : "");
            return NULL;
        }
    }
    for (size_t i = 0; !listed && i < r->n; i++)
        if (is_extractor(r->inst[i])) ex[n++] = r->inst[i];
    ingest_set *s = ingest_set_of(ex, n, cfg_values_int(p, "ingest_timeout"));
    free(ex);
    if (!s) rk_fail(err, RK_ERR_NOMEM, "out of memory");
    else if (!s->n)
        log_warn("documents", "no extractor instance is declared: every upload will be "
                              "refused with 415 (declare extract_text and extract_pdf instances)");
    return s;
}

void ingest_set_free(ingest_set *s)
{
    if (!s) return;
    free(s->ex);
    free(s);
}

/* ---- which extractor --------------------------------------------------- */

static const rk_extract_format *formats_of(const rk_instance *in)
{
    const rk_extractor_vtable *vt = gate_vtable(in);
    return vt->formats;
}

/* 1 when the space-separated `list` holds w[0..n), case ignored. */
static int list_has(const char *list, const char *w, size_t n)
{
    for (const char *p = list; p && *p;) {
        p += strspn(p, " ");
        size_t k = strcspn(p, " ");
        if (k == n && k && strncasecmp(p, w, n) == 0) return 1;
        p += k;
    }
    return 0;
}

typedef enum { BY_TYPE, BY_EXT } match_by;

/* The first format of the set that has w[0..n) as its type (or alias) or
 * among its extensions. */
static int find(const ingest_set *s, match_by by, const char *w, size_t n, ingest_pick *out)
{
    for (size_t i = 0; s && i < s->n; i++)
        for (const rk_extract_format *f = formats_of(s->ex[i]); f && f->content_type; f++) {
            int hit = by == BY_TYPE ? (strlen(f->content_type) == n &&
                                       strncasecmp(f->content_type, w, n) == 0) ||
                                          list_has(f->aliases, w, n)
                                    : list_has(f->extensions, w, n);
            if (!hit) continue;
            *out = (ingest_pick){s->ex[i], f->content_type};
            return 1;
        }
    return 0;
}

/* The format whose canonical type an extractor's sniff returned. */
static int sniffed(const ingest_set *s, const void *data, size_t len, ingest_pick *out)
{
    size_t head = len < RK_EXTRACT_SNIFF_MAX ? len : RK_EXTRACT_SNIFF_MAX;
    for (size_t i = 0; s && i < s->n; i++) {
        const char *t = GATE_CALL(s->ex[i], rk_extractor_vtable, sniff, (const char *)NULL,
                                  data, head);
        for (const rk_extract_format *f = formats_of(s->ex[i]); t && f && f->content_type; f++)
            if (strcmp(f->content_type, t) == 0) {
                *out = (ingest_pick){s->ex[i], f->content_type};
                return 1;
            }
    }
    return 0;
}

/* The extension of filename's last component, dot included ("" if none). */
static const char *ext_of(const char *filename)
{
    if (!filename) return "";
    const char *base = strrchr(filename, '/');
    base = base ? base + 1 : filename;
    const char *dot = strrchr(base, '.');
    return dot && dot != base && dot[1] ? dot : "";
}

int ingest_pick_for(const ingest_set *s, const char *given, const char *filename,
                    const void *data, size_t len, ingest_pick *out)
{
    const char *ext = ext_of(filename);
    ingest_pick by_ext = {0};
    int have_ext = *ext && find(s, BY_EXT, ext, strlen(ext), &by_ext);
    if (!data) data = "", len = 0;
    if (given && *given) {
        given += strspn(given, " \t");
        size_t n = strcspn(given, "; \t");
        /* text/plain is what many clients send for any text file: a more
         * specific text/ type named by the extension wins over it */
        if (n == 10 && strncasecmp(given, T_PLAIN, n) == 0 && have_ext &&
            strncmp(by_ext.type, "text/", 5) == 0) {
            *out = by_ext;
            return 1;
        }
        if (find(s, BY_TYPE, given, n, out)) return 1;
        if (n != 0 && !(n == 24 && strncasecmp(given, "application/octet-stream", 24) == 0))
            return 0;
    }
    if (have_ext) {
        *out = by_ext;
        return 1;
    }
    if (sniffed(s, data, len, out)) return 1;
    return !*ext && tn_utf8_valid(data, len) && find(s, BY_TYPE, T_PLAIN, 10, out);
}

/* "unsupported content type 'image/png' (photo.png): no extractor handles
 * it; supported: text/plain, ..." */
static int unsupported(const ingest_set *s, const char *given, const char *filename,
                       rk_err *err)
{
    strbuf b = {0};
    for (size_t i = 0; s && i < s->n; i++)
        for (const rk_extract_format *f = formats_of(s->ex[i]); f && f->content_type; f++)
            sb_printf(&b, "%s%s", b.len ? ", " : "", f->content_type);
    const char *shown = given && *given ? given : "application/octet-stream";
    rk_fail(err, RK_ERR_UNSUPPORTED, "unsupported content type '%s'%s%s%s: no extractor "
            "handles it; %s%s", shown, filename ? " (" : "", filename ? filename : "",
            filename ? ")" : "", b.len ? "supported: " : "no extractor is configured",
            b.len ? sb_str(&b) : "");
    sb_free(&b);
    return RK_ERR_UNSUPPORTED;
}

/* ---- the whole step ---------------------------------------------------- */

/* What the extractor pushes (rk_extract_sink), capped. */
typedef struct collect {
    strbuf text;
    char *title;
    int capped; /* text() refused: over INGEST_MAX_TEXT */
} collect;

static int on_text(void *ud, const char *s, size_t len)
{
    collect *c = ud;
    if (len > INGEST_MAX_TEXT - c->text.len) {
        c->capped = 1;
        return RK_ERR_TOO_LARGE;
    }
    sb_append(&c->text, s, len);
    return c->text.oom ? RK_ERR_NOMEM : RK_OK;
}

static int on_title(void *ud, const char *s, size_t len)
{
    collect *c = ud;
    free(c->title);
    c->title = tn_title_dup(s, len); /* NULL when blank: the fallbacks apply */
    return RK_OK;
}

static int over_budget(int64_t budget_ms, const char *what, const char *type, rk_err *err)
{
    return rk_fail(err, RK_ERR_TIMEOUT, "%s%s took longer than pipeline.ingest_timeout "
                   "(%lld ms)", what, type ? type : "", (long long)budget_ms);
}

/* Run the chosen extractor into c; its errors keep their status. */
static int extract(int64_t budget, const ingest_pick *pk, const char *filename,
                   const void *data, size_t len, int64_t deadline, collect *c, rk_err *err)
{
    rk_extract_request rq = {.struct_size = sizeof rq, .content_type = pk->type,
                             .filename = filename, .data = data, .len = len,
                             .deadline_ms = deadline};
    rk_extract_sink sink = {.struct_size = sizeof sink, .ud = c, .text = on_text,
                            .title = on_title};
    err->msg[0] = '\0';
    int rc = GATE_CALL(pk->inst, rk_extractor_vtable, extract, RK_ERR_UNSUPPORTED, &rq, &sink,
                       err);
    if (rc == RK_ERR_TOO_LARGE && c->capped)
        return rk_fail(err, rc, "extracted text over %u bytes", INGEST_MAX_TEXT);
    if (rc == RK_ERR_TIMEOUT || (rc == RK_OK && clock_now_ms() >= deadline))
        return over_budget(budget, "extracting ", pk->type, err);
    if (rc != RK_OK && !err->msg[0])
        rk_fail(err, rc, "extractor '%s': %s", pk->inst->name, rk_strerror(rc));
    return rc > 0 ? RK_ERR_INTERNAL : rc;
}

/* The extractor's text cleaned and normalised into out, with a title. */
static int finish(collect *c, const char *filename, ingest_doc *out, rk_err *err)
{
    strbuf clean = {0};
    tn_utf8_clean(sb_str(&c->text), c->text.len, &clean, NULL);
    sb_free(&c->text);
    out->text = clean.oom ? NULL : tn_normalize(sb_str(&clean), clean.len, 0);
    sb_free(&clean);
    if (!out->text) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    if (out->text[0] == '\0') return rk_fail(err, RK_ERR_INVALID, "no text could be extracted");
    out->title = c->title ? c->title : tn_first_line(out->text);
    c->title = NULL;
    if (!out->title && filename) {
        const char *base = strrchr(filename, '/');
        base = base ? base + 1 : filename;
        out->title = tn_title_dup(base, strlen(base));
    }
    if (!out->title) out->title = strdup("untitled");
    if (!out->title) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    return RK_OK;
}

int ingest_run(const ingest_set *s, const void *data, size_t len, const char *filename,
               const char *content_type, ingest_doc *out, rk_err *err)
{
    collect c = {.title = NULL};
    ingest_pick pk;
    int64_t budget = s ? s->timeout_ms : INGEST_TIMEOUT_MS;
    int64_t deadline = clock_now_ms() + budget;
    *out = (ingest_doc){0};
    if (!data) data = "", len = 0;
    if (!ingest_pick_for(s, content_type, filename, data, len, &pk))
        return unsupported(s, content_type, filename, err);
    int rc = extract(budget, &pk, filename, data, len, deadline, &c, err);
    if (rc == RK_OK) rc = finish(&c, filename, out, err);
    if (rc == RK_OK && chunk_text(out->text, strlen(out->text), CHUNK_TARGET_BYTES,
                                  CHUNK_OVERLAP_BYTES, &out->chunks) != 0)
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
    if (rc == RK_OK && clock_now_ms() >= deadline)
        rc = over_budget(budget, "chunking the text", NULL, err);
    out->content_type = pk.type;
    sb_free(&c.text);
    free(c.title);
    if (rc != RK_OK) ingest_doc_free(out);
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
