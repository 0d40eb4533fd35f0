/*
 * test_retriever_sqlite — the retriever_sqlite plugin through its vtable,
 * loaded from $BUILD/plugins by the real loader, with a small host of the
 * test's own (config from a key/value table, a real clock, metrics that
 * record what they are given). Each case works in a fresh temporary
 * directory. Run from the repository root (BUILD defaults to "build").
 */
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

static void set_cfg(const char *key, const char *value)
{
    int i = 0;
    while (i < 15 && g_kv[i][0] && strcmp(g_kv[i][0], key) != 0)
        i++;
    g_kv[i][0] = key;
    g_kv[i][1] = value;
}

static const char *h_string(const rk_instance *s, const char *key) { return cfg_raw(key); }

static int64_t h_int(const rk_instance *s, const char *key)
{
    const char *v = cfg_raw(key);
    char *end;
    long long x = v ? strtoll(v, &end, 10) : 0;
    if (v && strcmp(end, "s") == 0) /* durations in this table: "5s" */
        x *= 1000;
    return x;
}

static double h_double(const rk_instance *s, const char *key)
{
    const char *v = cfg_raw(key);
    return v ? strtod(v, NULL) : 0;
}

/* LIST values in the table are comma-separated, like schema defaults */
static size_t h_count(const rk_instance *s, const char *key)
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

static int64_t h_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void h_log(const rk_instance *s, rk_log_level lv, const char *fmt, ...)
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

