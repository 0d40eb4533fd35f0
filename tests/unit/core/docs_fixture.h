/*
 * docs_fixture — what the document service tests share: a real registry
 * with storage_local (or a test plugin) and retriever_sqlite from
 * $BUILD/plugins in a temp directory, a real worker pool, a sink that
 * records everything and is waited for like a transport would, and each
 * operation run and waited for. Header-only: each test program compiles
 * its own copy.
 */
#ifndef RK_TEST_DOCS_FIXTURE_H
#define RK_TEST_DOCS_FIXTURE_H

#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "docs.h"
#include "docs_env.h"
#include "hostapi.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "registry.h"
#include "sha256.h"
#include "strbuf.h"
#include "testenv.h"
#include "tmpdir.h"
#include "waiter.h"

#define WAIT_MS 20000

static char g_dir[128];
static const char *g_retriever; /* NULL: retriever_sqlite */

/* ---- a sink that records everything and can be waited for ------------ */

typedef struct meta_copy {
    char id[80], tenant[80], filename[300], ctype[64], sha[80];
    uint64_t size;
} meta_copy;

typedef struct result {
    ph_latch done_latch; /* fired by on_done */
    int done, status, http, has_next;
    int stop_after, data_calls; /* on_data refuses after stop_after calls (0 = never) */
    char msg[512], next[80];
    meta_copy metas[64];
    size_t n_metas;
    strbuf data;
} result;

static inline void res_init(result *r)
{
    memset(r, 0, sizeof *r);
    ph_latch_init(&r->done_latch);
}

static inline void res_free(result *r)
{
    sb_free(&r->data);
    ph_latch_destroy(&r->done_latch);
}

static inline void copy_str(char *dst, size_t cap, const char *s) { snprintf(dst, cap, "%s", s ? s : ""); }

/* Callbacks of one operation come in order from one worker: no lock. */
static inline void on_meta(void *ud, const rk_doc_meta *m)
{
    result *r = ud;
    if (r->n_metas >= 64) return;
    meta_copy *c = &r->metas[r->n_metas++];
    copy_str(c->id, sizeof c->id, m->id);
    copy_str(c->tenant, sizeof c->tenant, m->tenant);
    copy_str(c->filename, sizeof c->filename, m->filename);
    copy_str(c->ctype, sizeof c->ctype, m->content_type);
    copy_str(c->sha, sizeof c->sha, m->sha256);
    c->size = m->size;
}

static inline int on_data(void *ud, const void *data, size_t len)
{
    result *r = ud;
    sb_append(&r->data, data, len);
    return r->stop_after && ++r->data_calls >= r->stop_after ? -1 : 0;
}

static inline void on_done(void *ud, int status, int http, const char *msg, const char *next)
{
    result *r = ud;
    r->status = status;
    r->http = http;
    copy_str(r->msg, sizeof r->msg, msg);
    r->has_next = next != NULL;
    copy_str(r->next, sizeof r->next, next);
    r->done++;
    ph_latch_fire(&r->done_latch);
}

static const rk_doc_sink SINK = {sizeof SINK, on_meta, on_data, on_done, NULL};

static inline void res_wait(result *r)
{
    ph_latch_wait(&r->done_latch, WAIT_MS);
    ck_assert_msg(r->done == 1, "on_done came %d times within %d ms", r->done, WAIT_MS);
}

/* ---- environment --------------------------------------------------------- */

static inline void setup(void)
{
    ph_tmpdir(g_dir, sizeof g_dir);
    log_configure(RK_LOG_WARN, LOG_LOGFMT);
}

static inline void teardown(void) { ph_rmtree(g_dir); }

/* A registry with storage `storage_plugin` (root <dir>/documents) and
 * retriever_sqlite at <dir>/<index> (or g_retriever). */
static inline env env_open(const char *storage_plugin, const char *index, const char *seed_dir)
{
    return docs_env_open(g_dir, storage_plugin, index, g_retriever, seed_dir);
}

/* ---- operations, waited for ------------------------------------------------ */

