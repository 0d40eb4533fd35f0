/*
 * test_docs_admin — per-document status, re-index and asynchronous upload
 * (docs_admin.h) on a real registry: storage_local and retriever_sqlite
 * (or $BUILD/test-plugins/retriever_flaky.so, which refuses chunks with
 * "[failindex]") in a temp directory and a real worker pool. Covers the
 * states (indexed, failed after a lost index, failed re-extraction,
 * pending, stored-but-never-indexed after a restart), 400/404 and tenants
 * kept apart, progress counters of an async upload, a failed async
 * replacement reported although the previous version stays indexed,
 * docs_free finishing an accepted upload, and the tracker's bound.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docs.h"
#include "ingest.h"
#include "docs_admin.h"
#include "docs_track.h"
#include "hostapi.h"
#include "log.h"
#include "pool.h"
#include "registry.h"
#include "sha256.h"
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

static void copy(char *dst, size_t cap, const char *s) { snprintf(dst, cap, "%s", s ? s : ""); }

static void on_status(void *ud, const rk_doc_status *st)
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

static void on_done(void *ud, int status, int http, const char *msg, const char *next)
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

static void res_init(result *r)
{
    memset(r, 0, sizeof *r);
    ph_latch_init(&r->latch);
}

static void res_wait(result *r)
{
    ph_latch_wait(&r->latch, WAIT_MS);
    ck_assert_msg(r->done == 1, "on_done came %d times within %d ms", r->done, WAIT_MS);
    ph_latch_destroy(&r->latch);
}

/* ---- environment -------------------------------------------------------- */

typedef struct env {
    registry *reg;
    pool *pool;
    docs *docs;
    rk_instance *storage, *retriever;
} env;

static void setup(void)
{
    ph_tmpdir(g_dir, sizeof g_dir);
    log_configure(RK_LOG_ERROR, LOG_LOGFMT);
}

static void teardown(void) { ph_rmtree(g_dir); }

/* The configured extractor instances (extract_text) read e's uploads. */
static void with_extractors(env *e)
{
    rk_err err = {{0}};
    ingest_set *ing = ingest_set_new(e->reg, &err);
    ck_assert_msg(ing != NULL, "ingest_set_new: %s", err.msg);
    docs_set_ingest(e->docs, ing);
}

/* storage_local at <dir>/documents; retriever_sqlite at <dir>/index.sqlite,
 * or the named test retriever. */
