/*
 * retriever_sqlite — the plugin descriptor and the instance lifecycle:
 * reading the config, opening the SQLite file, loading every stored chunk
 * into the in-memory index (re-analysing stored chunks first if the
 * analysis changed since they were written), rebuilding a tenant's index
 * when removals have left too many dead postings in it, the pool of
 * per-thread workers, and teardown. The vtable slots are in ops.c.
 *
 * SQLite holds the index's truth; memory holds what makes search fast; a
 * damaged file is set aside and rebuilt (heal.c), since documents' truth
 * is their storage. Loading at
 * create() replays stored bags (no re-stemming), so a restart costs about
 * one sequential read of the file.
 */
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

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

/* ---- workers --------------------------------------------------------------- */

void rs_worker_free(rs_worker *w)
{
    if (!w)
        return;
    tp_analyzer_free(w->an);
    an_bagger_free(w->bag);
    mi_scratch_free(w->mis);
    snip_free(w->snip);
    st_close(w->rd);
    an_buf_free(&w->blobs);
    free(w->hits);
    free(w);
}

rs_worker *rs_worker_get(rs_ctx *c)
{
    pthread_mutex_lock(&c->pool_mu);
    rs_worker *w = c->pool;
    if (w)
        c->pool = w->next;
    pthread_mutex_unlock(&c->pool_mu);
    if (w)
        return w;
    w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->an = tp_analyzer_new(c->opts.enabled);
    w->bag = an_bagger_new();
    w->mis = mi_scratch_new();
    w->snip = snip_new();
    if (!w->an || !w->bag || !w->mis || !w->snip) {
        rs_worker_free(w);
        return NULL;
    }
    return w;
}

void rs_worker_put(rs_ctx *c, rs_worker *w)
{
    pthread_mutex_lock(&c->pool_mu);
    w->next = c->pool;
    c->pool = w;
    pthread_mutex_unlock(&c->pool_mu);
}

/* ---- loading --------------------------------------------------------------- */

typedef struct load_state {
    mi_index *mi;      /* full load */
    mi_tenant *one;    /* or: rebuild of one tenant */
    mi_tenant *last;
    uint64_t rows;
} load_state;

static int load_row(void *ud, const st_row *r)
{
    load_state *ls = ud;
    mi_tenant *t = ls->one;
    if (!t) {
        if (!ls->last || strcmp(mi_tenant_name(ls->last), r->tenant) != 0)
            ls->last = mi_get(ls->mi, r->tenant);
        t = ls->last;
    }
    if (!t || mi_add(t, r->rowid, r->doc_id, r->dl, tp_lang_find(r->latin),
                     tp_lang_find(r->lang), r->terms, r->terms_len) < 0)
        return RK_ERR_NOMEM;
    ls->rows++;
    return 0;
}

void rs_set_chunk_gauge(rs_ctx *c)
{
    if (c->m_chunks && c->host->metric_set)
        c->host->metric_set(c->m_chunks, (double)c->n_chunks);
}

int rs_rebuild_tenant(rs_ctx *c, const char *tenant, rk_err *err)
{
    load_state ls = {.one = mi_tenant_new(tenant)};
    if (!ls.one)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    int rc = st_scan(c->wdb, tenant, 0, load_row, &ls, err);
    if (rc != RK_OK) {
        mi_tenant_free(ls.one);
        return rc == RK_ERR_NOMEM ? rk_fail(err, rc, "out of memory rebuilding the index") : rc;
    }
    pthread_rwlock_wrlock(&c->lock);
    mi_tenant *old = mi_swap(c->mi, ls.one);
    uint64_t before = old ? mi_tenant_live(old) : 0;
    pthread_rwlock_unlock(&c->lock);
    c->n_chunks = c->n_chunks - before + ls.rows;
    mi_tenant_free(old);
    return RK_OK;
}

