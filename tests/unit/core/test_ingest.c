/*
 * test_ingest — text extraction, titles and chunking on the sample files
 * in tests/fixtures/docs (English and Russian text, Markdown, HTML and a
 * small PDF read through the real pdftotext), read by the built
 * extract_text and extract_pdf plugins, content-type decisions among them
 * (and with none), the
 * 415/422 refusals, the time budget of one upload (test_pdftext has the
 * pdftotext child's failure modes and limits), and every document's chunks
 * within the chunker's bounds (test_chunk has the chunker's own cases:
 * overlap, sentence breaks, whole UTF-8 characters, determinism).
 */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chunk.h"
#include "chunk_fixture.h"
#include "ingest.h"
#include "plugin_harness.h"
#include "strbuf.h"
#include "textnorm.h"

static char *g_buf;
static size_t g_len;
/* extract_text and extract_pdf instances, in that order, and the set */
static ph g_ex[2];
static ingest_set *g_set;

static ingest_set *set_with_budget(int64_t ms)
{
    rk_instance *in[2] = {&g_ex[0].inst, &g_ex[1].inst};
    ingest_set *s = ingest_set_of(in, 2, ms);
    ck_assert_ptr_nonnull(s);
    return s;
}

static void setup(void)
{
    ph_open(&g_ex[0], "extract_text", RK_KIND_EXTRACTOR, "text", "{}");
    ph_open(&g_ex[1], "extract_pdf", RK_KIND_EXTRACTOR, "pdf", "{}");
    g_set = set_with_budget(30000);
}

/* The type chosen, or NULL when no extractor reads it. */
static const char *ingest_content_type(const char *given, const char *filename,
                                       const void *data, size_t len)
{
    ingest_pick pk;
    return ingest_pick_for(g_set, given, filename, data, len, &pk) ? pk.type : NULL;
}

static void load_fixture(const char *name)
{
    free(g_buf);
    g_buf = ph_fixture(name, &g_len);
}

static void teardown(void)
{
    free(g_buf);
    g_buf = NULL;
    ingest_set_free(g_set);
    g_set = NULL;
    ph_close(&g_ex[1]);
    ph_close(&g_ex[0]);
}

#define ck_has(hay, needle) ck_assert_msg(strstr((hay), (needle)) != NULL, "missing '%s' in:\n%s", (needle), (hay))
#define ck_lacks(hay, needle) ck_assert_msg(strstr((hay), (needle)) == NULL, "unexpected '%s' in:\n%s", (needle), (hay))

/* Runs ingest on a fixture and checks it succeeded. */
static ingest_doc ingest_fixture(const char *name, const char *ctype)
{
    ingest_doc d;
    rk_err err = {{0}};
    load_fixture(name);
    int rc = ingest_run(g_set, g_buf, g_len, name, ctype, &d, &err);
    ck_assert_msg(rc == RK_OK, "%s: %s", name, err.msg);
    ck_assert_uint_ge(d.chunks.n, 1);
    return d;
}

START_TEST(plain_english)
{
    ingest_doc d = ingest_fixture("en.txt", NULL);
    ck_assert_str_eq(d.content_type, "text/plain");
    ck_assert_str_eq(d.title, "Lighthouse Keeping Manual");
    ck_has(d.text, "The fog signal is sounded");
    ck_has(d.text, "mistake for a different light.");
    ck_assert_uint_ge(d.chunks.n, 2);
    check_chunk_bounds(&d.chunks, CHUNK_TARGET_BYTES);
    ingest_doc_free(&d);
}
END_TEST

START_TEST(plain_russian)
{
    ingest_doc d = ingest_fixture("ru.txt", "text/plain; charset=utf-8");
    ck_assert_str_eq(d.title, "Руководство смотрителя маяка");
    ck_has(d.text, "Туманный сигнал подают, когда видимость падает ниже двух морских миль.");
    ck_has(d.text, "на три недели…");
    ck_assert_uint_ge(d.chunks.n, 3);
    check_chunk_bounds(&d.chunks, CHUNK_TARGET_BYTES);
    ingest_doc_free(&d);
}
END_TEST

