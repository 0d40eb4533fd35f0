/*
 * rs_fixture — what the retriever_sqlite tests share: the plugin loaded
 * from $BUILD/plugins by the real loader, a small host of the test's own
 * (config from a key/value table, a real clock, metrics that record what
 * they are given), a fresh temporary directory per case, and helpers to
 * index and search. Header-only: each test program compiles its own copy.
 */
#ifndef RK_TEST_RS_FIXTURE_H
#define RK_TEST_RS_FIXTURE_H

#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "plugin_harness.h"

#include <ragkernel/ragkernel.h>

/* ---- the host ---------------------------------------------------------- */

typedef struct test_metric {
    double value;
    long observations;
} test_metric;

static const char *g_kv[16][2]; /* config of the instance under test */
static const rk_plugin *g_desc;
static test_metric g_search_metric, g_chunks_metric;
static char g_dir[256], g_db[300];

static const char *cfg_raw(const char *key)
{
    for (int i = 0; i < 16 && g_kv[i][0]; i++)
        if (strcmp(g_kv[i][0], key) == 0)
            return g_kv[i][1];
    for (const rk_config_key *k = g_desc->config; k && k->name; k++)
        if (strcmp(k->name, key) == 0)
            return k->default_value;
    return NULL;
}

static inline void set_cfg(const char *key, const char *value)
{
    int i = 0;
    while (i < 15 && g_kv[i][0] && strcmp(g_kv[i][0], key) != 0)
        i++;
    g_kv[i][0] = key;
    g_kv[i][1] = value;
}

static const char *h_string(const rk_instance *s, const char *key) { return cfg_raw(key); }

static inline int64_t h_int(const rk_instance *s, const char *key)
{
    const char *v = cfg_raw(key);
    char *end;
    long long x = v ? strtoll(v, &end, 10) : 0;
    if (v && strcmp(end, "s") == 0) /* durations in this table: "5s" */
        x *= 1000;
    return x;
}

static inline double h_double(const rk_instance *s, const char *key)
{
    const char *v = cfg_raw(key);
    return v ? strtod(v, NULL) : 0;
}

/* LIST values in the table are comma-separated, like schema defaults */
static inline size_t h_count(const rk_instance *s, const char *key)
{
    const char *v = cfg_raw(key);
    size_t n = v && *v ? 1 : 0;
    for (; v && *v; v++)
        n += *v == ',';
    return n;
}

static const char *h_item(const rk_instance *s, const char *key, size_t i)
{
    static __thread char buf[64];
    const char *v = cfg_raw(key);
    for (; v && i; i--)
        v = (v = strchr(v, ',')) ? v + 1 : NULL;
    if (!v)
        return NULL;
    snprintf(buf, sizeof buf, "%.*s", (int)strcspn(v, ","), v);
    return buf;
}

static const char *h_where(const rk_instance *s, const char *key, char *buf, size_t cap)
{
    snprintf(buf, cap, "test.yaml:1:1");
    return buf;
}

static inline int64_t h_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void h_log(const rk_instance *s, rk_log_level lv, const char *fmt, ...)
{
    if (lv < RK_LOG_WARN)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static const char *h_name(const rk_instance *s) { return "docs"; }

static inline rk_metric *h_metric(rk_metric_type t, const char *name, const char *help,
                           const char *labels)
{
    ck_assert_ptr_nonnull(strstr(labels, "instance=\"docs\""));
    if (strcmp(name, "ragkernel_retriever_search_seconds") == 0 && t == RK_METRIC_HISTOGRAM)
        return (rk_metric *)&g_search_metric;
    if (strcmp(name, "ragkernel_retriever_chunks") == 0 && t == RK_METRIC_GAUGE)
        return (rk_metric *)&g_chunks_metric;
    ck_abort_msg("unexpected metric %s", name);
    return NULL;
}

static inline void h_set(rk_metric *m, double v) { ((test_metric *)m)->value = v; }

static inline void h_observe(rk_metric *m, double v)
{
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&mu);
    ((test_metric *)m)->observations++;
    pthread_mutex_unlock(&mu);
}

static const rk_host g_host = {
    .struct_size = sizeof(rk_host), .abi_major = RK_ABI_MAJOR, .abi_minor = RK_ABI_MINOR,
    .version = "test", .log = h_log, .instance_name = h_name, .cfg_string = h_string,
    .cfg_int = h_int, .cfg_double = h_double, .cfg_count = h_count, .cfg_item = h_item,
    .cfg_where = h_where, .now_ms = h_now, .wall_ms = h_now, .metric = h_metric,
    .metric_set = h_set, .metric_observe = h_observe,
};