typedef struct reanalyse_state {
    rs_ctx *c;
    rs_worker *w;
    int64_t *ids;
    size_t n, cap;
} reanalyse_state;

static int collect_id(void *ud, const st_row *r)
{
    reanalyse_state *s = ud;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        int64_t *p = realloc(s->ids, cap * sizeof *p);
        if (!p)
            return RK_ERR_NOMEM;
        s->ids = p;
        s->cap = cap;
    }
    s->ids[s->n++] = r->rowid;
    return 0;
}

static int reanalyse_one(reanalyse_state *s, const st_row *r, rk_err *err)
{
    an_chunk_info info;
    rs_worker *w = s->w;
    if (an_chunk(w->an, w->bag, &s->c->opts, r->title, r->text, r->lang, -1, &info,
                 &w->blobs) < 0)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    return st_update_terms(s->c->wdb, r->rowid, tp_lang_code(info.latin), info.dl,
                           w->blobs.p, w->blobs.len, err);
}

/* Stored bags were made by another version of the analysis: redo them all
 * in one transaction, so a crash midway leaves the old version intact. */
static int reanalyse(rs_ctx *c, rk_err *err)
{
    reanalyse_state s = {.c = c, .w = rs_worker_get(c)};
    if (!s.w)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    int rc = st_begin(c->wdb, err);
    if (rc == RK_OK)
        rc = st_scan(c->wdb, NULL, 0, collect_id, &s, err);
    for (size_t i = 0; rc == RK_OK && i < s.n; i++) {
        st_row r;
        int found = st_fetch(c->wdb, s.ids[i], NULL, &r, err);
        rc = found < 0 ? found : found ? reanalyse_one(&s, &r, err) : RK_OK;
    }
    if (c->wdb)
        st_fetch_done(c->wdb);
    if (rc == RK_OK)
        rc = st_commit(c->wdb, err);
    if (rc != RK_OK)
        st_rollback(c->wdb);
    else if (s.n)
        c->host->log(c->self, RK_LOG_INFO, "re-analysed %zu stored chunks", s.n);
    free(s.ids);
    rs_worker_put(c, s.w);
    return rc;
}

static int load_file(rs_ctx *c, rk_err *err)
{
    int version = 0;
    int64_t t0 = c->host->now_ms();
    int rc = st_open(c->path, c->busy_ms, 0, &c->wdb, err);
    if (rc == RK_OK)
        rc = st_get_version(c->wdb, &version, err);
    if (rc == RK_OK && version != AN_VERSION) {
        rc = reanalyse(c, err);
        if (rc == RK_OK)
            rc = st_set_version(c->wdb, AN_VERSION, err);
    }
    load_state ls = {.mi = c->mi};
    if (rc == RK_OK)
        rc = st_scan(c->wdb, NULL, 0, load_row, &ls, err);
    if (rc == RK_ERR_NOMEM)
        return rk_fail(err, rc, "out of memory (or a corrupt bag) loading %s", c->path);
    if (rc != RK_OK)
        return rc;
    c->n_chunks = ls.rows;
    c->host->log(c->self, RK_LOG_INFO, "loaded %llu chunks from %s in %lld ms",
                 (unsigned long long)ls.rows, c->path,
                 (long long)(c->host->now_ms() - t0));
    return RK_OK;
}

/* Check, open and load; a damaged file is set aside and the index starts
 * empty (heal.c), since the host re-indexes every stored document. */
static int open_and_load(rs_ctx *c, rk_err *err)
{
    int fault = ST_NONE;
    int rc = st_probe(c->path, c->busy_ms, &fault, err);
    if (rc != RK_OK && fault == ST_CORRUPT)
        rc = rs_set_aside(c, err->msg, err);
    return rc == RK_OK ? load_file(c, err) : rc;
}

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
    while (c->pool) {
        rs_worker *w = c->pool;
        c->pool = w->next;
        rs_worker_free(w);
    }
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
        rc = open_and_load(c, err);
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
