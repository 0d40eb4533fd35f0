/*
 * test_docs — the document service on a real registry: storage_local and
 * retriever_sqlite from $BUILD/plugins in a temp directory, a real worker
 * pool, and the sink callbacks waited for like a transport would. Covers
 * put -> list (paging) -> get (byte-identical, ranges) -> search -> replace
 * -> delete, input errors (400/415/422), tenants kept apart, a storage
 * that refuses writes ($BUILD/test-plugins/storage_failing.so) leaving
 * nothing indexed, an index that fails on a replacement keeping the
 * previous version ($BUILD/test-plugins/retriever_flaky.so), re-indexing
 * after the index file was deleted, seeding
 * from config/samples, concurrent uploads, and docs_free during a re-index.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "docs.h"
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

static void res_init(result *r)
{
    memset(r, 0, sizeof *r);
    ph_latch_init(&r->done_latch);
}

static void res_free(result *r)
{
    sb_free(&r->data);
    ph_latch_destroy(&r->done_latch);
}

static void copy_str(char *dst, size_t cap, const char *s) { snprintf(dst, cap, "%s", s ? s : ""); }

/* Callbacks of one operation come in order from one worker: no lock. */
static void on_meta(void *ud, const rk_doc_meta *m)
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

static int on_data(void *ud, const void *data, size_t len)
{
    result *r = ud;
    sb_append(&r->data, data, len);
    return r->stop_after && ++r->data_calls >= r->stop_after ? -1 : 0;
}

static void on_done(void *ud, int status, int http, const char *msg, const char *next)
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

static void res_wait(result *r)
{
    ph_latch_wait(&r->done_latch, WAIT_MS);
    ck_assert_msg(r->done == 1, "on_done came %d times within %d ms", r->done, WAIT_MS);
}

/* ---- environment --------------------------------------------------------- */

static void setup(void)
{
    ph_tmpdir(g_dir, sizeof g_dir);
    log_configure(RK_LOG_WARN, LOG_LOGFMT);
}

static void teardown(void) { ph_rmtree(g_dir); }

typedef struct env {
    registry *reg;
    pool *pool;
    docs *docs;
    rk_instance *storage, *retriever;
} env;

/* A registry with storage `storage_plugin` (root <dir>/documents) and
 * retriever_sqlite at <dir>/<index>. */
static env env_open(const char *storage_plugin, const char *index, const char *seed_dir)
{
    char yaml[512], text[2048], storage_cfg[256] = "", index_cfg[512];
    if (strcmp(storage_plugin, "storage_local") == 0)
        snprintf(storage_cfg, sizeof storage_cfg, "    config: {root: \"%s/documents\"}\n", g_dir);
    if (g_retriever)
        snprintf(index_cfg, sizeof index_cfg, "    plugin: %s\n", g_retriever);
    else
        snprintf(index_cfg, sizeof index_cfg,
                 "    plugin: retriever_sqlite\n    config: {path: \"%s/%s\"}\n", g_dir, index);
    snprintf(yaml, sizeof yaml, "%s/rk.yaml", g_dir);
    snprintf(text, sizeof text,
             "server:\n  plugin_path: [\"%s/plugins\", \"%s/test-plugins\"]\n"
             "instances:\n"
             "  files:\n    plugin: %s\n%s"
             "  index:\n%s"
             "  text:\n    plugin: extract_text\n",
             ph_build_dir(), ph_build_dir(), storage_plugin, storage_cfg, index_cfg);
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
    e.docs = docs_new(e.storage, e.retriever, e.pool, seed_dir, &err);
    ck_assert_msg(e.docs != NULL, "docs_new: %s", err.msg);
    ingest_set *ing = ingest_set_new(e.reg, &err);
    ck_assert_msg(ing != NULL, "ingest_set_new: %s", err.msg);
    docs_set_ingest(e.docs, ing);
    return e;
}

static void env_close(env *e)
{
    docs_free(e->docs);
    pool_free(e->pool);
    registry_stop(e->reg, 0);
    registry_unref(e->reg);
}

/* ---- operations, waited for ------------------------------------------------ */