static rk_metric *h_metric(rk_metric_type t, const char *name, const char *help,
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

static void h_set(rk_metric *m, double v) { ((test_metric *)m)->value = v; }

static void h_observe(rk_metric *m, double v)
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

static void setup(void)
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

static void teardown(void)
{
    ck_assert_int_eq(ph_rmtree(g_dir), 0);
    loader_close(g_lp);
}

static void *open_rs(void)
{
    void *ctx = NULL;
    rk_err err = {{0}};
    /* the instance handle is opaque to the plugin; this host needs none */
    int rc = g_desc->create(&g_host, (rk_instance *)&g_host, &ctx, &err);
    ck_assert_msg(rc == RK_OK, "create: %s", err.msg);
    return ctx;
}

/* Index one document of n chunks. */
static void put(void *ctx, const char *tenant, const char *doc, const char *title,
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

static void put1(void *ctx, const char *tenant, const char *doc, const char *text)
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

static void on_hit(void *ud, const rk_passage *p)
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

static int search_f(void *ctx, const char *tenant, const char *text, size_t k,
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

static int search(void *ctx, const char *tenant, const char *text, hits *h)
{
    return search_f(ctx, tenant, text, 10, NULL, 0, h);
}

static int has_doc(const hits *h, const char *doc)
{
    for (int i = 0; i < h->n; i++)
        if (strcmp(h->doc[i], doc) == 0)
            return 1;
    return 0;
}

static int64_t chunks_of(void *ctx, const char *tenant, const char *doc)
{
    rk_err err = {{0}};
    int64_t n = g_vt->doc_chunks(ctx, tenant, doc, &err);
    ck_assert_msg(n >= 0, "doc_chunks: %s", err.msg);
    return n;
}

#define ck_has(s, sub) ck_assert_msg(strstr((s), (sub)) != NULL, "'%s' not in: %s", (sub), (s))

/* ---- cases --------------------------------------------------------------- */

START_TEST(english_stemming)
{
    void *c = open_rs();
    hits h;
    put1(c, "default", "e1", "Running documents through the indexer.");
    put1(c, "default", "e2", "Completely unrelated words about gardens.");
    ck_assert_int_eq(search(c, "default", "run document", &h), 1);
    ck_assert_str_eq(h.doc[0], "e1");
    ck_has(h.snippet[0], "**Running**");
    ck_has(h.snippet[0], "**documents**");
    ck_assert_ptr_null(strstr(h.snippet[0], "**indexer**"));
    g_desc->destroy(c);
}
END_TEST

START_TEST(russian_inflections)
{
    void *c = open_rs();
    hits h;
    put1(c, "default", "r1", "Этот документ описывает устройство системы.");
    put1(c, "default", "r2", "Дети играли с книгами во дворе.");
    put1(c, "default", "r3", "ЁЛКИ растут в лесу.");
    ck_assert_int_eq(search(c, "default", "Сколько документов?", &h), 1);
    ck_assert_str_eq(h.doc[0], "r1");
    ck_has(h.snippet[0], "**документ**");
    ck_assert_int_eq(search(c, "default", "книга", &h), 1);
    ck_assert_str_eq(h.doc[0], "r2");
    ck_has(h.snippet[0], "**книгами**");
    ck_assert_int_eq(search(c, "default", "ёлка", &h), 1); /* ё folds to е */
    ck_assert_str_eq(h.doc[0], "r3");
    g_desc->destroy(c);
}
END_TEST

START_TEST(mixed_scripts)
{
    void *c = open_rs();
    hits h;
    /* Latin words inside Russian text are stemmed as English */
    put1(c, "default", "m1", "Сервер поддерживает running queries и streaming.");
    ck_assert_int_eq(search(c, "default", "run query", &h), 1);
    ck_assert_int_eq(search(c, "default", "серверы", &h), 1);
    g_desc->destroy(c);
}
END_TEST

/* A guide and its translation both name the product: the question's
 * language decides which ranks first. */
START_TEST(query_language_breaks_ties)
{
    void *c = open_rs();
    hits h;
    put1(c, "default", "en", "Ragkernel answers from your documents and cites them.");
    put1(c, "default", "ru", "Ragkernel отвечает по вашим документам и ссылается на них.");
    ck_assert_int_eq(search(c, "default", "what is ragkernel", &h), 2);
    ck_assert_str_eq(h.doc[0], "en");
    ck_assert_int_eq(search(c, "default", "что такое ragkernel", &h), 2);
    ck_assert_str_eq(h.doc[0], "ru");
    g_desc->destroy(c);
}
END_TEST

/* Identifiers like RAGKERNEL_DATA are one word: a search for one of their
 * parts does not find them, a search for the whole does. */
START_TEST(snake_case_is_one_word)
{
    void *c = open_rs();
    hits h;
    put1(c, "default", "env", "Set RAGKERNEL_DATA to move the data directory.");
    put1(c, "default", "name", "The server is called ragkernel.");
    ck_assert_int_eq(search(c, "default", "ragkernel", &h), 1);
    ck_assert_str_eq(h.doc[0], "name");
    ck_assert_int_eq(search(c, "default", "RAGKERNEL_DATA", &h), 1);
    ck_assert_str_eq(h.doc[0], "env");
    g_desc->destroy(c);
}
END_TEST

START_TEST(stopword_only_query)
{
    void *c = open_rs();
    hits h;
    put1(c, "default", "w1", "The Who played in London.");
    put1(c, "default", "w2", "A band from Liverpool.");
    ck_assert_int_ge(search(c, "default", "the who", &h), 1);
    ck_assert_str_eq(h.doc[0], "w1");
    ck_assert_int_eq(search(c, "default", "  ...  ", &h), 0);
    g_desc->destroy(c);
}
END_TEST

START_TEST(empty_and_title_only)
{
    void *c = open_rs();
    hits h;
    const char *empty = "", *punct = "—!?";
    put(c, "default", "t", "Orbital mechanics", &empty, 1);
    put(c, "default", "p", "", &punct, 1);
    ck_assert_int_eq(chunks_of(c, "default", "t"), 1);
    ck_assert_int_eq(chunks_of(c, "default", "p"), 1);
    ck_assert_int_eq(search(c, "default", "orbital", &h), 1);
    ck_assert_str_eq(h.doc[0], "t");
    ck_assert_str_eq(h.snippet[0], "");
    rk_err err = {{0}};
    ck_assert_int_eq(g_vt->remove(c, "default", "p", &err), RK_OK);
    put(c, "default", "t", "Orbital", &punct, 1);
    ck_assert_int_eq(search(c, "default", "orbital", &h), 1);
    g_desc->destroy(c);
}
END_TEST

START_TEST(tenant_isolation)
{
    void *c = open_rs();
    hits h;
    put1(c, "acme", "d1", "quarterly revenue report for acme");
    put1(c, "globex", "d1", "quarterly revenue forecast for globex");
    ck_assert_int_eq(search(c, "acme", "revenue", &h), 1);
    ck_has(h.snippet[0], "acme");
    ck_assert_int_eq(search(c, "globex", "revenue", &h), 1);
    ck_has(h.snippet[0], "globex");
    ck_assert_int_eq(search(c, "initech", "revenue", &h), 0);
    ck_assert_int_eq(chunks_of(c, "initech", "d1"), 0);
    ck_assert_int_eq(chunks_of(c, "acme", "d1"), 1);
    g_desc->destroy(c);
}
END_TEST

START_TEST(doc_filter_and_k)
{
    void *c = open_rs();
    hits h;
    char id[16];
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "d%d", i);
        put1(c, "default", id, i % 2 ? "apple pie recipe" : "apple orchard apple harvest");
    }
    ck_assert_int_eq(search_f(c, "default", "apple", 5, NULL, 0, &h), 5);
    for (int i = 1; i < h.n; i++)
        ck_assert(h.score[i - 1] >= h.score[i]);
    const char *only[] = {"d3", "d8", "missing"};
    ck_assert_int_eq(search_f(c, "default", "apple", 10, only, 3, &h), 2);
    ck_assert(has_doc(&h, "d3") && has_doc(&h, "d8"));
    const char *none[] = {"missing"};
    ck_assert_int_eq(search_f(c, "default", "apple", 10, none, 1, &h), 0);
    ck_assert_int_eq(search_f(c, "default", "apple", 0, NULL, 0, &h), 0);
    g_desc->destroy(c);
}
END_TEST

START_TEST(replace_on_reindex)
{
    void *c = open_rs();
    hits h;
    const char *v1[] = {"alpha one", "alpha two", "alpha three"};
    const char *v2[] = {"beta only"};
    put(c, "default", "doc", "Title", v1, 3);
    ck_assert_int_eq(chunks_of(c, "default", "doc"), 3);
    ck_assert_int_eq(search(c, "default", "alpha", &h), 3);
    put(c, "default", "doc", "Title", v2, 1);
    ck_assert_int_eq(chunks_of(c, "default", "doc"), 1);
    ck_assert_int_eq(search(c, "default", "alpha", &h), 0);
    ck_assert_int_eq(search(c, "default", "beta", &h), 1);
    ck_assert_int_eq(h.idx[0], 0);
    ck_assert_double_eq(g_chunks_metric.value, 1);
    g_desc->destroy(c);
}
END_TEST

START_TEST(remove_doc)
{
    void *c = open_rs();
    hits h;
    rk_err err = {{0}};
    put1(c, "default", "x", "ephemeral content");
    put1(c, "default", "y", "permanent content");
    ck_assert_int_eq(g_vt->remove(c, "default", "x", &err), RK_OK);
    ck_assert_int_eq(chunks_of(c, "default", "x"), 0);
    ck_assert_int_eq(search(c, "default", "ephemeral", &h), 0);
    ck_assert_int_eq(search(c, "default", "content", &h), 1);
    ck_assert_int_eq(g_vt->remove(c, "default", "x", &err), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(g_vt->remove(c, "other", "y", &err), RK_ERR_NOT_FOUND);
    ck_assert_double_eq(g_chunks_metric.value, 1);
    g_desc->destroy(c);
}
END_TEST

START_TEST(snippet_window)
{
    void *c = open_rs();
    hits h;
    char text[4096];
    size_t o = 0;
    for (int i = 0; i < 60; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "filler%d ", i);
    snprintf(text + o, sizeof text - o, "the zebra crossing near filler words end");
    put1(c, "default", "s", text);
    ck_assert_int_eq(search(c, "default", "zebras crossings", &h), 1);
    ck_has(h.snippet[0], "**zebra** **crossing**");
    ck_has(h.snippet[0], "…");
    ck_assert_ptr_null(strstr(h.snippet[0], "filler1 "));
    ck_assert_ptr_null(strchr(h.snippet[0], '\n'));
    g_desc->destroy(c);
}
END_TEST

START_TEST(persistence)
{
    void *c = open_rs();
    hits h;
    const char *v[] = {"durable words survive restarts", "second chunk"};
    put(c, "t1", "p", "Persistence", v, 2);
    put1(c, "t2", "q", "other tenant words");
    g_desc->destroy(c);
    c = open_rs();
    ck_assert_int_eq(search(c, "t1", "restart", &h), 1);
    ck_assert_str_eq(h.doc[0], "p");
    ck_assert_int_eq(search(c, "t1", "persistence", &h), 2); /* title counts */
    ck_assert_int_eq(chunks_of(c, "t1", "p"), 2);
    ck_assert_int_eq(search(c, "t1", "tenant", &h), 0);
    ck_assert_double_eq(g_chunks_metric.value, 3);
    g_desc->destroy(c);
}
END_TEST

START_TEST(doc_versions)
{
    void *c = open_rs();
    char v[RK_DOC_VERSION_MAX];
    rk_err err = {{0}};
    const char *text = "versioned words";
    rk_chunk ch = {.struct_size = sizeof ch, .tenant = "t", .doc_id = "a", .title = "",
                   .text = text};
    ck_assert_ptr_nonnull(g_vt->index_versioned);
    ck_assert_int_eq(g_vt->index_versioned(c, &ch, 1, "sha-1", &err), RK_OK);
    put1(c, "t", "b", "plain words");
    ck_assert_int_eq(g_vt->doc_version(c, "t", "a", v, sizeof v, &err), RK_OK);
    ck_assert_str_eq(v, "sha-1");
    ck_assert_int_eq(g_vt->doc_version(c, "t", "b", v, sizeof v, &err), RK_OK);
    ck_assert_str_eq(v, ""); /* indexed without a version */
    ck_assert_int_eq(g_vt->doc_version(c, "t", "none", v, sizeof v, &err), RK_ERR_NOT_FOUND);
    g_desc->destroy(c);
    c = open_rs(); /* recorded in the file */
    ck_assert_int_eq(g_vt->doc_version(c, "t", "a", v, sizeof v, &err), RK_OK);
    ck_assert_str_eq(v, "sha-1");
    put1(c, "t", "a", "replaced without a version"); /* drops the record */
    ck_assert_int_eq(g_vt->doc_version(c, "t", "a", v, sizeof v, &err), RK_OK);
    ck_assert_str_eq(v, "");
    ck_assert_int_eq(g_vt->index_versioned(c, &ch, 1, "sha-2", &err), RK_OK);
    ck_assert_int_eq(g_vt->remove(c, "t", "a", &err), RK_OK);
    ck_assert_int_eq(g_vt->doc_version(c, "t", "a", v, sizeof v, &err), RK_ERR_NOT_FOUND);
    g_desc->destroy(c);
}
END_TEST

/* An index with enough rows for several pages, closed. */
static void fill_and_close(void)
{
    void *c = open_rs();
    char doc[32], text[600];
    for (int i = 0; i < 60; i++) {
        snprintf(doc, sizeof doc, "doc-%d", i);
        snprintf(text, sizeof text, "lighthouse keeper %d logs the fog horn, the lamp, the "
                 "lens, the weather and every passing ship in the harbour register %d", i, i);
        put1(c, "t", doc, text);
    }
    g_desc->destroy(c);
}

/* The file set aside next to g_db, if any: 1 found. */
static int aside_exists(void)
{
    char dir[300], *slash;
    snprintf(dir, sizeof dir, "%s", g_db);
    slash = strrchr(dir, '/');
    *slash = '\0';
    DIR *d = opendir(dir);
    int found = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        found |= strncmp(de->d_name, "retriever.sqlite.corrupt-", 25) == 0 &&
                 strchr(de->d_name + 25, '-') == NULL; /* not its -wal/-shm */
    if (d)
        closedir(d);
    return found;
}

static void damaged_file_heals(int truncate_it)
{
    fill_and_close();
    FILE *f = fopen(g_db, "r+b");
    ck_assert_ptr_nonnull(f);
    if (truncate_it) {
        ck_assert_int_eq(ftruncate(fileno(f), 6000), 0);
    } else {
        unsigned char junk[4096];
        memset(junk, 0xA5, sizeof junk);
        fseek(f, 4096, SEEK_SET); /* page 2 */
        ck_assert_uint_eq(fwrite(junk, 1, sizeof junk, f), sizeof junk);
    }
    fclose(f);
    void *c = open_rs(); /* starts instead of refusing */
    ck_assert_int_eq(chunks_of(c, "t", "doc-1"), 0);
    ck_assert(aside_exists());
    put1(c, "t", "doc-1", "indexed again after the repair");
    hits h;
    ck_assert_int_eq(search(c, "t", "repair", &h), 1);
    g_desc->destroy(c);
    c = open_rs(); /* the new file is sound */
    ck_assert_int_eq(chunks_of(c, "t", "doc-1"), 1);
    g_desc->destroy(c);
}

START_TEST(garbage_page_heals) { damaged_file_heals(0); }
END_TEST

START_TEST(truncated_file_heals) { damaged_file_heals(1); }
END_TEST

START_TEST(rebuild_after_many_replaces)
{
    void *c = open_rs();
    hits h;
    char text[64];
    put1(c, "default", "keep", "stable neighbour text");
    for (int i = 0; i < 1100; i++) { /* leaves > 1024 dead chunks: forces a rebuild */
        snprintf(text, sizeof text, "version%d of the churning document", i);
        put1(c, "default", "churn", text);
    }
    ck_assert_int_eq(chunks_of(c, "default", "churn"), 1);
    ck_assert_int_eq(search(c, "default", "churning", &h), 1);
    ck_has(h.snippet[0], "version1099");
    ck_assert_int_eq(search(c, "default", "version5", &h), 0);
    ck_assert_int_eq(search(c, "default", "neighbour", &h), 1);
    ck_assert_double_eq(g_chunks_metric.value, 2);
    g_desc->destroy(c);
}
END_TEST

START_TEST(invalid_input)
{
    void *c = open_rs();
    rk_err err = {{0}};
    hits h;
    rk_chunk bad[2] = {
        {.struct_size = sizeof(rk_chunk), .tenant = "t", .doc_id = "a", .text = "x"},
        {.struct_size = sizeof(rk_chunk), .tenant = "t", .doc_id = "b", .text = "y"}};
    ck_assert_int_eq(g_vt->index(c, bad, 2, &err), RK_ERR_INVALID);
    ck_assert_int_eq(g_vt->index(c, bad, 0, &err), RK_ERR_INVALID);
    bad[0].text = NULL;
    ck_assert_int_eq(g_vt->index(c, bad, 1, &err), RK_ERR_INVALID);
    rk_query q = {.struct_size = sizeof q, .tenant = "t", .text = NULL, .k = 3};
    ck_assert_int_eq(g_vt->search(c, &q, on_hit, &h, &err), RK_ERR_INVALID);
    ck_assert_int_eq(search(c, "t", "x", &h), 0);
    g_desc->destroy(c);
}
END_TEST

START_TEST(deadline_and_fast)
{
    void *c = open_rs();
    hits h = {0};
    rk_err err = {{0}};
    put1(c, "default", "a", "red green blue yellow");
    put1(c, "default", "b", "red green");
    /* a deadline already past: stop early, but never fail */
    rk_query q = {.struct_size = sizeof q, .tenant = "default", .text = "red green blue",
                  .k = 5, .deadline_ms = h_now() - 1000};
    int rc = g_vt->search(c, &q, on_hit, &h, &err);
    ck_assert_msg(rc >= 0, "%s", err.msg);
    ck_assert_int_le(rc, 2);
    q.deadline_ms = 0;
    q.fast = 1;
    memset(&h, 0, sizeof h);
    ck_assert_int_eq(g_vt->search(c, &q, on_hit, &h, &err), 2);
    ck_assert_str_eq(h.doc[0], "a");
    ck_assert_int_ge(g_search_metric.observations, 2);
    g_desc->destroy(c);
}
END_TEST

START_TEST(config_errors)
{
    void *c = NULL;
    rk_err err = {{0}};
    set_cfg("languages", "english,klingon");
    ck_assert_int_eq(g_desc->create(&g_host, (rk_instance *)&g_host, &c, &err), RK_ERR_CONFIG);
    ck_has(err.msg, "klingon");
    ck_has(err.msg, "test.yaml:1:1");
    set_cfg("languages", "english,russian");
    set_cfg("b", "1.5");
    ck_assert_int_eq(g_desc->create(&g_host, (rk_instance *)&g_host, &c, &err), RK_ERR_CONFIG);
    ck_has(err.msg, "b must be");
    set_cfg("b", "0.75");
    set_cfg("path", "/proc/no/such/dir/x.sqlite");
    ck_assert_int_eq(g_desc->create(&g_host, (rk_instance *)&g_host, &c, &err), RK_ERR_IO);
}
END_TEST

START_TEST(other_languages)
{
    void *c;
    hits h;
    set_cfg("languages", "auto");
    c = open_rs();
    put1(c, "default", "fr", "Les chats dorment dans la maison avec les enfants.");
    put1(c, "default", "en", "Cats sleep in the house with the children.");
    /* French stopwords make the query French: "chat" matches "chats" */
    ck_assert_int_eq(search(c, "default", "le chat de la maison", &h), 1);
    ck_assert_str_eq(h.doc[0], "fr");
    ck_assert_int_eq(search(c, "default", "the cat", &h), 1);
    ck_assert_str_eq(h.doc[0], "en");
    g_desc->destroy(c);
}
END_TEST

/* ---- concurrency ---------------------------------------------------------- */

#define N_DOCS 500
#define CHUNKS_PER_DOC 4 /* 2,000 chunks */

typedef struct conc {
    void *ctx;
    pthread_mutex_t mu; /* a mutex, not atomics, so helgrind can follow it */
    long done, searches, errors, leaks;
} conc;

/* add n to *what under the mutex and return it */
static long conc_add(conc *k, long *what, long n)
{
    pthread_mutex_lock(&k->mu);
    long v = *what += n;
    pthread_mutex_unlock(&k->mu);
    return v;
}

static void conc_hit(void *ud, const rk_passage *p)
{
    conc *k = ud;
    if (strncmp(p->doc_id, "doc", 3) != 0 || !p->snippet) /* "secret*" is another tenant */
        conc_add(k, &k->leaks, 1);
}

static void *searcher(void *arg)
{
    conc *k = arg;
    static const char *const qs[] = {"river bank", "mountain trail", "quantum", "банк реки"};
    for (int i = 0; !conc_add(k, &k->done, 0) || i < 20; i++) {
        rk_query q = {.struct_size = sizeof q, .tenant = "main", .text = qs[i % 4], .k = 8};
        rk_err err = {{0}};
        if (g_vt->search(k->ctx, &q, conc_hit, k, &err) < 0)
            conc_add(k, &k->errors, 1);
        conc_add(k, &k->searches, 1);
    }
    return NULL;
}

static void *indexer(void *arg)
{
    conc *k = arg;
    char id[32], texts[CHUNKS_PER_DOC][128];
    const char *tp[CHUNKS_PER_DOC];
    for (int d = 0; d < N_DOCS; d++) {
        snprintf(id, sizeof id, "doc%d", d);
        for (int i = 0; i < CHUNKS_PER_DOC; i++) {
            snprintf(texts[i], sizeof texts[i], "%s chunk %d of %d: river bank %d, mountain trail",
                     i % 2 ? "Берег реки и банк" : "The quantum", i, d, d * 7 + i);
            tp[i] = texts[i];
        }
        put(k->ctx, "main", id, "Concurrent", tp, CHUNKS_PER_DOC);
        if (d % 100 == 0) /* some replacements along the way */
            put(k->ctx, "main", "doc0", "Concurrent", tp, 2);
    }
    conc_add(k, &k->done, 1);
    return NULL;
}

START_TEST(concurrent_search_while_indexing)
{
    conc k = {.ctx = open_rs(), .mu = PTHREAD_MUTEX_INITIALIZER};
    pthread_t s[4], w;
    put1(k.ctx, "secret", "secret1", "river bank mountain trail quantum");
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&s[i], NULL, searcher, &k), 0);
    ck_assert_int_eq(pthread_create(&w, NULL, indexer, &k), 0);
    pthread_join(w, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(s[i], NULL);
    ck_assert_int_eq(k.errors, 0);
    ck_assert_int_eq(k.leaks, 0);
    ck_assert_int_ge(k.searches, 80);
    int64_t total = 0;
    char id[32];
    for (int d = 0; d < N_DOCS; d++) {
        snprintf(id, sizeof id, "doc%d", d);
        total += chunks_of(k.ctx, "main", id);
    }
    ck_assert_int_eq(total, N_DOCS * CHUNKS_PER_DOC - 2); /* doc0 ends with 2 */
    ck_assert_double_eq(g_chunks_metric.value, total + 1);
    hits h;
    ck_assert_int_eq(search(k.ctx, "main", "банк", &h), 10);
    g_desc->destroy(k.ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("retriever_sqlite");
    ph_add_tcase(s, "core", 60, setup, teardown,
                 PH_TESTS(english_stemming, russian_inflections, mixed_scripts,
                          query_language_breaks_ties, snake_case_is_one_word,
                          stopword_only_query, empty_and_title_only, tenant_isolation,
                          doc_filter_and_k, replace_on_reindex, remove_doc, snippet_window,
                          persistence, rebuild_after_many_replaces, invalid_input,
                          deadline_and_fast, config_errors, other_languages, doc_versions,
                          garbage_page_heals, truncated_file_heals));
    /* CK_RUN_CASE=concurrency for helgrind */
    ph_add_tcase(s, "concurrency", 120, setup, teardown,
                 PH_TESTS(concurrent_search_while_indexing));
    return ph_run_suite(s);
}
