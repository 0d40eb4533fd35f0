/*
 * pool — owns the free list of per-thread workers (rs_worker: an analyser,
 * the scratch of a search, a read handle) of one retriever_sqlite instance.
 * A worker is costly to make (stemmers, a SQLite handle opened on first
 * search) and used for one call at a time, so calls borrow one and give it
 * back instead of making their own; the list grows to the largest number
 * of calls that ever ran at once and is freed with the instance.
 */
#include "pool.h"

#include <stdlib.h>

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

void rs_pool_drain(rs_ctx *c)
{
    while (c->pool) {
        rs_worker *w = c->pool;
        c->pool = w->next;
        rs_worker_free(w);
    }
}