/* Each runs one call and waits for its on_done; r holds what came back. */
static void put(env *e, const char *tenant, const char *id, const char *filename,
                const char *ctype, const void *data, size_t len, result *r)
{
    rk_doc_upload up = {sizeof up, tenant, id, filename, ctype, data, len};
    rk_err err = {{0}};
    res_init(r);
    ck_assert_msg(docs_put(e->docs, &up, &SINK, r, &err) == RK_OK, "docs_put: %s", err.msg);
    res_wait(r);
}

static void put_fixture(env *e, const char *tenant, const char *name, result *r)
{
    size_t len;
    char *buf = ph_fixture(name, &len);
    put(e, tenant, NULL, name, NULL, buf, len, r);
    free(buf);
    ck_assert_msg(r->status == RK_OK && r->http == 201, "put %s: %d %s", name, r->http, r->msg);
    ck_assert_uint_eq(r->n_metas, 1);
}

static void list(env *e, const char *tenant, const char *after, size_t limit, result *r)
{
    rk_err err = {{0}};
    res_init(r);
    ck_assert_int_eq(docs_list(e->docs, tenant, after, limit, &SINK, r, &err), RK_OK);
    res_wait(r);
}

/* stop_after > 0: the sink's on_data refuses after that many pieces. */
static void get(env *e, const char *id, uint64_t off, uint64_t len, int stop_after, result *r)
{
    rk_err err = {{0}};
    res_init(r);
    r->stop_after = stop_after;
    ck_assert_int_eq(docs_get(e->docs, NULL, id, off, len, &SINK, r, &err), RK_OK);
    res_wait(r);
}

/* The HTTP status of one call, its result discarded. */
static int put_http(env *e, const char *tenant, const char *id, const char *filename,
                    const char *ctype, const char *text)
{
    result r;
    put(e, tenant, id, filename, ctype, text, strlen(text), &r);
    res_free(&r);
    return r.http;
}

static int get_http(env *e, const char *id, uint64_t off)
{
    result r;
    get(e, id, off, 0, 0, &r);
    res_free(&r);
    return r.http;
}

static int del_http(env *e, const char *id)
{
    result r;
    rk_err err = {{0}};
    res_init(&r);
    ck_assert_int_eq(docs_delete(e->docs, NULL, id, &SINK, &r, &err), RK_OK);
    res_wait(&r);
    res_free(&r);
    return r.http;
}

static size_t list_count(env *e, const char *tenant)
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

static void on_hit(void *ud, const rk_passage *p)
{
    hits *h = ud;
    if (h->n < 16) copy_str(h->ids[h->n], sizeof h->ids[0], p->doc_id);
    h->n++;
}

/* Number of hits of `doc_id` for the query (all hits if doc_id is NULL). */
static size_t search(env *e, const char *tenant, const char *text, const char *doc_id)
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

static int64_t chunks_of(env *e, const char *tenant, const char *id)
{
    const rk_retriever_vtable *vt = e->retriever->plugin->vtable;
    rk_err err = {{0}};
    return vt->doc_chunks(e->retriever->ctx, tenant, id, &err);
}

static void wait_reindex(env *e)
{
    for (int i = 0; i < WAIT_MS / 10 && docs_reindex_running(e->docs); i++) usleep(10000);
    ck_assert_int_eq(docs_reindex_running(e->docs), 0);
}

/* ---- tests -------------------------------------------------------------------- */

/* Uploads en.txt (derived id), sample.md (as "harbour") and ru.txt
 * (tenant "other"); checks the metadata and the upload counter. */