START_TEST(markdown_markup_removed)
{
    ingest_doc d = ingest_fixture("sample.md", "application/octet-stream");
    ck_assert_str_eq(d.content_type, "text/markdown");
    ck_assert_str_eq(d.title, "Harbour Pilot Notes");
    const char *t = d.text;
    ck_has(t, "Harbour Pilot Notes");
    ck_has(t, "Pilots board incoming ships at the outer buoy.");
    ck_has(t, "See the port authority rules and the tide chart before boarding.");
    ck_has(t, "Use the pilot ladder only");
    ck_has(t, "with radio and pager logbook");
    ck_has(t, "snake_case_identifier");
    ck_has(t, "Safety first: never board");
    ck_has(t, "echo \"fenced code stays as text\"");
    ck_has(t, "depth");
    const char *noise[] = {"#", "**", "__", "~~", "```", "https://", "tide.png", "](",
                           "ref-definition-hidden", "[ ]", "> ", "- Use", "`pilot"};
    for (size_t i = 0; i < sizeof noise / sizeof *noise; i++) ck_lacks(t, noise[i]);
    ingest_doc_free(&d);
}
END_TEST

START_TEST(markdown_titles)
{
    rk_err err = {{0}};
    ingest_doc d;
    const char *setext = "Intro line is not a heading\n\nReal Title\n==========\n\nBody text.\n";
    ck_assert_int_eq(ingest_run(g_set, setext, strlen(setext), "a.md", NULL, &d, &err), RK_OK);
    ck_assert_str_eq(d.title, "Real Title");
    ck_lacks(d.text, "===");
    ingest_doc_free(&d);
    const char *fm = "---\ntitle: \"Front Matter Title\"\ntags: [a]\n---\n# Heading\n\nBody.\n";
    ck_assert_int_eq(ingest_run(g_set, fm, strlen(fm), "b.markdown", NULL, &d, &err), RK_OK);
    ck_assert_str_eq(d.title, "Front Matter Title");
    ck_lacks(d.text, "tags:");
    ck_has(d.text, "Heading\n\nBody.");
    ingest_doc_free(&d);
    const char *none = "just *some* text\nmore\n";
    ck_assert_int_eq(ingest_run(g_set, none, strlen(none), "c.md", NULL, &d, &err), RK_OK);
    ck_assert_str_eq(d.title, "just some text");
    ingest_doc_free(&d);
}
END_TEST

START_TEST(html_text_only)
{
    ingest_doc d = ingest_fixture("sample.html", NULL);
    ck_assert_str_eq(d.content_type, "text/html");
    ck_assert_str_eq(d.title, "Tide & Current Tables");
    const char *t = d.text;
    ck_has(t, "Spring tides\n\nSpring tides occur at new and full moon \u2014 the range is largest.");
    ck_has(t, "Neap tides follow a week later \u2014 smallest range.");
    ck_has(t, "Currents <strongest> at mid-tide; caf\u00e9 \u00e9t\u00e9 \u00a9 2024.");
    ck_has(t, "First item\n\nSecond item");
    ck_has(t, "Line one\nLine two");
    ck_has(t, "12:00 high");
    const char *hidden[] = {"hiddenscriptvalue", "hiddenstylecolour", "hiddencomment",
                            "hiddennoscripttext", "<p>", "<li>", "&amp;", "&nbsp;", "&#",
                            "Tide & Current Tables", "charset"};
    for (size_t i = 0; i < sizeof hidden / sizeof *hidden; i++) ck_lacks(t, hidden[i]);
    ingest_doc_free(&d);
}
END_TEST

START_TEST(html_broken_markup)
{
    rk_err err = {{0}};
    ingest_doc d;
    const char *h = "<p>a < b and <img alt=Don't>still here &bogus; &#99999999; end"
                    "<script>never";
    ck_assert_int_eq(ingest_run(g_set, h, strlen(h), "x.htm", NULL, &d, &err), RK_OK);
    ck_has(d.text, "a < b and still here &bogus; \uFFFD end");
    ck_lacks(d.text, "never");
    ck_assert_str_eq(d.title, "a < b and still here &bogus; \uFFFD end");
    ingest_doc_free(&d);
}
END_TEST

START_TEST(pdf_through_pdftotext)
{
    ingest_doc d = ingest_fixture("sample.pdf", NULL);
    ck_assert_str_eq(d.content_type, "application/pdf");
    ck_assert_str_eq(d.title, "Ragkernel PDF Fixture");
    ck_has(d.text, "The quick brown fox jumps over the lazy dog.");
    ck_has(d.text, "zebras and quokkas");
    ingest_doc_free(&d);

    /* sniffed by its magic bytes, whatever the name says */
    ingest_doc e;
    rk_err err = {{0}};
    ck_assert_int_eq(ingest_run(g_set, g_buf, g_len, "upload.bin", NULL, &e, &err), RK_OK);
    ck_assert_str_eq(e.content_type, "application/pdf");
    ingest_doc_free(&e);

    const char *junk = "%PDF-1.4\nthis is not really a pdf\n";
    int rc = ingest_run(g_set, junk, strlen(junk), "bad.pdf", NULL, &e, &err);
    ck_assert_int_eq(rc, RK_ERR_INVALID);
    ck_assert_int_eq(ingest_http_status(rc), 422);
    ck_has(err.msg, "could not read the PDF");
}
END_TEST

