/*
 * retriever_fixed — a test retriever over a fixed list of passages from its
 * config (`passages`: texts; `title`: their common title). A search returns,
 * best first, the passages sharing at least one word (3+ letters, ASCII
 * case-insensitive) with the query, at most k. A query containing
 * "[slowretr]" sleeps until 300 ms past its deadline first, to test the
 * pipeline's retrieval deadline. Searches are counted in
 * retriever_fixed_searches_total{fast="0|1"} so tests can see which mode
 * the pipeline chose.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <ragkernel/ragkernel.h>

typedef struct fixed {
    const rk_host *host;
    const rk_instance *self;
    const char *title;
    size_t n;
    rk_metric *fast, *full;
} fixed;

/* Does text contain the word w (length n) case-insensitively? */
static int has_word(const char *text, const char *w, size_t n)
{
    for (const char *p = text; *p; p++)
        if (strncasecmp(p, w, n) == 0 && (p == text || !isalnum((unsigned char)p[-1])) &&
            !isalnum((unsigned char)p[n]))
            return 1;
    return 0;
}

static int score(const char *text, const char *query)
{
    int s = 0;
    for (const char *p = query; *p;) {
        while (*p && !isalnum((unsigned char)*p)) p++;
        const char *w = p;
        while (*p && isalnum((unsigned char)*p)) p++;
        if (p - w >= 3 && has_word(text, w, (size_t)(p - w))) s++;
    }
    return s;
}

static void sleep_until(const rk_host *h, int64_t t)
{
    int64_t left = t - h->now_ms();
    if (left <= 0) return;
    if (left > 5000) left = 5000; /* never hold a worker longer in tests */
    struct timespec ts = {left / 1000, (left % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int rf_search(void *ctx, const rk_query *q, void (*on_hit)(void *ud, const rk_passage *p),
                     void *ud, rk_err *err)
{
    fixed *f = ctx;
    (void)err;
    f->host->metric_add(q->fast ? f->fast : f->full, 1);
    if (strstr(q->text, "[slowretr]")) sleep_until(f->host, q->deadline_ms + 300);
    int hits = 0;
    for (int want = 100; want > 0 && (size_t)hits < q->k; want--) /* best first */
        for (size_t i = 0; i < f->n && (size_t)hits < q->k; i++) {
            const char *text = f->host->cfg_item(f->self, "passages", i);
            if (score(text, q->text) != want) continue;
            char id[32];
            snprintf(id, sizeof id, "doc%zu", i + 1);
            rk_passage p = {.struct_size = sizeof p, .doc_id = id, .title = f->title,
                            .text = text, .snippet = text, .score = want,
                            .chunk_index = (uint32_t)i};
            on_hit(ud, &p);
            hits++;
        }
    return hits;
}

static int rf_index(void *ctx, const rk_chunk *chunks, size_t n, rk_err *err)
{
    (void)ctx, (void)chunks, (void)n;
    return rk_fail(err, RK_ERR_UNSUPPORTED, "retriever_fixed is read-only");
}

static int rf_remove(void *ctx, const char *tenant, const char *doc_id, rk_err *err)
{
    (void)ctx, (void)tenant, (void)doc_id;
    return rk_fail(err, RK_ERR_NOT_FOUND, "retriever_fixed is read-only");
}

static int64_t rf_doc_chunks(void *ctx, const char *tenant, const char *doc_id, rk_err *err)
{
    (void)ctx, (void)tenant, (void)doc_id, (void)err;
    return 0;
}

static int rf_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    fixed *f = calloc(1, sizeof *f);
    if (!f) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    f->host = host;
    f->self = self;
    f->title = host->cfg_string(self, "title");
    f->n = host->cfg_count(self, "passages");
    const char *help = "searches of the fixed test retriever";
    f->fast = host->metric(RK_METRIC_COUNTER, "retriever_fixed_searches_total", help, "fast=\"1\"");
    f->full = host->metric(RK_METRIC_COUNTER, "retriever_fixed_searches_total", help, "fast=\"0\"");
    *ctx = f;
    return RK_OK;
}

static void rf_destroy(void *ctx) { free(ctx); }

static const rk_retriever_vtable vt = {
    .struct_size = sizeof(rk_retriever_vtable),
    .index = rf_index,
    .remove = rf_remove,
    .search = rf_search,
    .doc_chunks = rf_doc_chunks,
};

static const rk_config_key schema[] = {
    {"passages", RK_CFG_LIST, "Paris is the capital of France.,Berlin is the capital of Germany.",
     0, "the passage texts"},
    {"title", RK_CFG_STRING, "Fixed facts", 0, "title of every passage"},
    {NULL, 0, NULL, 0, NULL},
};

static const rk_plugin desc = {
    .struct_size = sizeof(rk_plugin),
    .abi_major = RK_ABI_MAJOR,
    .abi_minor = RK_ABI_MINOR,
    .kind = RK_KIND_RETRIEVER,
    .name = "retriever_fixed",
    .version = "1.0.0",
    .description = "fixed passages for pipeline tests",
    .flags = RK_PLUGIN_SERIALIZE,
    .config = schema,
    .create = rf_create,
    .destroy = rf_destroy,
    .vtable = &vt,
};

RK_PLUGIN_DEFINE(desc)