static void put_three(env *e, char en_id[DOCS_ID_MAX + 1])
{
    result r;
    rk_metric *up = metrics_get(RK_METRIC_COUNTER, "ragkernel_documents_uploaded_total", "", NULL);
    double uploaded0 = metrics_value(up);
    size_t en_len, md_len;
    char *en = ph_fixture("en.txt", &en_len), hex[SHA256_HEX_LEN];
    put_fixture(e, NULL, "en.txt", &r);
    docs_derive_id("en.txt", en_id);
    ck_assert_str_eq(r.metas[0].id, en_id);
    ck_assert_str_eq(r.metas[0].tenant, "default");
    ck_assert_str_eq(r.metas[0].filename, "en.txt");
    ck_assert_str_eq(r.metas[0].ctype, "text/plain");
    ck_assert_uint_eq(r.metas[0].size, en_len);
    sha256_ctx sc;
    sha256_init(&sc);
    sha256_update(&sc, en, en_len);
    sha256_final_hex(&sc, hex);
    ck_assert_str_eq(r.metas[0].sha, hex);
    res_free(&r);
    free(en);
    char *md = ph_fixture("sample.md", &md_len);
    put(e, NULL, "harbour", "notes/sample.md", "application/octet-stream", md, md_len, &r);
    ck_assert_int_eq(r.http, 201);
    ck_assert_str_eq(r.metas[0].id, "harbour");
    ck_assert_str_eq(r.metas[0].filename, "sample.md");
    ck_assert_str_eq(r.metas[0].ctype, "text/markdown");
    res_free(&r);
    free(md);
    put_fixture(e, "other", "ru.txt", &r);
    res_free(&r);
    ck_assert_double_eq(metrics_value(up), uploaded0 + 3);
}

/* list: id order, pages with a cursor */
static void check_list(env *e, const char *en_id)
{
    result r, r2;
    list(e, NULL, NULL, 0, &r);
    ck_assert_uint_eq(r.n_metas, 2);
    ck_assert_str_eq(r.metas[0].id, en_id); /* "en-txt-..." < "harbour" */
    ck_assert_str_eq(r.metas[1].id, "harbour");
    ck_assert_int_eq(r.has_next, 0);
    res_free(&r);
    list(e, "default", NULL, 1, &r);
    ck_assert_uint_eq(r.n_metas, 1);
    ck_assert_str_eq(r.next, en_id);
    list(e, "default", r.next, 1, &r2);
    ck_assert_uint_eq(r2.n_metas, 1);
    ck_assert_str_eq(r2.metas[0].id, "harbour");
    res_free(&r);
    list(e, "default", r2.next, 1, &r);
    ck_assert_uint_eq(r.n_metas, 0);
    ck_assert_int_eq(r.has_next, 0);
    res_free(&r);
    res_free(&r2);
}

/* get: whole (byte-identical), a range, past the end, unknown, stopped */
static void check_get(env *e, const char *en_id)
{
    result r;
    size_t en_len;
    char *en = ph_fixture("en.txt", &en_len);
    get(e, en_id, 0, 0, 0, &r);
    ck_assert_int_eq(r.http, 200);
    ck_assert_uint_eq(r.n_metas, 1);
    ck_assert_uint_eq(r.data.len, en_len);
    ck_assert(memcmp(r.data.s, en, en_len) == 0);
    res_free(&r);
    get(e, en_id, 10, 20, 0, &r);
    ck_assert_uint_eq(r.data.len, 20);
    ck_assert(memcmp(r.data.s, en + 10, 20) == 0);
    res_free(&r);
    get(e, en_id, 0, 0, 1, &r);
    ck_assert_int_eq(r.status, RK_ERR_CANCELLED);
    res_free(&r);
    ck_assert_int_eq(get_http(e, en_id, en_len + 1), 416);
    ck_assert_int_eq(get_http(e, "no-such-doc", 0), 404);
    free(en);
}

/* search finds documents in their tenant only */
static void check_search(env *e, const char *en_id)
{
    char ru_id[DOCS_ID_MAX + 1];
    ck_assert_uint_ge(search(e, "default", "fog signal visibility", en_id), 1);
    ck_assert_uint_ge(search(e, "default", "pilot ladder freeboard", "harbour"), 1);
    ck_assert_uint_eq(search(e, "default", "туманный сигнал", NULL), 0);
    docs_derive_id("ru.txt", ru_id);
    ck_assert_uint_ge(search(e, "other", "туманный сигнал", ru_id), 1);
}

/* re-put under the same filename replaces (same id, new chunks); delete
 * removes it from storage and index; twice is 404 */