/* The budget (pipeline.ingest_timeout) ends an upload that takes longer
 * with RK_ERR_TIMEOUT (422) and a message naming the key; the same
 * document passes under the default budget. */
START_TEST(budget_is_enforced)
{
    strbuf b = {0};
    for (int i = 0; i < 200000; i++)
        sb_puts(&b, "Some [linked](http://x) *words* and `code` on a line of their own.\n");
    ingest_set *tight = set_with_budget(1);
    rk_err err = {{0}};
    ingest_doc d;
    int rc = ingest_run(tight, b.s, b.len, "big.md", NULL, &d, &err);
    ck_assert_int_eq(rc, RK_ERR_TIMEOUT);
    ck_assert_int_eq(ingest_http_status(rc), 422);
    ck_has(err.msg, "pipeline.ingest_timeout (1 ms)");
    ck_assert_ptr_null(d.text);
    ingest_set_free(tight);

    ingest_set *roomy = set_with_budget(60000);
    ck_assert_int_eq(ingest_run(roomy, b.s, b.len, "big.md", NULL, &d, &err), RK_OK);
    ingest_doc_free(&d);
    ingest_set_free(roomy);

    /* extract_pdf refuses a program found through PATH */
    ph p;
    ph_load(&p, "extract_pdf", RK_KIND_EXTRACTOR, "pdf", "{program: pdftotext}");
    ck_assert_int_eq(ph_create(&p, &err), RK_ERR_CONFIG);
    ck_has(err.msg, "absolute");
    ph_close(&p);
    sb_free(&b);
}
END_TEST

START_TEST(content_types)
{
    const char *pdf = "%PDF-1.7 ...";
    const char *html = "  <!DOCTYPE html><html></html>";
    const char *bin = "\x89PNG\r\n\x1a\n\0\0";
    ck_assert_str_eq(ingest_content_type(NULL, "a.TXT", "x", 1), "text/plain");
    ck_assert_str_eq(ingest_content_type("", "a.md", "x", 1), "text/markdown");
    ck_assert_str_eq(ingest_content_type(NULL, "a.markdown", "x", 1), "text/markdown");
    ck_assert_str_eq(ingest_content_type(NULL, "dir/a.htm", "x", 1), "text/html");
    ck_assert_str_eq(ingest_content_type("application/octet-stream", "a.html", "x", 1), "text/html");
    ck_assert_str_eq(ingest_content_type(NULL, "a.pdf", "x", 1), "application/pdf");
    ck_assert_str_eq(ingest_content_type(NULL, "scan", pdf, strlen(pdf)), "application/pdf");
    ck_assert_str_eq(ingest_content_type(NULL, NULL, html, strlen(html)), "text/html");
    ck_assert_str_eq(ingest_content_type(NULL, "README", "plain words", 11), "text/plain");
    ck_assert_str_eq(ingest_content_type("Text/HTML; charset=UTF-8", "x", "x", 1), "text/html");
    ck_assert_str_eq(ingest_content_type("text/plain", "notes.md", "x", 1), "text/markdown");
    ck_assert_str_eq(ingest_content_type("text/x-markdown", NULL, "x", 1), "text/markdown");
    ck_assert_ptr_null(ingest_content_type(NULL, "image", bin, 10));
    ck_assert_ptr_null(ingest_content_type(NULL, "report.docx", "PK\3\4", 4));
    ck_assert_ptr_null(ingest_content_type("image/png", "a.png", bin, 10));
}
END_TEST

START_TEST(unsupported_is_415)
{
    rk_err err = {{0}};
    ingest_doc d;
    int rc = ingest_run(g_set, "\x89PNG\r\n", 6, "photo.png", "image/png", &d, &err);
    ck_assert_int_eq(rc, RK_ERR_UNSUPPORTED);
    ck_assert_int_eq(ingest_http_status(rc), 415);
    ck_has(err.msg, "image/png");
    rc = ingest_run(g_set, "PK\3\4", 4, "report.docx", NULL, &d, &err);
    ck_assert_int_eq(rc, RK_ERR_UNSUPPORTED);
    ck_has(err.msg, "report.docx");
    ck_has(err.msg, "no extractor handles it");
    ck_assert_ptr_null(d.text);
}
END_TEST

