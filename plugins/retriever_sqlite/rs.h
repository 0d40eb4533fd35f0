/*
 * rs — the retriever_sqlite instance: its context, shared by the plugin
 * descriptor (retriever_sqlite.c: config, create, destroy), loading
 * (load.c), the worker pool (pool.c) and the vtable slots (ops.c: index,
 * remove, search, doc_chunks).
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
#include "mi_search.h"
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

#endif