static void check_replace_delete(env *e, const char *en_id)
{
    result r;
    ck_assert_int_ge(chunks_of(e, "default", en_id), 2);
    const char *v2 = "Version two of the manual.\n\nKeepers now monitor a solar beacon remotely.\n";
    put(e, NULL, NULL, "en.txt", "text/plain", v2, strlen(v2), &r);
    ck_assert_int_eq(r.http, 201);
    ck_assert_str_eq(r.metas[0].id, en_id);
    res_free(&r);
    ck_assert_int_eq(chunks_of(e, "default", en_id), 1);
    ck_assert_uint_eq(search(e, "default", "clockwork", en_id), 0);
    ck_assert_uint_ge(search(e, "default", "solar beacon", en_id), 1);
    get(e, en_id, 0, 0, 0, &r);
    ck_assert_uint_eq(r.data.len, strlen(v2));
    res_free(&r);
    ck_assert_int_eq(del_http(e, en_id), 204);
    ck_assert_uint_eq(search(e, "default", "solar beacon", NULL), 0);
    ck_assert_int_eq(chunks_of(e, "default", en_id), 0);
    ck_assert_int_eq(get_http(e, en_id, 0), 404);
    ck_assert_int_eq(del_http(e, en_id), 404);
    ck_assert_uint_eq(list_count(e, NULL), 1);
}

START_TEST(put_list_get_search_replace_delete)
{
    env e = env_open("storage_local", "index.sqlite", NULL);
    char en_id[DOCS_ID_MAX + 1];
    put_three(&e, en_id);
    check_list(&e, en_id);
    check_get(&e, en_id);
    check_search(&e, en_id);
    check_replace_delete(&e, en_id);
    env_close(&e);
}
END_TEST

START_TEST(input_errors)
{
    env e = env_open("storage_local", "index.sqlite", NULL);
    result r;
    ck_assert_int_eq(put_http(&e, "bad/tenant", NULL, "a.txt", NULL, "Words."), 400);
    ck_assert_int_eq(put_http(&e, NULL, "../etc", "a.txt", NULL, "Words."), 400);
    ck_assert_int_eq(put_http(&e, NULL, NULL, NULL, NULL, "Words."), 400);
    ck_assert_int_eq(put_http(&e, NULL, NULL, "a\tb.txt", NULL, "Words."), 400);
    /* bidi controls reorder how a name is shown ("Trojan Source"); C1
     * controls are as invisible as C0 ones */
    static const char *const shown_as_other[] = {
        "report\342\200\256fdp.exe", "a\xE2\x80\xAA.txt", "a\xE2\x80\xAB.txt",
        "a\xE2\x80\xAC.txt", "a\xE2\x80\xAD.txt", "a\xE2\x81\xA6.txt",
        "a\xE2\x81\xA7.txt", "a\xE2\x81\xA8.txt", "a\xE2\x81\xA9.txt",
    };
    for (size_t i = 0; i < sizeof shown_as_other / sizeof *shown_as_other; i++) {
        put(&e, NULL, NULL, shown_as_other[i], NULL, "Words.", 6, &r);
        ck_assert_msg(r.http == 400, "%s: %d", shown_as_other[i], r.http);
        ck_assert_msg(strstr(r.msg, "bidirectional control character (U+20"), "%s", r.msg);
        res_free(&r);
    }
    put(&e, NULL, NULL, "report\xE2\x80\xAE" "fdp.exe", NULL, "Words.", 6, &r);
    ck_assert_str_eq(r.msg, "filename contains a bidirectional control character (U+202E), "
                            "which would make it display as another name");
    res_free(&r);
    put(&e, NULL, NULL, "a\xC2\x85.txt", NULL, "Words.", 6, &r);
    ck_assert_int_eq(r.http, 400);
    ck_assert_str_eq(r.msg, "filename contains control characters (U+0085)");
    res_free(&r);
    /* neighbours of the refused ranges are ordinary text */
    ck_assert_int_eq(put_http(&e, NULL, NULL, "a\xE2\x80\xA9" "b\xE2\x81\xA5.txt", NULL,
                              "Words."), 201);
    ck_assert_int_eq(put_http(&e, NULL, NULL, "caf\xC3\xA9 \xC2\xA0" ".txt", NULL, "Words."), 201);
    put(&e, NULL, NULL, "photo.png", "image/png", "\x89PNG\r\n\x1a\n", 8, &r);
    ck_assert_int_eq(r.status, RK_ERR_UNSUPPORTED);
    ck_assert_int_eq(r.http, 415);
    ck_assert_msg(strstr(r.msg, "image/png") != NULL, "%s", r.msg);
    res_free(&r);
    put(&e, NULL, NULL, "blank.txt", NULL, " \n\n ", 4, &r);
    ck_assert_int_eq(r.http, 422);
    ck_assert_str_eq(r.msg, "no text could be extracted");
    res_free(&r);
    ck_assert_int_eq(get_http(&e, "bad id!", 0), 400);
    list(&e, NULL, "bad cursor", 0, &r);
    ck_assert_int_eq(r.http, 400);
    res_free(&r);
    ck_assert_uint_eq(list_count(&e, NULL), 2); /* the two ordinary names, nothing else */
    /* misuse is refused at once, with no callback */
    rk_err err = {{0}};
    rk_doc_upload up = {sizeof up, NULL, NULL, "a.txt", NULL, "Words.", 6};
    ck_assert_int_eq(docs_put(e.docs, &up, NULL, NULL, &err), RK_ERR_INVALID);
    rk_doc_sink no_done = {sizeof no_done, on_meta, on_data, NULL, NULL};
    ck_assert_int_eq(docs_list(e.docs, NULL, NULL, 0, &no_done, NULL, &err), RK_ERR_INVALID);
    env_close(&e);
}
END_TEST

