/*
 * test_docs_admin — per-document status and re-index (docs_admin.h) on a
 * real registry (docs_admin_fixture.h): the states (indexed, failed after
 * a lost index, a failed re-extraction kept until a good upload, stored
 * without an index), 400/404 and tenants kept apart, 409 when there is no
 * index to re-index into. test_docs_async has the asynchronous upload.
 */
#include "docs_admin_fixture.h"
#include "sha256.h"

static void reindex(env *e, const char *tenant, const char *id, result *r)
{
    rk_err err = {{0}};
    res_init(r);
    ck_assert_int_eq(docs_reindex(e->docs, tenant, id, &SINK, r, &err), RK_OK);
    res_wait(r);
}

static void sha_hex(const char *text, char hex[SHA256_HEX_LEN])
{
    sha256_ctx sc;
    sha256_init(&sc);
    sha256_update(&sc, text, strlen(text));
    sha256_final_hex(&sc, hex);
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

/* Without an index a document is "stored" and there is nothing to re-index. */
START_TEST(without_an_index)
{
    env e = env_open(NULL);
    rk_err err = {{0}};
    docs_free(e.docs);
    e.docs = docs_new(e.storage, NULL, e.pool, NULL, &err);
    ck_assert_ptr_nonnull(e.docs);
    docs_env_extractors(&e);
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

static Suite *suite(void)
{
    Suite *s = suite_create("docs_admin");
    ph_add_tcase(s, "admin", 120, setup, teardown,
                 PH_TESTS(status_of_indexed_document, reindex_restores_lost_chunks,
                          reindex_failure_is_kept_until_fixed, without_an_index));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