/* ---- fixture and helpers ---------------------------------------------- */

static loader_plugin *g_lp;
static const rk_retriever_vtable *g_vt;

static inline void setup(void)
{
    g_lp = ph_plugin_open("retriever_sqlite", RK_KIND_RETRIEVER);
    g_desc = g_lp->desc;
    g_vt = g_desc->vtable;
    memset(g_kv, 0, sizeof g_kv);
    memset(&g_search_metric, 0, sizeof g_search_metric);
    memset(&g_chunks_metric, 0, sizeof g_chunks_metric);
    ph_tmpdir(g_dir, sizeof g_dir);
    /* parent directories must be created by the plugin */
    snprintf(g_db, sizeof g_db, "%s/a/b/retriever.sqlite", g_dir);
    set_cfg("path", g_db);
}

static inline void teardown(void)
{
    ck_assert_int_eq(ph_rmtree(g_dir), 0);
    loader_close(g_lp);
}

static inline void *open_rs(void)
{
    void *ctx = NULL;
    rk_err err = {{0}};
    /* the instance handle is opaque to the plugin; this host needs none */
    int rc = g_desc->create(&g_host, (rk_instance *)&g_host, &ctx, &err);
    ck_assert_msg(rc == RK_OK, "create: %s", err.msg);
    return ctx;
}

/* Index one document of n chunks. */
static inline void put(void *ctx, const char *tenant, const char *doc, const char *title,
                const char *const *texts, size_t n)
{
    rk_chunk ch[16];
    rk_err err = {{0}};
    ck_assert_uint_le(n, 16);
    for (size_t i = 0; i < n; i++)
        ch[i] = (rk_chunk){.struct_size = sizeof ch[i], .tenant = tenant, .doc_id = doc,
                           .title = title, .index = (uint32_t)i, .text = texts[i]};
    int rc = g_vt->index(ctx, ch, n, &err);
    ck_assert_msg(rc == RK_OK, "index %s: %s", doc, err.msg);
}

static inline void put1(void *ctx, const char *tenant, const char *doc, const char *text)
{
    put(ctx, tenant, doc, "", &text, 1);
}

#define MAX_HITS 64
typedef struct hits {
    int n;
    char doc[MAX_HITS][64];
    char snippet[MAX_HITS][512];
    double score[MAX_HITS];
    uint32_t idx[MAX_HITS];
} hits;

static inline void on_hit(void *ud, const rk_passage *p)
{
    hits *h = ud;
    ck_assert_uint_eq(p->struct_size, sizeof *p);
    ck_assert_ptr_nonnull(p->text);
    if (h->n == MAX_HITS)
        return;
    snprintf(h->doc[h->n], sizeof h->doc[0], "%s", p->doc_id);
    snprintf(h->snippet[h->n], sizeof h->snippet[0], "%s", p->snippet ? p->snippet : "");
    h->score[h->n] = p->score;
    h->idx[h->n++] = p->chunk_index;
}

static inline int search_f(void *ctx, const char *tenant, const char *text, size_t k,
                    const char *const *doc_ids, size_t nd, hits *h)
{
    rk_query q = {.struct_size = sizeof q, .tenant = tenant, .text = text, .k = k,
                  .doc_ids = doc_ids, .n_doc_ids = nd};
    rk_err err = {{0}};
    memset(h, 0, sizeof *h);
    int rc = g_vt->search(ctx, &q, on_hit, h, &err);
    ck_assert_msg(rc >= 0, "search '%s': %s", text, err.msg);
    ck_assert_int_eq(rc, h->n);
    return rc;
}

static inline int search(void *ctx, const char *tenant, const char *text, hits *h)
{
    return search_f(ctx, tenant, text, 10, NULL, 0, h);
}

static inline int has_doc(const hits *h, const char *doc)
{
    for (int i = 0; i < h->n; i++)
        if (strcmp(h->doc[i], doc) == 0)
            return 1;
    return 0;
}

static inline int64_t chunks_of(void *ctx, const char *tenant, const char *doc)
{
    rk_err err = {{0}};
    int64_t n = g_vt->doc_chunks(ctx, tenant, doc, &err);
    ck_assert_msg(n >= 0, "doc_chunks: %s", err.msg);
    return n;
}

#define ck_has(s, sub) ck_assert_msg(strstr((s), (sub)) != NULL, "'%s' not in: %s", (sub), (s))

#endif
