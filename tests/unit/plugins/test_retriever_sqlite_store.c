/*
 * test_retriever_sqlite_store — the retriever_sqlite plugin through its
 * vtable (rs_fixture.h): what it keeps. Replacing and removing documents,
 * versions, persistence across a reopen, a damaged file set aside and
 * healed, rebuilds after many replacements, invalid input and config, and
 * searches running while another thread indexes. Run from the repository
 * root (BUILD defaults to "build").
 */
#include "rs_fixture.h"

START_TEST(replace_on_reindex)
{
    void *c = open_rs();
    hits h;
    const char *v1[] = {"alpha one", "alpha two", "alpha three"};
    const char *v2[] = {"beta only"};
    put(c, "default", "doc", "Title", v1, 3);
    ck_assert_int_eq(chunks_of(c, "default", "doc"), 3);
    ck_assert_int_eq(search(c, "default", "alpha", &h), 3);
    put(c, "default", "doc", "Title", v2, 1);
    ck_assert_int_eq(chunks_of(c, "default", "doc"), 1);
    ck_assert_int_eq(search(c, "default", "alpha", &h), 0);
    ck_assert_int_eq(search(c, "default", "beta", &h), 1);
    ck_assert_int_eq(h.idx[0], 0);
    ck_assert_double_eq(g_chunks_metric.value, 1);
    g_desc->destroy(c);
}
END_TEST

