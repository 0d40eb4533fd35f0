/*
 * plugin_check_extract — the extractor contract of ragkernel-plugin-check
 * (extractor.h): the declared formats are well-formed (lower-case types
 * with a '/', extensions with a dot); sniff, when present, claims only
 * declared types; each format with a sample the checker knows (every
 * text/ type, PDF) yields text through the sink; bytes that are no text
 * at all give an error with a message instead of text or a crash; and a
 * deadline already past is met with RK_OK or RK_ERR_TIMEOUT, not a hang.
 * Formats without a known sample are named and skipped.
 */
#include <stdio.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

#include "loop.h"
#include "plugin_check.h"

#define SAMPLE_WORD "ragkernel"

/* One page saying "ragkernel"; pdftotext rebuilds the missing xref. */
static const char PDF_SAMPLE[] =
    "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    "2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    "3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 100]/Contents 4 0 R"
    "/Resources<</Font<</F1 5 0 R>>>>>>endobj\n"
    "4 0 obj<</Length 44>>stream\nBT /F1 18 Tf 20 40 Td (ragkernel) Tj ET\nendstream endobj\n"
    "5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\n"
    "trailer<</Root 1 0 R>>\n%%EOF\n";

typedef struct got {
    char text[512];
    size_t len;
    int calls;
} got;

static int on_text(void *ud, const char *s, size_t len)
{
    got *g = ud;
    size_t room = sizeof g->text - 1 - g->len;
    memcpy(g->text + g->len, s, len < room ? len : room);
    g->len += len < room ? len : room;
    g->text[g->len] = '\0';
    g->calls++;
    return RK_OK;
}

static int on_title(void *ud, const char *s, size_t len) { return RK_OK; }

static int run(const rk_extractor_vtable *vt, void *ctx, const char *type, const void *data,
               size_t len, int64_t deadline, got *g, rk_err *err)
{
    rk_extract_request rq = {.struct_size = sizeof rq, .content_type = type,
                             .filename = "sample", .data = data, .len = len,
                             .deadline_ms = deadline};
    rk_extract_sink sink = {.struct_size = sizeof sink, .ud = g, .text = on_text,
                            .title = on_title};
    memset(g, 0, sizeof *g);
    err->msg[0] = '\0';
    return vt->extract(ctx, &rq, &sink, err);
}

static int lower_with(const char *s, int c)
{
    if (!s || !*s || !strchr(s, c)) return 0;
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z') return 0;
    return 1;
}

static const char *sample_of(const char *type, size_t *len)
{
    const char *s = NULL;
    if (strcmp(type, "application/pdf") == 0) s = PDF_SAMPLE;
    else if (strcmp(type, "text/html") == 0)
        s = "<html><body><p>" SAMPLE_WORD " sample</p></body></html>\n";
    else if (strncmp(type, "text/", 5) == 0) s = SAMPLE_WORD " sample, one line of text\n";
    *len = s ? strlen(s) : 0;
    return s;
}

static void one_format(checker *ck, const rk_extractor_vtable *vt, void *ctx,
                       const rk_extract_format *f)
{
    char name[160];
    rk_err err = {{0}};
    got g;
    size_t len;
    const char *sample = sample_of(f->content_type, &len);
    snprintf(name, sizeof name, "extractor declares %s well-formed", f->content_type);
    pc_check(ck, lower_with(f->content_type, '/') && (!f->extensions || lower_with(f->extensions, '.')),
             name, "type '%s', extensions '%s'", f->content_type,
             f->extensions ? f->extensions : "");
    if (!sample) {
        printf("  skipped %s: no sample of it known to the checker\n", f->content_type);
        return;
    }
    int rc = run(vt, ctx, f->content_type, sample, len, clock_now_ms() + 30000, &g, &err);
    snprintf(name, sizeof name, "extractor reads a %s sample", f->content_type);
    if (rc == RK_ERR_UNSUPPORTED) {
        printf("  skipped %s: %s\n", f->content_type, err.msg);
        return;
    }
    pc_check(ck, rc == RK_OK && strstr(g.text, SAMPLE_WORD), name, "%s (%s), text '%.60s'",
             pc_ret(rc), err.msg, g.text);
    static const unsigned char junk[] = {0xff, 0xfe, 0x00, 0x81, 0xc3, 0x28, 0xa0, 0xa1,
                                         0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc, 0xfe};
    rc = run(vt, ctx, f->content_type, junk, sizeof junk, clock_now_ms() + 30000, &g, &err);
    snprintf(name, sizeof name, "extractor refuses binary junk as %s", f->content_type);
    pc_check(ck, rc < 0 && err.msg[0], name, "%s, message '%s'", pc_ret(rc), err.msg);
    int64_t t0 = clock_now_ms();
    rc = run(vt, ctx, f->content_type, sample, len, t0 - 1, &g, &err);
    snprintf(name, sizeof name, "extractor meets a past deadline (%s)", f->content_type);
    pc_check(ck, (rc == RK_OK || rc == RK_ERR_TIMEOUT) && clock_now_ms() - t0 < 5000, name,
             "%s after %lld ms", pc_ret(rc), (long long)(clock_now_ms() - t0));
}

void pc_extractor_contract(checker *ck, const rk_plugin *d, void *ctx)
{
    const rk_extractor_vtable *vt = d->vtable;
    size_t n = 0;
    for (const rk_extract_format *f = vt->formats; f && f->content_type && n < 64; f++, n++)
        one_format(ck, vt, ctx, f);
    pc_check(ck, n > 0, "extractor declares formats", "%zu formats", n);
    if (!RK_HAS_FIELD(vt, rk_extractor_vtable, sniff) || !vt->sniff) return;
    int bad = 0;
    for (const rk_extract_format *f = vt->formats; f && f->content_type; f++) {
        size_t len;
        const char *sample = sample_of(f->content_type, &len);
        const char *t = sample ? vt->sniff(ctx, sample, len) : NULL;
        int known = !t;
        for (const rk_extract_format *e = vt->formats; t && e->content_type; e++)
            known |= strcmp(e->content_type, t) == 0;
        bad += !known;
    }
    const char *empty = vt->sniff(ctx, "", 0);
    pc_check(ck, !bad && !empty, "extractor sniff claims only declared types",
             "%d undeclared; empty input claimed as '%s'", bad, empty ? empty : "(none)");
}
