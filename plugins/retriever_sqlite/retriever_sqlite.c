/*
 * retriever_sqlite — the plugin descriptor and the instance lifecycle:
 * reading the config, creating the instance (the file is opened and
 * loaded by load.c), its metrics, and teardown. The vtable slots are in
 * ops.c, the pool of per-thread workers in pool.c.
 */
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

#include "load.h"
#include "ops.h"
#include "pool.h"
#include "rs.h"

static const rk_config_key rs_schema[] = {
    {"path", RK_CFG_STRING, "./data/retriever.sqlite", 0,
     "SQLite file of the chunks; parent directories are created"},
    {"k1", RK_CFG_DOUBLE, "0.9", 0, "BM25 term-frequency saturation (0..10)"},
    {"b", RK_CFG_DOUBLE, "0.6", 0, "BM25 document-length normalisation (0..1)"},
    {"max_query_terms", RK_CFG_INT, "32", 0,
     "most distinct query terms scored, the rarest first (1..64)"},
    {"languages", RK_CFG_LIST, "english,russian", 0,
     "Snowball stemmers to use (names or ISO codes, or \"auto\" for all); "
     "Cyrillic words use russian, Latin ones the language their stopwords "
     "point to (the first Latin language listed by default)"},
    {"snippet_tokens", RK_CFG_INT, "24", 0, "words in a highlighted snippet (4..1000)"},
    {"title_weight", RK_CFG_INT, "2", 0, "a title word counts as this many body words (1..10)"},
    {"busy_timeout", RK_CFG_DURATION, "5s", 0, "how long SQLite waits for a locked file"},
    {NULL, 0, NULL, 0, NULL}};

/* ---- config -------------------------------------------------------------- */

static int cfg_languages(rs_ctx *c, rk_err *err)
{
    const rk_host *h = c->host;
    size_t n = h->cfg_count(c->self, "languages");
    char where[128];
    c->opts.enabled = 0;
    c->opts.default_latin = -1;
    for (size_t i = 0; i < n; i++) {
        const char *name = h->cfg_item(c->self, "languages", i);
        int l = name ? tp_lang_find(name) : -1;
        if (name && strcmp(name, "auto") == 0) {
            c->opts.enabled |= tp_langset_all();
            continue;
        }
        if (l < 0)
            return rk_fail(err, RK_ERR_CONFIG, "%s: languages: unknown language \"%s\"",
                           h->cfg_where(c->self, "languages", where, sizeof where),
                           name ? name : "");
        c->opts.enabled |= (tp_langset)1 << l;
        if (c->opts.default_latin < 0 && tp_lang_script(l) == TP_SC_LATIN)
            c->opts.default_latin = l;
    }
    if (n == 0)
        c->opts.enabled = tp_langset_all();
    if (c->opts.default_latin < 0 && (c->opts.enabled >> tp_lang_english()) & 1)
        c->opts.default_latin = tp_lang_english();
    return RK_OK;
}

static int cfg_range(rs_ctx *c, const char *key, double v, double lo, double hi,
                     rk_err *err)
{
    char where[128];
    if (v >= lo && v <= hi)
        return RK_OK;
    return rk_fail(err, RK_ERR_CONFIG, "%s: %s must be between %g and %g",
                   c->host->cfg_where(c->self, key, where, sizeof where), key, lo, hi);
}

static int read_config(rs_ctx *c, rk_err *err)
{
    const rk_host *h = c->host;
    const char *path = h->cfg_string(c->self, "path");
    c->path = strdup(path && *path ? path : "./data/retriever.sqlite");
    if (!c->path)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    c->k1 = h->cfg_double(c->self, "k1");
    c->b = h->cfg_double(c->self, "b");
    int64_t mq = h->cfg_int(c->self, "max_query_terms");
    int64_t st = h->cfg_int(c->self, "snippet_tokens");
    int64_t tw = h->cfg_int(c->self, "title_weight");
    c->busy_ms = h->cfg_int(c->self, "busy_timeout");
    int rc = cfg_range(c, "k1", c->k1, 0, 10, err);
    if (rc == RK_OK)
        rc = cfg_range(c, "b", c->b, 0, 1, err);
    if (rc == RK_OK)
        rc = cfg_range(c, "max_query_terms", (double)mq, 1, RS_MAX_Q, err);
    if (rc == RK_OK)
        rc = cfg_range(c, "snippet_tokens", (double)st, 4, 1000, err);
    if (rc == RK_OK)
        rc = cfg_range(c, "title_weight", (double)tw, 1, 10, err);
    c->max_terms = (size_t)mq;
    c->snippet_tokens = (size_t)st;
    c->opts.title_weight = (uint32_t)tw;
    return rc == RK_OK ? cfg_languages(c, err) : rc;
}