START_TEST(remove_doc)
{
    void *c = open_rs();
    hits h;
    rk_err err = {{0}};
    put1(c, "default", "x", "ephemeral content");
    put1(c, "default", "y", "permanent content");
    ck_assert_int_eq(g_vt->remove(c, "default", "x", &err), RK_OK);
    ck_assert_int_eq(chunks_of(c, "default", "x"), 0);
    ck_assert_int_eq(search(c, "default", "ephemeral", &h), 0);
    ck_assert_int_eq(search(c, "default", "content", &h), 1);
    ck_assert_int_eq(g_vt->remove(c, "default", "x", &err), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(g_vt->remove(c, "other", "y", &err), RK_ERR_NOT_FOUND);
    ck_assert_double_eq(g_chunks_metric.value, 1);
    g_desc->destroy(c);
}
END_TEST

START_TEST(persistence)
{
    void *c = open_rs();
    hits h;
    const char *v[] = {"durable words survive restarts", "second chunk"};
    put(c, "t1", "p", "Persistence", v, 2);
    put1(c, "t2", "q", "other tenant words");
    g_desc->destroy(c);
    c = open_rs();
    ck_assert_int_eq(search(c, "t1", "restart", &h), 1);
    ck_assert_str_eq(h.doc[0], "p");
    ck_assert_int_eq(search(c, "t1", "persistence", &h), 2); /* title counts */
    ck_assert_int_eq(chunks_of(c, "t1", "p"), 2);
    ck_assert_int_eq(search(c, "t1", "tenant", &h), 0);
    ck_assert_double_eq(g_chunks_metric.value, 3);
    g_desc->destroy(c);
}
END_TEST

START_TEST(doc_versions)
{
    void *c = open_rs();
    char v[RK_DOC_VERSION_MAX];
    rk_err err = {{0}};
    const char *text = "versioned words";
    rk_chunk ch = {.struct_size = sizeof ch, .tenant = "t", .doc_id = "a", .title = "",
                   .text = text};
    ck_assert_ptr_nonnull(g_vt->index_versioned);
    ck_assert_int_eq(g_vt->index_versioned(c, &ch, 1, "sha-1", &err), RK_OK);
    put1(c, "t", "b", "plain words");
    ck_assert_int_eq(g_vt->doc_version(c, "t", "a", v, sizeof v, &err), RK_OK);
    ck_assert_str_eq(v, "sha-1");
    ck_assert_int_eq(g_vt->doc_version(c, "t", "b", v, sizeof v, &err), RK_OK);
    ck_assert_str_eq(v, ""); /* indexed without a version */
    ck_assert_int_eq(g_vt->doc_version(c, "t", "none", v, sizeof v, &err), RK_ERR_NOT_FOUND);
    g_desc->destroy(c);
    c = open_rs(); /* recorded in the file */
    ck_assert_int_eq(g_vt->doc_version(c, "t", "a", v, sizeof v, &err), RK_OK);
    ck_assert_str_eq(v, "sha-1");
    put1(c, "t", "a", "replaced without a version"); /* drops the record */
    ck_assert_int_eq(g_vt->doc_version(c, "t", "a", v, sizeof v, &err), RK_OK);
    ck_assert_str_eq(v, "");
    ck_assert_int_eq(g_vt->index_versioned(c, &ch, 1, "sha-2", &err), RK_OK);
    ck_assert_int_eq(g_vt->remove(c, "t", "a", &err), RK_OK);
    ck_assert_int_eq(g_vt->doc_version(c, "t", "a", v, sizeof v, &err), RK_ERR_NOT_FOUND);
    g_desc->destroy(c);
}
END_TEST

/* An index with enough rows for several pages, closed. */
static void fill_and_close(void)
{
    void *c = open_rs();
    char doc[32], text[600];
    for (int i = 0; i < 60; i++) {
        snprintf(doc, sizeof doc, "doc-%d", i);
        snprintf(text, sizeof text, "lighthouse keeper %d logs the fog horn, the lamp, the "
                 "lens, the weather and every passing ship in the harbour register %d", i, i);
        put1(c, "t", doc, text);
    }
    g_desc->destroy(c);
}

/* The file set aside next to g_db, if any: 1 found. */
static int aside_exists(void)
{
    char dir[300], *slash;
    snprintf(dir, sizeof dir, "%s", g_db);
    slash = strrchr(dir, '/');
    *slash = '\0';
    DIR *d = opendir(dir);
    int found = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        found |= strncmp(de->d_name, "retriever.sqlite.corrupt-", 25) == 0 &&
                 strchr(de->d_name + 25, '-') == NULL; /* not its -wal/-shm */
    if (d)
        closedir(d);
    return found;
}

static void damaged_file_heals(int truncate_it)
{
    fill_and_close();
    FILE *f = fopen(g_db, "r+b");
    ck_assert_ptr_nonnull(f);
    if (truncate_it) {
        ck_assert_int_eq(ftruncate(fileno(f), 6000), 0);
    } else {
        unsigned char junk[4096];
        memset(junk, 0xA5, sizeof junk);
        fseek(f, 4096, SEEK_SET); /* page 2 */
        ck_assert_uint_eq(fwrite(junk, 1, sizeof junk, f), sizeof junk);
    }
    fclose(f);
    void *c = open_rs(); /* starts instead of refusing */
    ck_assert_int_eq(chunks_of(c, "t", "doc-1"), 0);
    ck_assert(aside_exists());
    put1(c, "t", "doc-1", "indexed again after the repair");
    hits h;
    ck_assert_int_eq(search(c, "t", "repair", &h), 1);
    g_desc->destroy(c);
    c = open_rs(); /* the new file is sound */
    ck_assert_int_eq(chunks_of(c, "t", "doc-1"), 1);
    g_desc->destroy(c);
}

START_TEST(garbage_page_heals) { damaged_file_heals(0); }
END_TEST

START_TEST(truncated_file_heals) { damaged_file_heals(1); }
END_TEST

START_TEST(rebuild_after_many_replaces)
{
    void *c = open_rs();
    hits h;
    char text[64];
    put1(c, "default", "keep", "stable neighbour text");
    for (int i = 0; i < 1100; i++) { /* leaves > 1024 dead chunks: forces a rebuild */
        snprintf(text, sizeof text, "version%d of the churning document", i);
        put1(c, "default", "churn", text);
    }
    ck_assert_int_eq(chunks_of(c, "default", "churn"), 1);
    ck_assert_int_eq(search(c, "default", "churning", &h), 1);
    ck_has(h.snippet[0], "version1099");
    ck_assert_int_eq(search(c, "default", "version5", &h), 0);
    ck_assert_int_eq(search(c, "default", "neighbour", &h), 1);
    ck_assert_double_eq(g_chunks_metric.value, 2);
    g_desc->destroy(c);
}
END_TEST

START_TEST(invalid_input)
{
    void *c = open_rs();
    rk_err err = {{0}};
    hits h;
    rk_chunk bad[2] = {
        {.struct_size = sizeof(rk_chunk), .tenant = "t", .doc_id = "a", .text = "x"},
        {.struct_size = sizeof(rk_chunk), .tenant = "t", .doc_id = "b", .text = "y"}};
    ck_assert_int_eq(g_vt->index(c, bad, 2, &err), RK_ERR_INVALID);
    ck_assert_int_eq(g_vt->index(c, bad, 0, &err), RK_ERR_INVALID);
    bad[0].text = NULL;
    ck_assert_int_eq(g_vt->index(c, bad, 1, &err), RK_ERR_INVALID);
    rk_query q = {.struct_size = sizeof q, .tenant = "t", .text = NULL, .k = 3};
    ck_assert_int_eq(g_vt->search(c, &q, on_hit, &h, &err), RK_ERR_INVALID);
    ck_assert_int_eq(search(c, "t", "x", &h), 0);
    g_desc->destroy(c);
}
END_TEST

START_TEST(config_errors)
{
    void *c = NULL;
    rk_err err = {{0}};
    set_cfg("languages", "english,klingon");
    ck_assert_int_eq(g_desc->create(&g_host, (rk_instance *)&g_host, &c, &err), RK_ERR_CONFIG);
    ck_has(err.msg, "klingon");
    ck_has(err.msg, "test.yaml:1:1");
    set_cfg("languages", "english,russian");
    set_cfg("b", "1.5");
    ck_assert_int_eq(g_desc->create(&g_host, (rk_instance *)&g_host, &c, &err), RK_ERR_CONFIG);
    ck_has(err.msg, "b must be");
    set_cfg("b", "0.75");
    set_cfg("path", "/proc/no/such/dir/x.sqlite");
    ck_assert_int_eq(g_desc->create(&g_host, (rk_instance *)&g_host, &c, &err), RK_ERR_IO);
}
END_TEST

/* ---- concurrency ---------------------------------------------------------- */

#define N_DOCS 500
#define CHUNKS_PER_DOC 4 /* 2,000 chunks */

typedef struct conc {
    void *ctx;
    pthread_mutex_t mu; /* a mutex, not atomics, so helgrind can follow it */
    long done, searches, errors, leaks;
} conc;

/* add n to *what under the mutex and return it */
static long conc_add(conc *k, long *what, long n)
{
    pthread_mutex_lock(&k->mu);
    long v = *what += n;
    pthread_mutex_unlock(&k->mu);
    return v;
}

static void conc_hit(void *ud, const rk_passage *p)
{
    conc *k = ud;
    if (strncmp(p->doc_id, "doc", 3) != 0 || !p->snippet) /* "secret*" is another tenant */
        conc_add(k, &k->leaks, 1);
}

static void *searcher(void *arg)
{
    conc *k = arg;
    static const char *const qs[] = {"river bank", "mountain trail", "quantum", "банк реки"};
    for (int i = 0; !conc_add(k, &k->done, 0) || i < 20; i++) {
        rk_query q = {.struct_size = sizeof q, .tenant = "main", .text = qs[i % 4], .k = 8};
        rk_err err = {{0}};
        if (g_vt->search(k->ctx, &q, conc_hit, k, &err) < 0)
            conc_add(k, &k->errors, 1);
        conc_add(k, &k->searches, 1);
    }
    return NULL;
}

static void *indexer(void *arg)
{
    conc *k = arg;
    char id[32], texts[CHUNKS_PER_DOC][128];
    const char *tp[CHUNKS_PER_DOC];
    for (int d = 0; d < N_DOCS; d++) {
        snprintf(id, sizeof id, "doc%d", d);
        for (int i = 0; i < CHUNKS_PER_DOC; i++) {
            snprintf(texts[i], sizeof texts[i], "%s chunk %d of %d: river bank %d, mountain trail",
                     i % 2 ? "Берег реки и банк" : "The quantum", i, d, d * 7 + i);
            tp[i] = texts[i];
        }
        put(k->ctx, "main", id, "Concurrent", tp, CHUNKS_PER_DOC);
        if (d % 100 == 0) /* some replacements along the way */
            put(k->ctx, "main", "doc0", "Concurrent", tp, 2);
    }
    conc_add(k, &k->done, 1);
    return NULL;
}

START_TEST(concurrent_search_while_indexing)
{
    conc k = {.ctx = open_rs(), .mu = PTHREAD_MUTEX_INITIALIZER};
    pthread_t s[4], w;
    put1(k.ctx, "secret", "secret1", "river bank mountain trail quantum");
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&s[i], NULL, searcher, &k), 0);
    ck_assert_int_eq(pthread_create(&w, NULL, indexer, &k), 0);
    pthread_join(w, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(s[i], NULL);
    ck_assert_int_eq(k.errors, 0);
    ck_assert_int_eq(k.leaks, 0);
    ck_assert_int_ge(k.searches, 80);
    int64_t total = 0;
    char id[32];
    for (int d = 0; d < N_DOCS; d++) {
        snprintf(id, sizeof id, "doc%d", d);
        total += chunks_of(k.ctx, "main", id);
    }
    ck_assert_int_eq(total, N_DOCS * CHUNKS_PER_DOC - 2); /* doc0 ends with 2 */
    ck_assert_double_eq(g_chunks_metric.value, total + 1);
    hits h;
    ck_assert_int_eq(search(k.ctx, "main", "банк", &h), 10);
    g_desc->destroy(k.ctx);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("retriever_sqlite_store");
    ph_add_tcase(s, "store", 60, setup, teardown,
                 PH_TESTS(replace_on_reindex, remove_doc, persistence,
                          rebuild_after_many_replaces, invalid_input, config_errors,
                          doc_versions, garbage_page_heals, truncated_file_heals));
    /* CK_RUN_CASE=concurrency for helgrind */
    ph_add_tcase(s, "concurrency", 120, setup, teardown,
                 PH_TESTS(concurrent_search_while_indexing));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
