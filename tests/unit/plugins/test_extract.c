/*
 * test_extract — uploads come straight from clients, so every extractor
 * (plain text, Markdown, HTML) and the chunker behind them must cost O(N)
 * on any input of N bytes. Each pathological pattern below (runs of '[',
 * '(', '<', '`', '*', '&', nested and unclosed tags, unclosed comments,
 * one long line, ...) is repeated to 100 KB and to 1 MB and run through
 * ingest_run with the built extract_text plugin (loaded as the host loads
 * it, and called on this thread): the 1 MB case may cost at most ~20x the 100 KB case (linear
 * is 10x; quadratic is 100x) and stay under a generous absolute bound.
 * Times are this thread's CPU time (best of a few runs), so a loaded
 * machine does not turn scheduling delays into failures. Also: the time
 * budget of one extraction (deadline) ends it with RK_ERR_TIMEOUT.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest.h"
#include "plugin_harness.h"

#define SMALL (100u * 1024)
#define LARGE (1024u * 1024)
#define MAX_RATIO 20.0
#define FLOOR_MS 1.0       /* below this, timer noise dominates the ratio */
#define SMALL_MAX_MS 2000.0 /* quadratic code fails here, before the 1 MB run */
#define LARGE_MAX_MS 10000.0

typedef struct pattern {
    const char *ctype;
    const char *unit; /* repeated to the size */
    const char *name;
} pattern;

static const pattern patterns[] = {
    {"text/markdown", "[", "md ["},
    {"text/markdown", "![", "md !["},
    {"text/markdown", "[a](", "md [a]("},
    {"text/markdown", "[[", "md [["},
    {"text/markdown", "[a][", "md [a]["},
    {"text/markdown", "(", "md ("},
    {"text/markdown", "]", "md ]"},
    {"text/markdown", "<", "md <"},
    {"text/markdown", "<http://", "md <http://"},
    {"text/markdown", "`", "md `"},
    {"text/markdown", "`a``", "md `a``"},
    {"text/markdown", "`a``b```c````d", "md backtick runs"},
    {"text/markdown", "*", "md *"},
    {"text/markdown", "_a", "md _"},
    {"text/markdown", "~~", "md ~~"},
    {"text/markdown", "&", "md &"},
    {"text/markdown", "\\", "md \\"},
    {"text/markdown", "\\[", "md \\["},
    {"text/markdown", "a", "md long line"},
    {"text/markdown", "# [\n", "md headings"},
    {"text/markdown", "> [", "md quote ["},
    {"text/markdown", "[x]: ", "md ref defs"},
    {"text/markdown", "```\n", "md fences"},
    {"text/markdown", "---\ntitle: [\n", "md front matter"},
    {"text/html", "<", "html <"},
    {"text/html", "<a", "html <a"},
    {"text/html", "<a href=\"", "html unclosed attribute"},
    {"text/html", "<!--", "html unclosed comment"},
    {"text/html", "<![CDATA[", "html unclosed cdata"},
    {"text/html", "<title>", "html <title>"},
    {"text/html", "<script>", "html <script>"},
    {"text/html", "<title>a</title", "html title without >"},
    {"text/html", "<div><span><b>", "html nested tags"},
    {"text/html", "</", "html </"},
    {"text/html", "<!", "html <!"},
    {"text/html", "&", "html &"},
    {"text/html", "&#", "html &#"},
    {"text/html", "&#x1", "html &#x"},
    {"text/html", "&amp", "html &amp"},
    {"text/html", "<pre>", "html <pre>"},
    {"text/html", "a ", "html long line"},
    {"text/plain", "a", "plain long line"},
    {"text/plain", "a. ", "plain sentences"},
    {"text/plain", "\r", "plain CRs"},
    {"text/plain", "\n\n", "plain blank lines"},
    {"text/plain", "\xe2\x82", "plain cut UTF-8"},
};

static char *repeat(const char *unit, size_t size)
{
    size_t u = strlen(unit);
    char *b = malloc(size + 1);
    ck_assert_ptr_nonnull(b);
    for (size_t i = 0; i < size; i++) b[i] = unit[i % u];
    b[size] = '\0';
    return b;
}

static double thread_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static ph g_text;
static ingest_set *g_set;

static void setup(void)
{
    ph_open(&g_text, "extract_text", RK_KIND_EXTRACTOR, "text", "{}");
    rk_instance *in = &g_text.inst;
    g_set = ingest_set_of(&in, 1, 60000);
    ck_assert_ptr_nonnull(g_set);
}

static void teardown(void)
{
    ingest_set_free(g_set);
    ph_close(&g_text);
}

/* Best of `runs` ingest_run calls on unit repeated to size bytes. */
static double time_ingest(const pattern *p, size_t size, int runs)
{
    char *data = repeat(p->unit, size);
    double best = -1;
    for (int r = 0; r < runs; r++) {
        ingest_doc d;
        rk_err err = {{0}};
        double t0 = thread_ms();
        int rc = ingest_run(g_set, data, size, "x", p->ctype, &d, &err);
        double t = thread_ms() - t0;
        if (rc == RK_OK) ingest_doc_free(&d);
        if (best < 0 || t < best) best = t;
    }
    free(data);
    return best;
}

START_TEST(extractors_are_linear)
{
    const pattern *p = &patterns[_i];
    double small = time_ingest(p, SMALL, 3);
    ck_assert_msg(small < SMALL_MAX_MS, "%s: 100 KB took %.0f ms of CPU", p->name, small);
    double large = time_ingest(p, LARGE, 3);
    double base = small > FLOOR_MS ? small : FLOOR_MS;
    fprintf(stderr, "%-28s 100 KB %8.2f ms   1 MB %8.2f ms   ratio %5.1f\n", p->name, small,
            large, large / base);
    ck_assert_msg(large <= MAX_RATIO * base,
                  "%s: 1 MB took %.1f ms, 100 KB %.1f ms: %.1fx (linear is ~10x)", p->name,
                  large, small, large / base);
    ck_assert_msg(large < LARGE_MAX_MS, "%s: 1 MB took %.0f ms of CPU", p->name, large);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("extract");
    TCase *tc = ph_add_tcase(s, "linear", 120, setup, teardown, NULL, 0);
    tcase_add_loop_test(tc, extractors_are_linear, 0,
                        (int)(sizeof patterns / sizeof *patterns));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