START_TEST(derived_ids)
{
    char id[DOCS_ID_MAX + 1], id2[DOCS_ID_MAX + 1], longname[200];
    docs_derive_id("My Report (final).PDF", id);
    ck_assert_int_eq(strncmp(id, "my-report-final-pdf-", 20), 0);
    ck_assert_uint_eq(strlen(id), 20 + 8);
    docs_derive_id("My Report (final).pdf", id2);
    ck_assert_str_ne(id, id2);
    docs_derive_id("отчёт.txt", id);
    ck_assert_int_eq(strncmp(id, "txt-", 4), 0);
    docs_derive_id("----", id);
    ck_assert_int_eq(strncmp(id, "doc-", 4), 0);
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    docs_derive_id(longname, id);
    ck_assert_uint_eq(strlen(id), 48 + 1 + 8);
    ck_assert(docs_name_ok(id));
    ck_assert(!docs_name_ok("") && !docs_name_ok("a/b") && !docs_name_ok(longname));
}
END_TEST

START_TEST(storage_failure_leaves_nothing_indexed)
{
    env e = env_open("storage_failing", "index.sqlite", NULL);
    result r;
    size_t len;
    char *en = ph_fixture("en.txt", &len);
    put(&e, NULL, "lights", "en.txt", NULL, en, len, &r);
    ck_assert_int_eq(r.status, RK_ERR_UNAVAILABLE);
    ck_assert_int_eq(r.http, 503);
    /* the backend's own text goes to the log, never to the client */
    ck_assert_msg(strncmp(r.msg, "storage unavailable (", 21) == 0, "%s", r.msg);
    ck_assert_msg(strstr(r.msg, "disk is on fire") == NULL, "backend text leaked: %s", r.msg);
    ck_assert_uint_eq(r.n_metas, 0);
    res_free(&r);
    ck_assert_int_eq(chunks_of(&e, "default", "lights"), 0);
    ck_assert_uint_eq(search(&e, "default", "fog signal visibility", NULL), 0);
    free(en);
    env_close(&e);
}
END_TEST

START_TEST(failed_index_keeps_previous_version)
{
    const char *v1 = "Keepers log the fog signal every hour.\n";
    const char *v2 = "A version the index refuses [failindex].\n";
    g_retriever = "retriever_flaky";
    env e = env_open("storage_local", "unused", NULL);
    g_retriever = NULL;
    ck_assert_int_eq(put_http(&e, NULL, "log", "log.txt", "text/plain", v1), 201);
    result r;
    put(&e, NULL, "log", "log.txt", "text/plain", v2, strlen(v2), &r);
    ck_assert_int_eq(r.http, 503);
    ck_assert_msg(strstr(r.msg, "index unavailable; the previous version is kept"), "%s", r.msg);
    ck_assert_msg(!strstr(r.msg, "index is down"), "backend text leaked: %s", r.msg);
    res_free(&r);
    get(&e, "log", 0, 0, 0, &r); /* the bytes, the index and the listing: all v1 */
    ck_assert_int_eq(r.http, 200);
    ck_assert_str_eq(sb_str(&r.data), v1);
    res_free(&r);
    ck_assert_uint_eq(search(&e, "default", "fog signal", "log"), 1);
    ck_assert_uint_eq(search(&e, "default", "[failindex]", NULL), 0);
    list(&e, NULL, NULL, 0, &r);
    ck_assert_uint_eq(r.n_metas, 1);
    ck_assert_uint_eq(r.metas[0].size, strlen(v1));
    res_free(&r);
    /* a new document the index refuses leaves nothing at all */
    put(&e, NULL, "fresh", "fresh.txt", "text/plain", v2, strlen(v2), &r);
    ck_assert_int_eq(r.http, 503);
    ck_assert_msg(!strstr(r.msg, "previous"), "%s", r.msg);
    res_free(&r);
    ck_assert_int_eq(get_http(&e, "fresh", 0), 404);
    ck_assert_uint_eq(list_count(&e, NULL), 1);
    env_close(&e);
}
END_TEST

