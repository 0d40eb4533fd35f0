/*
 * rs — the retriever_sqlite instance: its context, shared by the plugin
 * descriptor (retriever_sqlite.c: config, create, load, destroy) and the
 * vtable slots (ops.c: index, remove, search, doc_chunks).
 *
 * Locking, always in this order:
 *   wmu   — one writer at a time: the SQLite write handle, rebuilds;
 *   lock  — rwlock over the in-memory index: searches read, writers take
 *           it only to apply a committed change (microseconds);
 *   pool_mu — the free list of per-thread workers.
 */
#ifndef RK_RETRIEVER_SQLITE_RS_H
#define RK_RETRIEVER_SQLITE_RS_H

#include <pthread.h>
#include <ragkernel/host.h>
#include <ragkernel/retriever.h>

#include "analyze.h"
#include "memindex.h"
#include "snippet.h"
#include "store.h"

#define RS_MAX_Q 64 /* distinct query terms analysed */

/* What one thread needs to index or search; reused through a free list. */
typedef struct rs_worker {
    struct rs_worker *next;
    tp_analyzer *an;
    an_bagger *bag;
    mi_scratch *mis;
    snip_ctx *snip;
    st_db *rd;        /* read handle, opened on first search */
    an_buf blobs;     /* bags of the chunks being indexed */
    mi_hit *hits;
    size_t hits_cap;
    an_qterm q[RS_MAX_Q];
} rs_worker;

typedef struct rs_ctx {
    const rk_host *host;
    rk_instance *self;
    char *path;
    double k1, b;
    size_t max_terms, snippet_tokens;
    int64_t busy_ms;
    an_opts opts;

    pthread_mutex_t wmu;
    st_db *wdb;
    uint64_t n_chunks; /* live chunks over all tenants (under wmu) */

    pthread_rwlock_t lock;
    mi_index *mi;

    pthread_mutex_t pool_mu;
    rs_worker *pool;

    rk_metric *m_search, *m_chunks;
} rs_ctx;

/* heal.c: move the damaged file at c->path (and its -wal, -shm) aside as
 * <path>.corrupt-<UTC time>, logging one line with why. */
int rs_set_aside(rs_ctx *c, const char *why, rk_err *err);

rs_worker *rs_worker_get(rs_ctx *c);
void rs_worker_put(rs_ctx *c, rs_worker *w);
void rs_worker_free(rs_worker *w);

/* Replace the tenant's in-memory index with one loaded from SQLite (drops
 * dead postings). Caller holds wmu. */
int rs_rebuild_tenant(rs_ctx *c, const char *tenant, rk_err *err);
void rs_set_chunk_gauge(rs_ctx *c);

int rs_index(void *ctx, const rk_chunk *chunks, size_t n, rk_err *err);
int rs_remove(void *ctx, const char *tenant, const char *doc_id, rk_err *err);
int rs_search(void *ctx, const rk_query *q,
              void (*on_hit)(void *ud, const rk_passage *p), void *ud,
              rk_err *err);
int64_t rs_doc_chunks(void *ctx, const char *tenant, const char *doc_id,
                      rk_err *err);
int rs_index_versioned(void *ctx, const rk_chunk *chunks, size_t n, const char *version,
                       rk_err *err);
int rs_doc_version(void *ctx, const char *tenant, const char *doc_id, char *out,
                   size_t cap, rk_err *err);

#endif