/* ---- lifecycle ----------------------------------------------------------- */

static void metric_label(const char *name, char *out, size_t cap)
{
    size_t o = (size_t)snprintf(out, cap, "instance=\"");
    for (; name && *name && o + 3 < cap; name++)
        if (*name != '"' && *name != '\\' && *name != '\n')
            out[o++] = *name;
    snprintf(out + o, cap - o, "\"");
}

static void make_metrics(rs_ctx *c)
{
    char labels[160];
    if (!c->host->metric)
        return;
    metric_label(c->host->instance_name ? c->host->instance_name(c->self) : "", labels,
                 sizeof labels);
    c->m_search = c->host->metric(RK_METRIC_HISTOGRAM, "ragkernel_retriever_search_seconds",
                                  "Time to rank and fetch the passages of one search",
                                  labels);
    c->m_chunks = c->host->metric(RK_METRIC_GAUGE, "ragkernel_retriever_chunks",
                                  "Chunks in the retrieval index", labels);
}

static void rs_destroy(void *ctx)
{
    rs_ctx *c = ctx;
    if (!c)
        return;
    rs_pool_drain(c);
    mi_index_free(c->mi);
    st_close(c->wdb);
    pthread_rwlock_destroy(&c->lock);
    pthread_mutex_destroy(&c->wmu);
    pthread_mutex_destroy(&c->pool_mu);
    free(c->path);
    free(c);
}

static int init_locks(rs_ctx *c)
{
    pthread_rwlockattr_t a;
    /* glibc prefers readers by default: a steady stream of searches would
     * starve index() for ever */
    if (pthread_rwlockattr_init(&a) != 0)
        return -1;
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    int rc = pthread_rwlock_init(&c->lock, &a);
    pthread_rwlockattr_destroy(&a);
    if (rc == 0 && pthread_mutex_init(&c->wmu, NULL) != 0)
        rc = -1;
    if (rc == 0 && pthread_mutex_init(&c->pool_mu, NULL) != 0)
        rc = -1;
    return rc;
}

static int rs_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    *ctx = NULL;
    if (!RK_HAS_FIELD(host, rk_host, metric_observe))
        return rk_fail(err, RK_ERR_ABI, "host table too old");
    rs_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    c->host = host;
    c->self = self;
    if (init_locks(c) != 0) {
        free(c);
        return rk_fail(err, RK_ERR_NOMEM, "cannot create locks");
    }
    int rc = read_config(c, err);
    /* one process per index file (the host keeps it across reloads) */
    if (rc == RK_OK && RK_HAS_FIELD(host, rk_host, lock_path) && host->lock_path)
        rc = host->lock_path(self, c->path, err);
    if (rc == RK_OK && !(c->mi = mi_index_new()))
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
    if (rc == RK_OK)
        rc = rs_load(c, err);
    if (rc != RK_OK) {
        rs_destroy(c);
        return rc;
    }
    make_metrics(c);
    rs_set_chunk_gauge(c);
    *ctx = c;
    return RK_OK;
}

static const rk_retriever_vtable rs_vtable = {
    .struct_size = sizeof(rk_retriever_vtable),
    .index = rs_index,
    .remove = rs_remove,
    .search = rs_search,
    .doc_chunks = rs_doc_chunks,
    .index_versioned = rs_index_versioned,
    .doc_version = rs_doc_version,
};

static const rk_plugin rs_plugin = {
    RK_PLUGIN_HEADER,
    .kind = RK_KIND_RETRIEVER,
    .name = "retriever_sqlite",
    .version = "1.0.0",
    .description = "BM25 over SQLite with Snowball stemming (English, Russian and "
                   "more), served from an in-memory index",
    .flags = 0,
    .config = rs_schema,
    .create = rs_create,
    .destroy = rs_destroy,
    .vtable = &rs_vtable,
};

RK_PLUGIN_DEFINE(rs_plugin)