/* Without extractors every upload is refused, text too, saying so. */
START_TEST(no_extractor_is_415)
{
    rk_err err = {{0}};
    ingest_doc d;
    int rc = ingest_run(NULL, "plain words", 11, "a.txt", "text/plain", &d, &err);
    ck_assert_int_eq(rc, RK_ERR_UNSUPPORTED);
    ck_has(err.msg, "text/plain");
    ck_has(err.msg, "no extractor is configured");
    ingest_pick pk;
    ck_assert_int_eq(ingest_pick_for(NULL, NULL, "README", "plain words", 11, &pk), 0);
}
END_TEST

START_TEST(empty_is_422)
{
    rk_err err = {{0}};
    ingest_doc d;
    const char *cases[][2] = {{"  \n\n \t\n", "blank.txt"},
                              {"", "empty.md"},
                              {"<html><head><title>T</title><script>x()</script></head></html>", "s.html"},
                              {"# \n\n---\n", "rules.md"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int rc = ingest_run(g_set, cases[i][0], strlen(cases[i][0]), cases[i][1], NULL, &d, &err);
        ck_assert_msg(rc == RK_ERR_INVALID, "%s: rc %d", cases[i][1], rc);
        ck_assert_int_eq(ingest_http_status(rc), 422);
        ck_assert_str_eq(err.msg, "no text could be extracted");
    }
}
END_TEST

START_TEST(invalid_utf8)
{
    rk_err err = {{0}};
    ingest_doc d;
    /* a stray Latin-1 byte is replaced, the rest kept */
    const char *few = "Caf\xe9 au lait is a coffee drink with hot milk, served in a bowl.";
    ck_assert_int_eq(ingest_run(g_set, few, strlen(few), "c.txt", NULL, &d, &err), RK_OK);
    ck_has(d.text, "Caf\uFFFD au lait");
    ingest_doc_free(&d);
    /* Windows-1251 Russian: mostly invalid, refused */
    const char *cp1251 = "\xcf\xf0\xe8\xe2\xe5\xf2 \xec\xe8\xf0";
    int rc = ingest_run(g_set, cp1251, strlen(cp1251), "r.txt", NULL, &d, &err);
    ck_assert_int_eq(rc, RK_ERR_INVALID);
    ck_has(err.msg, "not UTF-8 text");
    /* overlong, surrogate, NUL and control bytes */
    strbuf b = {0};
    size_t bad = 0;
    tn_utf8_clean("\xef\xbb\xbf" "a\xc0\xaf" "b\xed\xa0\x80" "c\0d\x01\r\ne", 17, &b, &bad);
    ck_assert_str_eq(sb_str(&b), "a\uFFFD\uFFFDb\uFFFD\uFFFD\uFFFDcd\ne");
    ck_assert_uint_eq(bad, 5);
    sb_free(&b);
}
END_TEST

START_TEST(title_fallbacks)
{
    char long_line[700];
    size_t n = 0;
    while (n + 2 < 600) { /* "я" is 2 bytes: an odd cut would split it */
        memcpy(long_line + n, "\xd1\x8f", 2);
        n += 2;
    }
    long_line[n++] = 'x';
    long_line[n] = '\0';
    rk_err err = {{0}};
    ingest_doc d;
    ck_assert_int_eq(ingest_run(g_set, long_line, n, "long.txt", NULL, &d, &err), RK_OK);
    ck_assert_uint_le(strlen(d.title), TN_TITLE_MAX);
    ck_assert_uint_ge(strlen(d.title), TN_TITLE_MAX - 1);
    ck_assert(tn_utf8_valid(d.title, strlen(d.title)));
    ingest_doc_free(&d);
    const char *h = "<html><body><p>   </p><h2>  First   words  </h2><p>more</p>";
    ck_assert_int_eq(ingest_run(g_set, h, strlen(h), "t.html", NULL, &d, &err), RK_OK);
    ck_assert_str_eq(d.title, "First words");
    ingest_doc_free(&d);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("ingest");
    ph_add_tcase(s, "core", 30, setup, teardown,
                 PH_TESTS(plain_english, plain_russian, markdown_markup_removed, markdown_titles,
                          html_text_only, html_broken_markup, pdf_through_pdftotext,
                          budget_is_enforced, content_types, unsupported_is_415, no_extractor_is_415,
                          empty_is_422, invalid_utf8, title_fallbacks));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