/* Each runs one call and waits for its on_done; r holds what came back. */
static inline void put(env *e, const char *tenant, const char *id, const char *filename,
                const char *ctype, const void *data, size_t len, result *r)
{
    rk_doc_upload up = {sizeof up, tenant, id, filename, ctype, data, len};
    rk_err err = {{0}};
    res_init(r);
    ck_assert_msg(docs_put(e->docs, &up, &SINK, r, &err) == RK_OK, "docs_put: %s", err.msg);
    res_wait(r);
}

static inline void put_fixture(env *e, const char *tenant, const char *name, result *r)
{
    size_t len;
    char *buf = ph_fixture(name, &len);
    put(e, tenant, NULL, name, NULL, buf, len, r);
    free(buf);
    ck_assert_msg(r->status == RK_OK && r->http == 201, "put %s: %d %s", name, r->http, r->msg);
    ck_assert_uint_eq(r->n_metas, 1);
}

static inline void list(env *e, const char *tenant, const char *after, size_t limit, result *r)
{
    rk_err err = {{0}};
    res_init(r);
    ck_assert_int_eq(docs_list(e->docs, tenant, after, limit, &SINK, r, &err), RK_OK);
    res_wait(r);
}

/* stop_after > 0: the sink's on_data refuses after that many pieces. */
static inline void get(env *e, const char *id, uint64_t off, uint64_t len, int stop_after, result *r)
{
    rk_err err = {{0}};
    res_init(r);
    r->stop_after = stop_after;
    ck_assert_int_eq(docs_get(e->docs, NULL, id, off, len, &SINK, r, &err), RK_OK);
    res_wait(r);
}

/* The HTTP status of one call, its result discarded. */
static inline int put_http(env *e, const char *tenant, const char *id, const char *filename,
                    const char *ctype, const char *text)
{
    result r;
    put(e, tenant, id, filename, ctype, text, strlen(text), &r);
    res_free(&r);
    return r.http;
}

static inline int get_http(env *e, const char *id, uint64_t off)
{
    result r;
    get(e, id, off, 0, 0, &r);
    res_free(&r);
    return r.http;
}

static inline int del_http(env *e, const char *id)
{
    result r;
    rk_err err = {{0}};
    res_init(&r);
    ck_assert_int_eq(docs_delete(e->docs, NULL, id, &SINK, &r, &err), RK_OK);
    res_wait(&r);
    res_free(&r);
    return r.http;
}

static inline size_t list_count(env *e, const char *tenant)
{
    result r;
    list(e, tenant, NULL, 0, &r);
    ck_assert_int_eq(r.http, 200);
    res_free(&r);
    return r.n_metas;
}

typedef struct hits {
    size_t n;
    char ids[16][80];
} hits;

static inline void on_hit(void *ud, const rk_passage *p)
{
    hits *h = ud;
    if (h->n < 16) copy_str(h->ids[h->n], sizeof h->ids[0], p->doc_id);
    h->n++;
}

/* Number of hits of `doc_id` for the query (all hits if doc_id is NULL). */
static inline size_t search(env *e, const char *tenant, const char *text, const char *doc_id)
{
    const rk_retriever_vtable *vt = e->retriever->plugin->vtable;
    rk_query q = {.struct_size = sizeof q, .tenant = tenant, .text = text, .k = 16};
    hits h = {0};
    rk_err err = {{0}};
    int rc = vt->search(e->retriever->ctx, &q, on_hit, &h, &err);
    ck_assert_msg(rc >= 0, "search: %s", err.msg);
    size_t n = 0;
    for (size_t i = 0; i < h.n && i < 16; i++) n += !doc_id || strcmp(h.ids[i], doc_id) == 0;
    return n;
}

static inline int64_t chunks_of(env *e, const char *tenant, const char *id)
{
    const rk_retriever_vtable *vt = e->retriever->plugin->vtable;
    rk_err err = {{0}};
    return vt->doc_chunks(e->retriever->ctx, tenant, id, &err);
}

static inline void wait_reindex(env *e)
{
    for (int i = 0; i < WAIT_MS / 10 && docs_reindex_running(e->docs); i++) usleep(10000);
    ck_assert_int_eq(docs_reindex_running(e->docs), 0);
}

#endif