static void unlink_index(const char *name)
{
    const char *suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 4; i++) {
        char p[256];
        snprintf(p, sizeof p, "%s/%s%s", g_dir, name, suffix[i]);
        unlink(p);
    }
}

START_TEST(reindex_restores_deleted_index)
{
    env e = env_open("storage_local", "index.sqlite", NULL);
    result r;
    char en_id[DOCS_ID_MAX + 1], ru_id[DOCS_ID_MAX + 1];
    put_fixture(&e, NULL, "en.txt", &r);
    res_free(&r);
    put_fixture(&e, NULL, "sample.html", &r);
    res_free(&r);
    put_fixture(&e, "other", "ru.txt", &r);
    res_free(&r);
    docs_derive_id("en.txt", en_id);
    docs_derive_id("ru.txt", ru_id);
    env_close(&e);

    unlink_index("index.sqlite");
    e = env_open("storage_local", "index.sqlite", NULL);
    ck_assert_uint_eq(search(&e, "default", "fog signal visibility", NULL), 0);
    ck_assert_int_eq(docs_reindex_async(e.docs), RK_OK);
    wait_reindex(&e);
    ck_assert_uint_ge(search(&e, "default", "fog signal visibility", en_id), 1);
    ck_assert_uint_ge(search(&e, "default", "spring tides", NULL), 1);
    ck_assert_uint_ge(search(&e, "other", "туманный сигнал", ru_id), 1);
    int64_t n = chunks_of(&e, "default", en_id);
    ck_assert_int_ge(n, 2);
    /* a second run finds nothing missing and changes nothing */
    ck_assert_int_eq(docs_reindex_async(e.docs), RK_OK);
    wait_reindex(&e);
    ck_assert_int_eq(chunks_of(&e, "default", en_id), n);
    env_close(&e);
}
END_TEST

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

/* Storage holds a version the index never saw: what a crash leaves when it
 * cuts a replacement after the store step and before the index step. */
static void store_behind_index(env *e, const char *id, const char *filename, const char *text)
{
    char hex[SHA256_HEX_LEN];
    sha256_ctx sc;
    sha256_init(&sc);
    sha256_update(&sc, text, strlen(text));
    sha256_final_hex(&sc, hex);
    rk_doc_meta m = {.struct_size = sizeof m, .tenant = "default", .id = id,
                     .filename = filename, .content_type = "text/plain",
                     .size = strlen(text), .sha256 = hex, .created_ms = 1};
    mem_src src = {text, strlen(text)};
    const rk_storage_vtable *vt = e->storage->plugin->vtable;
    rk_err err = {{0}};
    ck_assert_msg(vt->put(e->storage->ctx, &m, read_mem, &src, &err) == RK_OK, "put: %s",
                  err.msg);
}

START_TEST(reindex_repairs_replacement_cut_by_crash)
{
    env e = env_open("storage_local", "index.sqlite", NULL);
    result r;
    char en_id[DOCS_ID_MAX + 1];
    put_fixture(&e, NULL, "en.txt", &r);
    res_free(&r);
    docs_derive_id("en.txt", en_id);
    ck_assert_uint_ge(search(&e, "default", "clockwork", en_id), 1);
    const char *v2 = "Version two of the manual.\n\nKeepers now monitor a solar beacon remotely.\n";
    store_behind_index(&e, en_id, "en.txt", v2);
    env_close(&e);

    e = env_open("storage_local", "index.sqlite", NULL);
    ck_assert_int_eq(docs_reindex_async(e.docs), RK_OK);
    wait_reindex(&e);
    /* storage is the truth: the index now holds the stored version only */
    ck_assert_uint_ge(search(&e, "default", "solar beacon", en_id), 1);
    ck_assert_uint_eq(search(&e, "default", "clockwork", en_id), 0);
    ck_assert_int_eq(chunks_of(&e, "default", en_id), 1);
    env_close(&e);
}
END_TEST

