/*
 * load — owns what moves chunks from the SQLite file into the in-memory
 * index: opening and loading the file at create() (re-analysing stored
 * chunks first if the analysis changed since they were written), and the
 * rebuild of one tenant's index when removals have left too many dead
 * postings in it, with the chunk gauge both keep current.
 *
 * SQLite holds the index's truth; memory holds what makes search fast; a
 * damaged file is set aside and rebuilt (heal.c), since documents' truth
 * is their storage. Loading replays stored bags (no re-stemming), so a
 * restart costs about one sequential read of the file.
 */
#include "load.h"

#include <stdlib.h>
#include <string.h>

#include "pool.h"

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
int rs_load(rs_ctx *c, rk_err *err)
{
    int fault = ST_NONE;
    int rc = st_probe(c->path, c->busy_ms, &fault, err);
    if (rc != RK_OK && fault == ST_CORRUPT)
        rc = rs_set_aside(c, err->msg, err);
    return rc == RK_OK ? load_file(c, err) : rc;
}
