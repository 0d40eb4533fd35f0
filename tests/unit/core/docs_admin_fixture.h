/*
 * docs_admin_fixture — what the document-admin tests (test_docs_admin:
 * status and re-index; test_docs_async: asynchronous upload and its
 * tracker) share: a real registry with storage_local and retriever_sqlite
 * (or a named test retriever) from $BUILD/plugins in a temp directory, a
 * real worker pool, a sink that records one status and the outcome, and
 * each operation run and waited for. Header-only: each test program
 * compiles its own copy.
 */
#ifndef RK_TEST_DOCS_ADMIN_FIXTURE_H
#define RK_TEST_DOCS_ADMIN_FIXTURE_H

#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docs.h"
#include "docs_env.h"
#include "docs_admin.h"
#include "hostapi.h"
#include "ingest.h"
#include "log.h"
#include "pool.h"
#include "registry.h"
#include "testenv.h"
#include "tmpdir.h"
#include "waiter.h"

#define WAIT_MS 20000

static char g_dir[128];

/* ---- a sink that records the status and the outcome ------------------- */

typedef struct result {
    ph_latch latch;
    int done, status, http, statuses;
    char msg[512], id[80], state[16], error[512], version[80], phase[16];
    int has_meta;
    uint64_t size, bytes_total, bytes_stored, chunks_total, chunks_indexed;
    int64_t chunks, indexed_ms;
} result;

static inline void copy(char *dst, size_t cap, const char *s) { snprintf(dst, cap, "%s", s ? s : ""); }

static inline void on_status(void *ud, const rk_doc_status *st)
{
    result *r = ud;
    r->statuses++;
    copy(r->id, sizeof r->id, st->id);
    copy(r->state, sizeof r->state, st->state);
    copy(r->error, sizeof r->error, st->error);
    copy(r->version, sizeof r->version, st->version);
    copy(r->phase, sizeof r->phase, st->phase);
    r->has_meta = st->meta != NULL;
    r->size = st->meta ? st->meta->size : 0;
    r->chunks = st->chunks;
    r->indexed_ms = st->indexed_ms;
    r->bytes_total = st->bytes_total;
    r->bytes_stored = st->bytes_stored;
    r->chunks_total = st->chunks_total;
    r->chunks_indexed = st->chunks_indexed;
}

static inline void on_done(void *ud, int status, int http, const char *msg, const char *next)
{
    (void)next;
    result *r = ud;
    r->status = status;
    r->http = http;
    copy(r->msg, sizeof r->msg, msg);
    r->done++;
    ph_latch_fire(&r->latch);
}

static const rk_doc_sink SINK = {.struct_size = sizeof SINK, .on_done = on_done,
                                 .on_status = on_status};

static inline void res_init(result *r)
{
    memset(r, 0, sizeof *r);
    ph_latch_init(&r->latch);
}

static inline void res_wait(result *r)
{
    ph_latch_wait(&r->latch, WAIT_MS);
    ck_assert_msg(r->done == 1, "on_done came %d times within %d ms", r->done, WAIT_MS);
    ph_latch_destroy(&r->latch);
}

/* ---- environment -------------------------------------------------------- */

static inline void setup(void)
{
    ph_tmpdir(g_dir, sizeof g_dir);
    log_configure(RK_LOG_ERROR, LOG_LOGFMT);
}

static inline void teardown(void) { ph_rmtree(g_dir); }

/* storage_local at <dir>/documents; retriever_sqlite at <dir>/index.sqlite,
 * or the named test retriever. */
static inline env env_open(const char *retriever)
{
    return docs_env_open(g_dir, "storage_local", "index.sqlite", retriever, NULL);
}

/* ---- operations, waited for ----------------------------------------------- */

static inline void ignore_meta(void *ud, const rk_doc_meta *m) { (void)ud, (void)m; }

static inline int put_sync(env *e, const char *tenant, const char *id, const char *name,
                    const char *text)
{
    result r;
    rk_doc_sink s = SINK;
    s.on_meta = ignore_meta;
    rk_doc_upload up = {sizeof up, tenant, id, name, NULL, text, strlen(text)};
    rk_err err = {{0}};
    res_init(&r);
    ck_assert_msg(docs_put(e->docs, &up, &s, &r, &err) == RK_OK, "docs_put: %s", err.msg);
    res_wait(&r);
    return r.http;
}

static inline void status(env *e, const char *tenant, const char *id, result *r)
{
    rk_err err = {{0}};
    res_init(r);
    ck_assert_int_eq(docs_status(e->docs, tenant, id, &SINK, r, &err), RK_OK);
    res_wait(r);
}

static inline void drop_chunks(env *e, const char *tenant, const char *id)
{
    const rk_retriever_vtable *vt = e->retriever->plugin->vtable;
    rk_err err = {{0}};
    ck_assert_int_eq(vt->remove(e->retriever->ctx, tenant, id, &err), RK_OK);
}


static const char *const V1 = "Keepers log the fog signal every hour.\n\n"
                              "The lamp is trimmed at dusk and the lens cleaned at dawn.\n";

#endif