START_TEST(seed_from_samples)
{
    const char *samples = getenv("RK_SAMPLES");
    if (!samples || !*samples) samples = "config/samples";
    env e = env_open("storage_local", "index.sqlite", samples);
    ck_assert_int_eq(docs_reindex_async(e.docs), RK_OK);
    wait_reindex(&e);
    result r;
    list(&e, NULL, NULL, 0, &r);
    ck_assert_uint_eq(r.n_metas, 2);
    char en_id[DOCS_ID_MAX + 1];
    docs_derive_id("ragkernel-guide.en.md", en_id);
    ck_assert_str_eq(r.metas[0].id, en_id);
    ck_assert_str_eq(r.metas[0].ctype, "text/markdown");
    res_free(&r);
    ck_assert_uint_ge(search(&e, "default", "upload documents", en_id), 1);
    ck_assert_uint_ge(search(&e, "default", "загрузить документ", NULL), 1);
    /* a store that is not empty is not seeded again */
    ck_assert_int_eq(del_http(&e, en_id), 204);
    env_close(&e);
    e = env_open("storage_local", "index.sqlite", samples);
    ck_assert_int_eq(docs_reindex_async(e.docs), RK_OK);
    wait_reindex(&e);
    ck_assert_uint_eq(list_count(&e, NULL), 1);
    env_close(&e);
}
END_TEST

typedef struct putter {
    env *e;
    int i, http;
} putter;

static void *put_thread(void *arg)
{
    putter *p = arg;
    char name[32], body[256];
    snprintf(name, sizeof name, "note-%02d.txt", p->i);
    snprintf(body, sizeof body, "Note number %d mentions the keyword marmalade%d and tea.\n", p->i, p->i);
    p->http = put_http(p->e, NULL, NULL, name, NULL, body);
    return NULL;
}

START_TEST(concurrent_uploads)
{
    env e = env_open("storage_local", "index.sqlite", NULL);
    enum { N = 12 };
    putter p[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        p[i] = (putter){&e, i, 0};
        ck_assert_int_eq(pthread_create(&t[i], NULL, put_thread, &p[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        ck_assert_msg(p[i].http == 201, "put %d: %d", i, p[i].http);
    }
    ck_assert_uint_eq(list_count(&e, NULL), N);
    ck_assert_uint_eq(search(&e, "default", "marmalade7", NULL), 1);
    ck_assert_uint_ge(search(&e, "default", "tea", NULL), 10);
    env_close(&e);
}
END_TEST

START_TEST(free_during_reindex)
{
    env e = env_open("storage_local", "index.sqlite", NULL);
    char body[128], name[32];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "doc-%02d.txt", i);
        snprintf(body, sizeof body, "Document %d is about lanterns and wicks.\n", i);
        ck_assert_int_eq(put_http(&e, NULL, NULL, name, NULL, body), 201);
    }
    env_close(&e);
    unlink_index("index.sqlite");
    e = env_open("storage_local", "index.sqlite", NULL);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    ck_assert_int_eq(docs_reindex_async(e.docs), RK_OK);
    docs_free(e.docs); /* returns once the chain has stopped */
    clock_gettime(CLOCK_MONOTONIC, &b);
    ck_assert_int_lt(b.tv_sec - a.tv_sec, 10);
    e.docs = NULL;
    env_close(&e);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("docs");
    ph_add_tcase(s, "service", 120, setup, teardown,
                 PH_TESTS(put_list_get_search_replace_delete, input_errors, derived_ids,
                          storage_failure_leaves_nothing_indexed,
                          failed_index_keeps_previous_version, reindex_restores_deleted_index,
                          reindex_repairs_replacement_cut_by_crash, seed_from_samples,
                          concurrent_uploads, free_during_reindex));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
