/*
 * test_docs_recovery — the document service (docs_fixture.h) when parts
 * fail or restart: a storage that refuses writes
 * ($BUILD/test-plugins/storage_failing.so) leaving nothing indexed, an
 * index that fails on a replacement keeping the previous version
 * ($BUILD/test-plugins/retriever_flaky.so), re-indexing after the index
 * file was deleted or a replacement was cut by a crash, seeding from
 * config/samples, concurrent uploads, and docs_free during a re-index.
 */
#include "docs_fixture.h"

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
    Suite *s = suite_create("docs_recovery");
    ph_add_tcase(s, "service", 120, setup, teardown,
                 PH_TESTS(storage_failure_leaves_nothing_indexed,
                          failed_index_keeps_previous_version, reindex_restores_deleted_index,
                          reindex_repairs_replacement_cut_by_crash, seed_from_samples,
                          concurrent_uploads, free_during_reindex));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