static env env_open(const char *retriever)
{
    char yaml[256], text[2048], index_cfg[512];
    if (retriever)
        snprintf(index_cfg, sizeof index_cfg, "    plugin: %s\n", retriever);
    else
        snprintf(index_cfg, sizeof index_cfg,
                 "    plugin: retriever_sqlite\n    config: {path: \"%s/index.sqlite\"}\n", g_dir);
    snprintf(yaml, sizeof yaml, "%s/rk.yaml", g_dir);
    snprintf(text, sizeof text,
             "server:\n  plugin_path: [\"%s/plugins\", \"%s/test-plugins\"]\n"
             "instances:\n  files:\n    plugin: storage_local\n"
             "    config: {root: \"%s/documents\"}\n  index:\n%s"
             "  text:\n    plugin: extract_text\n",
             ph_build_dir(), ph_build_dir(), g_dir, index_cfg);
    FILE *f = fopen(yaml, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    cfg_diag d = {0};
    rk_conf *c = conf_load(yaml, &d);
    ck_assert_msg(c != NULL, "conf: %s", d.n ? d.lines[0] : "?");
    env e = {0};
    e.reg = registry_build(c, hostapi_table(), &d);
    ck_assert_msg(e.reg != NULL, "registry: %s", d.n ? d.lines[0] : "?");
    cfg_diag_free(&d);
    rk_err err = {{0}};
    ck_assert_msg(registry_start(e.reg, &err) == RK_OK, "start: %s", err.msg);
    e.pool = pool_new(3, &err);
    ck_assert_ptr_nonnull(e.pool);
    e.storage = registry_get(e.reg, "files");
    e.retriever = registry_get(e.reg, "index");
    e.docs = docs_new(e.storage, e.retriever, e.pool, NULL, &err);
    ck_assert_msg(e.docs != NULL, "docs_new: %s", err.msg);
    with_extractors(&e);
    return e;
}

static void env_close(env *e)
{
    docs_free(e->docs);
    pool_free(e->pool);
    registry_stop(e->reg, 0);
    registry_unref(e->reg);
}

/* ---- operations, waited for ----------------------------------------------- */

static void ignore_meta(void *ud, const rk_doc_meta *m) { (void)ud, (void)m; }

static int put_sync(env *e, const char *tenant, const char *id, const char *name,
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

static void put_async(env *e, const char *tenant, const char *id, const char *name,
                      const char *text, size_t len, result *r)
{
    rk_doc_upload up = {sizeof up, tenant, id, name, NULL, text, len};
    rk_err err = {{0}};
    res_init(r);
    ck_assert_msg(docs_put_async(e->docs, &up, &SINK, r, &err) == RK_OK, "async: %s", err.msg);
    res_wait(r);
}

static void status(env *e, const char *tenant, const char *id, result *r)
{
    rk_err err = {{0}};
    res_init(r);
    ck_assert_int_eq(docs_status(e->docs, tenant, id, &SINK, r, &err), RK_OK);
    res_wait(r);
}

static void reindex(env *e, const char *tenant, const char *id, result *r)
{
    rk_err err = {{0}};
    res_init(r);
    ck_assert_int_eq(docs_reindex(e->docs, tenant, id, &SINK, r, &err), RK_OK);
    res_wait(r);
}

/* Poll the status until its state is no longer "pending". */
static void status_settled(env *e, const char *id, result *r)
{
    for (int i = 0; i < WAIT_MS / 20; i++) {
        status(e, NULL, id, r);
        if (strcmp(r->state, "pending") != 0) return;
        ph_sleep_ms(20);
    }
    ck_abort_msg("%s still pending after %d ms", id, WAIT_MS);
}

static void sha_hex(const char *text, char hex[SHA256_HEX_LEN])
{
    sha256_ctx sc;
    sha256_init(&sc);
    sha256_update(&sc, text, strlen(text));
    sha256_final_hex(&sc, hex);
}

static void drop_chunks(env *e, const char *tenant, const char *id)
{
    const rk_retriever_vtable *vt = e->retriever->plugin->vtable;
    rk_err err = {{0}};
    ck_assert_int_eq(vt->remove(e->retriever->ctx, tenant, id, &err), RK_OK);
}

typedef struct mem_src {
    const char *p;
    size_t left;
} mem_src;

static int64_t read_mem(void *ud, void *buf, size_t cap)
{
    mem_src *m = ud;
    size_t n = m->left < cap ? m->left : cap;
    memcpy(buf, m->p, n);
    m->p += n;
    m->left -= n;
    return (int64_t)n;
}

/* Bytes straight into storage, bypassing extraction and the index. */
static void store_raw(env *e, const char *id, const char *ctype, const char *data, size_t len)
{
    char hex[SHA256_HEX_LEN];
    sha256_ctx sc;
    sha256_init(&sc);
    sha256_update(&sc, data, len);
    sha256_final_hex(&sc, hex);
    rk_doc_meta m = {.struct_size = sizeof m, .tenant = "default", .id = id,
                     .filename = id, .content_type = ctype, .size = len, .sha256 = hex,
                     .created_ms = 1};
    mem_src src = {data, len};
    const rk_storage_vtable *vt = e->storage->plugin->vtable;
    rk_err err = {{0}};
    ck_assert_msg(vt->put(e->storage->ctx, &m, read_mem, &src, &err) == RK_OK, "%s", err.msg);
}

/* ---- tests ------------------------------------------------------------------- */

static const char *const V1 = "Keepers log the fog signal every hour.\n\n"
                              "The lamp is trimmed at dusk and the lens cleaned at dawn.\n";

START_TEST(status_of_indexed_document)
{
    env e = env_open(NULL);
    char hex[SHA256_HEX_LEN];
    result r;
    ck_assert_int_eq(put_sync(&e, NULL, "log", "log.txt", V1), 201);
    status(&e, NULL, "log", &r);
    ck_assert_int_eq(r.http, 200);
    ck_assert_int_eq(r.statuses, 1);
    ck_assert_str_eq(r.id, "log");
    ck_assert_str_eq(r.state, "indexed");
    ck_assert_str_eq(r.error, "");
    ck_assert_int_ge(r.chunks, 1);
    ck_assert(r.has_meta);
    ck_assert_uint_eq(r.size, strlen(V1));
    sha_hex(V1, hex);
    ck_assert_str_eq(r.version, hex);
    ck_assert_int_gt(r.indexed_ms, 1600000000000LL);
    /* unknown, another tenant's, a bad id, a bad tenant */
    status(&e, NULL, "nothing", &r);
    ck_assert_int_eq(r.http, 404);
    ck_assert_int_eq(r.statuses, 0);
    ck_assert_str_eq(r.msg, "no document 'nothing'");
    status(&e, "other", "log", &r);
    ck_assert_int_eq(r.http, 404);
    status(&e, NULL, "bad id!", &r);
    ck_assert_int_eq(r.http, 400);
    ck_assert_msg(strstr(r.msg, "invalid document id"), "%s", r.msg);
    status(&e, "bad/tenant", "log", &r);
    ck_assert_int_eq(r.http, 400);
    env_close(&e);
}
END_TEST

START_TEST(reindex_restores_lost_chunks)
{
    env e = env_open(NULL);
    result r;
    ck_assert_int_eq(put_sync(&e, NULL, "log", "log.txt", V1), 201);
    drop_chunks(&e, "default", "log");
    status(&e, NULL, "log", &r);
    ck_assert_str_eq(r.state, "failed");
    ck_assert_int_eq(r.chunks, 0);
    ck_assert_msg(strstr(r.error, "POST /documents/{id}/reindex"), "%s", r.error);
    reindex(&e, NULL, "log", &r);
    ck_assert_int_eq(r.http, 200);
    ck_assert_int_eq(r.statuses, 1);
    ck_assert_str_eq(r.state, "indexed");
    ck_assert_int_ge(r.chunks, 1);
    reindex(&e, NULL, "nothing", &r);
    ck_assert_int_eq(r.http, 404);
    reindex(&e, "other", "log", &r); /* another tenant's: as if absent */
    ck_assert_int_eq(r.http, 404);
    status(&e, "other", "log", &r);
    ck_assert_int_eq(r.http, 404);
    env_close(&e);
}
END_TEST

START_TEST(reindex_failure_is_kept_until_fixed)
{
    env e = env_open(NULL);
    result r;
    store_raw(&e, "photo", "image/png", "\x89PNG\r\n\x1a\n", 8);
    reindex(&e, NULL, "photo", &r);
    ck_assert_int_eq(r.http, 415);
    ck_assert_msg(strstr(r.msg, "image/png"), "%s", r.msg);
    status(&e, NULL, "photo", &r);
    ck_assert_int_eq(r.http, 200);
    ck_assert_str_eq(r.state, "failed");
    ck_assert_msg(strstr(r.error, "image/png"), "%s", r.error);
    ck_assert(r.has_meta);
    /* a good upload under the same id clears the failure */
    ck_assert_int_eq(put_sync(&e, NULL, "photo", "photo.txt", V1), 201);
    status(&e, NULL, "photo", &r);
    ck_assert_str_eq(r.state, "indexed");
    ck_assert_str_eq(r.error, "");
    env_close(&e);
}
END_TEST

START_TEST(async_upload_reports_progress)
{
    env e = env_open(NULL);
    result r;
    char *big = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&big, &len);
    for (int i = 0; i < 4000; i++)
        fprintf(m, "Paragraph %d: the keeper winds the clockwork and trims the wick.\n\n", i);
    fclose(m);
    put_async(&e, NULL, NULL, "dir/Big Manual.txt", big, len, &r);
    ck_assert_int_eq(r.http, 202);
    ck_assert_int_eq(r.status, RK_OK);
    ck_assert_int_eq(r.statuses, 1);
    char want[DOCS_ID_MAX + 1];
    docs_derive_id("Big Manual.txt", want);
    ck_assert_str_eq(r.id, want);
    ck_assert_str_eq(r.state, "pending");
    ck_assert_str_eq(r.phase, "queued");
    ck_assert_uint_eq(r.bytes_total, len);
    ck_assert(!r.has_meta);
    status_settled(&e, want, &r);
    ck_assert_str_eq(r.state, "indexed");
    ck_assert_str_eq(r.phase, "done");
    ck_assert(r.has_meta);
    ck_assert_uint_eq(r.size, len);
    ck_assert_int_ge(r.chunks, 2);
    free(big);
    /* input errors before acceptance are plain failures */
    put_async(&e, "bad/tenant", NULL, "a.txt", "Words.", 6, &r);
    ck_assert_int_eq(r.http, 400);
    ck_assert_int_eq(r.statuses, 0);
    put_async(&e, NULL, "bad id!", "a.txt", "Words.", 6, &r);
    ck_assert_int_eq(r.http, 400);
    put_async(&e, NULL, NULL, "dir/", "Words.", 6, &r);
    ck_assert_int_eq(r.http, 400);
    /* failures after acceptance show in the status */
    put_async(&e, NULL, "blank", "blank.txt", " \n\n ", 4, &r);
    ck_assert_int_eq(r.http, 202);
    status_settled(&e, "blank", &r);
    ck_assert_str_eq(r.state, "failed");
    ck_assert_str_eq(r.error, "no text could be extracted");
    ck_assert(!r.has_meta);
    env_close(&e);
}
END_TEST

/* The index refuses the new version: the old one stays stored and
 * indexed, and the status still says the upload failed. */
START_TEST(failed_async_replacement_is_reported)
{
    env e = env_open("retriever_flaky");
    result r;
    const char *v2 = "A version the index refuses [failindex].\n";
    ck_assert_int_eq(put_sync(&e, NULL, "log", "log.txt", V1), 201);
    put_async(&e, NULL, "log", "log.txt", v2, strlen(v2), &r);
    ck_assert_int_eq(r.http, 202);
    status_settled(&e, "log", &r);
    ck_assert_str_eq(r.state, "failed");
    ck_assert_msg(strstr(r.error, "the previous version is kept"), "%s", r.error);
    ck_assert_uint_eq(r.size, strlen(V1));
    env_close(&e);
}
END_TEST

/* docs_free waits for an accepted upload; after a restart, a stored
 * document the index lacks reads as failed (interrupted) until re-indexed. */
START_TEST(accepted_upload_survives_shutdown)
{
    env e = env_open(NULL);
    result r;
    put_async(&e, NULL, "late", "late.txt", V1, strlen(V1), &r);
    ck_assert_int_eq(r.http, 202);
    env_close(&e); /* no wait: docs_free must finish the upload first */
    e = env_open(NULL);
    status(&e, NULL, "late", &r);
    ck_assert_int_eq(r.http, 200);
    ck_assert_str_eq(r.state, "indexed");
    drop_chunks(&e, "default", "late");
    env_close(&e);
    e = env_open(NULL);
    status(&e, NULL, "late", &r);
    ck_assert_str_eq(r.state, "failed");
    ck_assert_msg(strstr(r.error, "interrupted"), "%s", r.error);
    ck_assert_int_eq(docs_reindex_async(e.docs), RK_OK);
    for (int i = 0; i < WAIT_MS / 10 && docs_reindex_running(e.docs); i++) ph_sleep_ms(10);
    status(&e, NULL, "late", &r);
    ck_assert_str_eq(r.state, "indexed");
    env_close(&e);
}
END_TEST

/* Without an index a document is "stored" and there is nothing to re-index. */
START_TEST(without_an_index)
{
    env e = env_open(NULL);
    rk_err err = {{0}};
    docs_free(e.docs);
    e.docs = docs_new(e.storage, NULL, e.pool, NULL, &err);
    ck_assert_ptr_nonnull(e.docs);
    with_extractors(&e);
    result r;
    ck_assert_int_eq(put_sync(&e, NULL, "log", "log.txt", V1), 201);
    status(&e, NULL, "log", &r);
    ck_assert_int_eq(r.http, 200);
    ck_assert_str_eq(r.state, "stored");
    ck_assert_str_eq(r.version, "");
    reindex(&e, NULL, "log", &r);
    ck_assert_int_eq(r.http, 409);
    ck_assert_msg(strstr(r.msg, "pipeline.retriever"), "%s", r.msg);
    env_close(&e);
}
END_TEST

START_TEST(tracker_is_bounded)
{
    docs_track *t = track_new();
    track_rec rec = {.state = TRACK_PENDING}, got;
    char id[32];
    for (int i = 0; i < DOCS_TRACK_MAX; i++) {
        snprintf(id, sizeof id, "d%d", i);
        ck_assert_int_eq(track_set(t, "t", id, &rec), RK_OK);
    }
    ck_assert_int_eq(track_set(t, "t", "one-more", &rec), RK_ERR_UNAVAILABLE);
    /* finished records make room, the oldest first */
    rec.state = TRACK_DONE;
    ck_assert_int_eq(track_set(t, "t", "d5", &rec), RK_OK);
    ck_assert_int_eq(track_set(t, "t", "d7", &rec), RK_OK);
    rec.state = TRACK_PENDING;
    ck_assert_int_eq(track_set(t, "t", "new", &rec), RK_OK);
    ck_assert_int_eq(track_get(t, "t", "d5", &got), 0);
    ck_assert_int_eq(track_get(t, "t", "d7", &got), 1);
    uint64_t n = 9;
    track_progress(t, "t", "new", "indexing", NULL, &n, NULL);
    ck_assert_int_eq(track_get(t, "t", "new", &got), 1);
    ck_assert_str_eq(got.phase, "indexing");
    ck_assert_uint_eq(got.chunks_total, 9);
    ck_assert_int_eq(track_get(t, "u", "new", &got), 0); /* tenants apart */
    track_drop(t, "t", "new");
    ck_assert_int_eq(track_get(t, "t", "new", &got), 0);
    track_free(t);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("docs_admin");
    ph_add_tcase(s, "admin", 120, setup, teardown,
                 PH_TESTS(status_of_indexed_document, reindex_restores_lost_chunks,
                          reindex_failure_is_kept_until_fixed, async_upload_reports_progress,
                          failed_async_replacement_is_reported,
                          accepted_upload_survives_shutdown, without_an_index,
                          tracker_is_bounded));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
