/*
 * test_retriever_postgres — the built retriever_postgres.so through the
 * real loader, host table and config validation, against the PostgreSQL
 * server PG_URL names (skipped when it is unset): English stemming, Russian
 * inflection with capitals (the test cluster has LC_CTYPE=C), snippets
 * marked with ** over the original text, ranking, tenant isolation, the
 * doc_ids filter, replace-on-reindex, remove, doc_chunks, deadlines,
 * hostile query text, two instances sharing one index, concurrent
 * re-indexing of one document from two instances, and six instances
 * creating the schema at once. Every test works in tables of its own
 * prefix, dropped by main() at the end.
 *
 * Fault modes, driven by tests/integration/test_postgres.sh:
 *   RK_PG_DOWN=1    the server is down: create still succeeds, calls fail
 *                   with RK_ERR_UNAVAILABLE within connect_timeout + 3 s;
 *   RK_PG_OUTAGE=1  with RK_PG_STOP_CMD and RK_PG_START_CMD: the server
 *                   goes away under a working instance and comes back.
 * Run from the repository root (BUILD defaults to "build").
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "plugin_harness.h"

#include <ragkernel/ragkernel.h>

#define N_PREFIXES 16

/* Load the plugin and validate a config; create() is left to the caller. */
static void inst_config(ph *h, const char *prefix, int conns)
{
    char yaml[1024];
    ph_pg_config(yaml, sizeof yaml, ph_pg_url(), prefix, conns);
    ph_load(h, "retriever_postgres", RK_KIND_RETRIEVER, "retriever", yaml);
}

static void inst_open(ph *h, int n)
{
    char prefix[64];
    ph_pg_prefix("r", n, prefix, sizeof prefix);
    inst_config(h, prefix, 2);
    rk_err err = {{0}};
    int rc = ph_create(h, &err);
    ck_assert_msg(rc == RK_OK, "create: %s", err.msg);
}

/* ---- calls ----------------------------------------------------------- */

typedef struct hit {
    char doc[64], title[64], text[256], snippet[512];
    unsigned idx;
    double score;
} hit;

typedef struct hits {
    int n;
    hit h[32];
} hits;

static void on_hit(void *ud, const rk_passage *p)
{
    hits *r = ud;
    if (r->n >= 32)
        return;
    hit *x = &r->h[r->n++];
    snprintf(x->doc, sizeof x->doc, "%s", p->doc_id);
    snprintf(x->title, sizeof x->title, "%s", p->title ? p->title : "");
    snprintf(x->text, sizeof x->text, "%s", p->text);
    snprintf(x->snippet, sizeof x->snippet, "%s", p->snippet ? p->snippet : "");
    x->idx = p->chunk_index;
    x->score = p->score;
}

/* Search; returns the slot's result, which must equal the hit count. */
static int search_in(ph *h, const char *tenant, const char *text, size_t k,
                     const char *const *ids, size_t n_ids, hits *r)
{
    rk_err err = {{0}};
    rk_query q = {.struct_size = sizeof q, .tenant = tenant, .text = text, .k = k,
                  .doc_ids = ids, .n_doc_ids = n_ids,
                  .deadline_ms = clock_now_ms() + 10000};
    memset(r, 0, sizeof *r);
    int rc = h->retriever->search(h->ctx, &q, on_hit, r, &err);
    ck_assert_msg(rc >= 0, "search '%s': %d %s", text, rc, err.msg);
    ck_assert_int_eq(rc, r->n);
    return rc;
}

static int search(ph *h, const char *tenant, const char *text, hits *r)
{
    return search_in(h, tenant, text, 10, NULL, 0, r);
}

/* Index texts[0..n) as chunks 0..n-1 of (tenant, doc). */
static void index_doc(ph *h, const char *tenant, const char *doc, const char *title,
                      const char *const *texts, size_t n)
{
    rk_chunk c[16];
    for (size_t i = 0; i < n; i++)
        c[i] = (rk_chunk){.struct_size = sizeof c[i], .tenant = tenant, .doc_id = doc,
                          .title = title, .index = (uint32_t)i, .text = texts[i]};
    rk_err err = {{0}};
    int rc = h->retriever->index(h->ctx, c, n, &err);
    ck_assert_msg(rc == RK_OK, "index %s: %s", doc, err.msg);
}

static int64_t chunks_of(ph *h, const char *tenant, const char *doc)
{
    rk_err err = {{0}};
    return h->retriever->doc_chunks(h->ctx, tenant, doc, &err);
}

static const char *const guide[] = {
    "The server stores documents in tables and indexes them for retrieval.",
    "Submarines dive beneath the arctic ice shelf every winter.",
    "Configuration lives in one YAML file read at startup.",
};
static const char *const ru[] = {
    "Документ содержит описание системы хранения. Ёлка стоит в углу.",
    "Сервер PostgreSQL хранит историю разговоров.",
};

/* ---- contract -------------------------------------------------------- */

START_TEST(english_stemming)
{
    ph h;
    hits r;
    inst_open(&h, 0);
    index_doc(&h, "acme", "guide", "Server guide", guide, 3);
    ck_assert_int_ge(search(&h, "acme", "Which document is stored?", &r), 1);
    ck_assert_str_eq(r.h[0].doc, "guide");
    ck_assert_uint_eq(r.h[0].idx, 0);
    ck_assert_str_eq(r.h[0].text, guide[0]);
    ck_assert_str_eq(r.h[0].title, "Server guide");
    ck_assert_msg(strstr(r.h[0].snippet, "**documents**") && strstr(r.h[0].snippet, "**stores**"),
                  "snippet: %s", r.h[0].snippet);
    ck_assert_int_ge(search(&h, "acme", "indexing", &r), 1);
    ck_assert_uint_eq(r.h[0].idx, 0);
    ck_assert_int_ge(search(&h, "acme", "SUBMARINE diving", &r), 1);
    ck_assert_uint_eq(r.h[0].idx, 1);
    ck_assert_msg(strstr(r.h[0].snippet, "**Submarines**") && strstr(r.h[0].snippet, "**dive**"),
                  "snippet: %s", r.h[0].snippet);
    ck_assert_int_eq(search(&h, "acme", "volcano lava", &r), 0);
    ph_close(&h);
}
END_TEST

START_TEST(russian_inflection)
{
    ph h;
    hits r;
    inst_open(&h, 1);
    index_doc(&h, "acme", "ru", "Справка", ru, 2);
    ck_assert_int_eq(search(&h, "acme", "документов", &r), 1);
    ck_assert_uint_eq(r.h[0].idx, 0);
    /* the capital in the text was matched and is kept in the snippet */
    ck_assert_msg(strstr(r.h[0].snippet, "**Документ**") != NULL, "snippet: %s", r.h[0].snippet);
    ck_assert_int_eq(search(&h, "acme", "ОПИСАНИЯ систем", &r), 1);
    ck_assert_int_eq(search(&h, "acme", "ёлки", &r), 1);
    ck_assert_int_eq(search(&h, "acme", "елкой", &r), 1);
    /* English inside Russian text, and a question mixing both */
    ck_assert_int_eq(search(&h, "acme", "postgresql", &r), 1);
    ck_assert_uint_eq(r.h[0].idx, 1);
    ck_assert_int_eq(search(&h, "acme", "Where are разговоры stored?", &r), 1);
    ck_assert_uint_eq(r.h[0].idx, 1);
    ck_assert(strstr(r.h[0].snippet, "**разговоров**") != NULL);
    /* neither English nor Russian: the simple configuration */
    const char *el[] = {"Η βάση δεδομένων αποθηκεύει έγγραφα."};
    index_doc(&h, "acme", "el", "", el, 1);
    ck_assert_int_eq(search(&h, "acme", "ΒΆΣΗ", &r), 1);
    ck_assert_str_eq(r.h[0].doc, "el");
    ph_close(&h);
}
END_TEST

START_TEST(ranking)
{
    ph h;
    hits r;
    inst_open(&h, 2);
    const char *a[] = {"apple apple apple apple orchard"}, *b[] = {"apple banana orchard"};
    const char *x[] = {"Ice moves slowly downhill."}, *y[] = {"Glaciers are big ice."};
    index_doc(&h, "acme", "a", "", a, 1);
    index_doc(&h, "acme", "b", "", b, 1);
    ck_assert_int_eq(search(&h, "acme", "apple banana", &r), 2);
    ck_assert_str_eq(r.h[0].doc, "b"); /* covers more of the question */
    ck_assert(r.h[0].score > r.h[1].score);
    index_doc(&h, "acme", "x", "Glaciers", x, 1);
    index_doc(&h, "acme", "y", "Misc", y, 1);
    ck_assert_int_eq(search(&h, "acme", "glacier", &r), 2);
    ck_assert_str_eq(r.h[0].doc, "x"); /* the title counts more */
    ck_assert_int_eq(search_in(&h, "acme", "apple orchard", 1, NULL, 0, &r), 1);
    ph_close(&h);
}
END_TEST

START_TEST(tenant_isolation)
{
    ph h;
    hits r;
    rk_err err = {{0}};
    inst_open(&h, 3);
    index_doc(&h, "alice", "doc", "", guide, 3);
    index_doc(&h, "bob", "doc", "", ru, 2);
    ck_assert_int_eq(search(&h, "bob", "submarine", &r), 0);
    ck_assert_int_eq(search(&h, "carol", "submarine", &r), 0);
    ck_assert_int_eq(search(&h, "alice", "документ", &r), 0);
    ck_assert_int_eq(chunks_of(&h, "alice", "doc"), 3);
    ck_assert_int_eq(chunks_of(&h, "bob", "doc"), 2);
    ck_assert_int_eq(chunks_of(&h, "carol", "doc"), 0);
    ck_assert_int_eq(h.retriever->remove(h.ctx, "carol", "doc", &err), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(h.retriever->remove(h.ctx, "bob", "doc", &err), RK_OK);
    ck_assert_int_eq(search(&h, "alice", "submarine", &r), 1);
    ck_assert_int_eq(chunks_of(&h, "alice", "doc"), 3);
    ph_close(&h);
}
END_TEST

START_TEST(doc_filter)
{
    ph h;
    hits r;
    inst_open(&h, 4);
    const char *t1[] = {"arctic ice one"}, *t2[] = {"arctic ice two"}, *t3[] = {"arctic three"};
    index_doc(&h, "acme", "d1", "", t1, 1);
    index_doc(&h, "acme", "d'2", "", t2, 1);
    index_doc(&h, "acme", "d3", "", t3, 1);
    ck_assert_int_eq(search(&h, "acme", "arctic", &r), 3);
    const char *only[] = {"d'2", "nope"};
    ck_assert_int_eq(search_in(&h, "acme", "arctic", 10, only, 2, &r), 1);
    ck_assert_str_eq(r.h[0].doc, "d'2");
    const char *two[] = {"d1", "d3"};
    ck_assert_int_eq(search_in(&h, "acme", "arctic", 10, two, 2, &r), 2);
    ck_assert_int_eq(search_in(&h, "acme", "arctic", 10, two, 0, &r), 0);
    ph_close(&h);
}
END_TEST

START_TEST(reindex_and_remove)
{
    ph h;
    hits r;
    rk_err err = {{0}};
    inst_open(&h, 5);
    index_doc(&h, "acme", "doc", "", guide, 3);
    ck_assert_int_eq(chunks_of(&h, "acme", "doc"), 3);
    const char *v2[] = {"Zebras gallop across the savanna."};
    index_doc(&h, "acme", "doc", "", v2, 1);
    ck_assert_int_eq(chunks_of(&h, "acme", "doc"), 1);
    ck_assert_int_eq(search(&h, "acme", "submarine", &r), 0);
    ck_assert_int_eq(search(&h, "acme", "zebra", &r), 1);
    /* a failing index (duplicate chunk index) leaves the old version */
    rk_chunk dup[2] = {{sizeof(rk_chunk), "acme", "doc", "", 0, "new one", NULL},
                       {sizeof(rk_chunk), "acme", "doc", "", 0, "new two", NULL}};
    ck_assert_int_lt(h.retriever->index(h.ctx, dup, 2, &err), 0);
    ck_assert_int_eq(search(&h, "acme", "zebra", &r), 1);
    rk_chunk mixed[2] = {{sizeof(rk_chunk), "acme", "doc", "", 0, "x", NULL},
                         {sizeof(rk_chunk), "acme", "other", "", 1, "y", NULL}};
    ck_assert_int_eq(h.retriever->index(h.ctx, mixed, 2, &err), RK_ERR_INVALID);
    ck_assert_int_eq(h.retriever->remove(h.ctx, "acme", "doc", &err), RK_OK);
    ck_assert_int_eq(chunks_of(&h, "acme", "doc"), 0);
    ck_assert_int_eq(search(&h, "acme", "zebra", &r), 0);
    ck_assert_int_eq(h.retriever->remove(h.ctx, "acme", "doc", &err), RK_ERR_NOT_FOUND);
    ph_close(&h);
}
END_TEST

/* index_versioned records the version with the chunks; index() and
 * remove() drop it */
START_TEST(doc_versions)
{
    ph h;
    char v[RK_DOC_VERSION_MAX];
    rk_err err = {{0}};
    inst_open(&h, 13);
    rk_chunk ch = {sizeof(rk_chunk), "acme", "doc", "", 0, "versioned text", NULL};
    ck_assert_ptr_nonnull(h.retriever->index_versioned);
    ck_assert_int_eq(h.retriever->doc_version(h.ctx, "acme", "doc", v, sizeof v, &err),
                     RK_ERR_NOT_FOUND);
    ck_assert_int_eq(h.retriever->index_versioned(h.ctx, &ch, 1, "sha-1", &err), RK_OK);
    ck_assert_int_eq(h.retriever->doc_version(h.ctx, "acme", "doc", v, sizeof v, &err), RK_OK);
    ck_assert_str_eq(v, "sha-1");
    ck_assert_int_eq(h.retriever->index_versioned(h.ctx, &ch, 1, "sha-2", &err), RK_OK);
    ck_assert_int_eq(h.retriever->doc_version(h.ctx, "acme", "doc", v, sizeof v, &err), RK_OK);
    ck_assert_str_eq(v, "sha-2");
    index_doc(&h, "acme", "doc", "", guide, 1);
    ck_assert_int_eq(h.retriever->doc_version(h.ctx, "acme", "doc", v, sizeof v, &err), RK_OK);
    ck_assert_str_eq(v, "");
    ck_assert_int_eq(h.retriever->index_versioned(h.ctx, &ch, 1, "sha-3", &err), RK_OK);
    ck_assert_int_eq(h.retriever->remove(h.ctx, "acme", "doc", &err), RK_OK);
    ck_assert_int_eq(h.retriever->doc_version(h.ctx, "acme", "doc", v, sizeof v, &err),
                     RK_ERR_NOT_FOUND);
    ph_close(&h);
}
END_TEST

START_TEST(odd_queries_and_deadlines)
{
    ph h;
    hits r;
    rk_err err = {{0}};
    inst_open(&h, 6);
    index_doc(&h, "acme", "guide", "", guide, 3);
    ck_assert_int_eq(search(&h, "acme", "?!... --", &r), 0);
    ck_assert_int_eq(search(&h, "acme", "the of and", &r), 0);
    ck_assert_int_ge(search(&h, "acme", "'; DROP TABLE x; -- & | ! :* ice\\ (arctic", &r), 1);
    ck_assert_uint_eq(r.h[0].idx, 1);
    ck_assert_int_eq(search_in(&h, "acme", "arctic", 0, NULL, 0, &r), 0);
    rk_query q = {.struct_size = sizeof q, .tenant = "acme", .text = "arctic", .k = 5,
                  .deadline_ms = clock_now_ms() - 1};
    ck_assert_int_eq(h.retriever->search(h.ctx, &q, on_hit, &r, &err), RK_ERR_TIMEOUT);
    q.deadline_ms = 0; /* none */
    memset(&r, 0, sizeof r);
    ck_assert_int_eq(h.retriever->search(h.ctx, &q, on_hit, &r, &err), 1);
    q.tenant = NULL;
    ck_assert_int_eq(h.retriever->search(h.ctx, &q, on_hit, &r, &err), RK_ERR_INVALID);
    ph_close(&h);
}
END_TEST

START_TEST(two_hosts_share)
{
    ph a, b;
    hits r;
    rk_err err = {{0}};
    inst_open(&a, 7);
    inst_open(&b, 7);
    index_doc(&a, "acme", "guide", "", guide, 3);
    ck_assert_int_eq(search(&b, "acme", "submarine", &r), 1);
    ck_assert_int_eq(chunks_of(&b, "acme", "guide"), 3);
    ck_assert_int_eq(b.retriever->remove(b.ctx, "acme", "guide", &err), RK_OK);
    ck_assert_int_eq(search(&a, "acme", "submarine", &r), 0);
    ph_close(&a);
    ph_close(&b);
}
END_TEST

/* Six threads on two instances re-index one document with versions of
 * different sizes: it must always end as exactly one complete version. */
#define N_WRITERS 6
#define N_ROUNDS 15

typedef struct writer {
    ph *h;
    int id, failures;
    rk_err err; /* the last failure */
} writer;

static void *writer_run(void *p)
{
    writer *w = p;
    char texts[N_WRITERS][64];
    rk_chunk c[N_WRITERS];
    for (int i = 0; i <= w->id; i++) {
        snprintf(texts[i], sizeof texts[i], "shared version v%d part %d", w->id, i);
        c[i] = (rk_chunk){sizeof c[i], "acme", "same", "", (uint32_t)i, texts[i], "en"};
    }
    for (int round = 0; round < N_ROUNDS; round++)
        w->failures += w->h->retriever->index(w->h->ctx, c, (size_t)w->id + 1, &w->err) != RK_OK;
    return NULL;
}

START_TEST(concurrent_reindex)
{
    ph h[2];
    hits r;
    inst_open(&h[0], 8);
    inst_open(&h[1], 8);
    writer w[N_WRITERS];
    pthread_t th[N_WRITERS];
    for (int i = 0; i < N_WRITERS; i++) {
        w[i] = (writer){&h[i % 2], i, 0, {{0}}};
        ck_assert_int_eq(pthread_create(&th[i], NULL, writer_run, &w[i]), 0);
    }
    for (int i = 0; i < N_WRITERS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(w[i].failures == 0, "writer %d: %d failures, %s", i, w[i].failures,
                      w[i].err.msg);
    }
    int64_t n = chunks_of(&h[0], "acme", "same");
    ck_assert(n >= 1 && n <= N_WRITERS);
    ck_assert_int_eq(search(&h[1], "acme", "shared version", &r), (int)n);
    char tag[16];
    snprintf(tag, sizeof tag, " v%d ", (int)n - 1);
    for (int i = 0; i < r.n; i++)
        ck_assert_msg(strstr(r.h[i].text, tag) != NULL, "mixed versions: %s", r.h[i].text);
    ph_close(&h[0]);
    ph_close(&h[1]);
}
END_TEST

#define N_HOSTS 6

static void race_config(ph *h, const char *prefix) { inst_config(h, prefix, 1); }

START_TEST(schema_race)
{
    char prefix[64];
    ph_pg_prefix("r", 9, prefix, sizeof prefix);
    ph h[N_HOSTS];
    ph_pg_create_racing(h, N_HOSTS, prefix, race_config);
    index_doc(&h[0], "acme", "guide", "", guide, 3);
    hits r;
    ck_assert_int_eq(search(&h[N_HOSTS - 1], "acme", "arctic", &r), 1);
    for (int i = 0; i < N_HOSTS; i++)
        ph_close(&h[i]);
}
END_TEST

/* ---- fault modes ----------------------------------------------------- */

static void expect_unavailable(ph *h)
{
    const char *at = strchr(ph_pg_url(), '@'), *slash = at ? strchr(at, '/') : NULL;
    char hostport[256];
    snprintf(hostport, sizeof hostport, "%.*s", slash ? (int)(slash - at - 1) : 0,
             at ? at + 1 : "");
    rk_err err = {{0}};
    rk_query q = {.struct_size = sizeof q, .tenant = "acme", .text = "arctic", .k = 3,
                  .deadline_ms = clock_now_ms() + 20000};
    hits r = {0};
    int64_t t0 = clock_now_ms();
    int rc = h->retriever->search(h->ctx, &q, on_hit, &r, &err);
    int64_t took = clock_now_ms() - t0;
    ck_assert_msg(rc == RK_ERR_UNAVAILABLE, "search while down: %d %s", rc, err.msg);
    ck_assert_msg(took <= 5000, "took %lld ms (connect_timeout 2 s)", (long long)took);
    ck_assert_msg(strstr(err.msg, hostport) != NULL, "'%s' does not name %s", err.msg, hostport);
    ck_assert_int_eq(chunks_of(h, "acme", "guide"), RK_ERR_UNAVAILABLE);
    rk_chunk c = {sizeof(rk_chunk), "acme", "g", "", 0, "text", NULL};
    ck_assert_int_eq(h->retriever->index(h->ctx, &c, 1, &err), RK_ERR_UNAVAILABLE);
}

START_TEST(server_down)
{
    ph h;
    inst_open(&h, 10); /* must succeed: the database may come up later */
    expect_unavailable(&h);
    ph_close(&h);
}
END_TEST

START_TEST(outage_and_recovery)
{
    ph a, b;
    hits r;
    inst_open(&a, 11);
    index_doc(&a, "acme", "guide", "", guide, 3);
    ph_env_cmd("RK_PG_STOP_CMD");
    expect_unavailable(&a);
    inst_open(&b, 12);
    expect_unavailable(&b);
    ph_env_cmd("RK_PG_START_CMD");
    ck_assert_int_eq(search(&a, "acme", "submarine", &r), 1);
    ck_assert_int_eq(chunks_of(&a, "acme", "guide"), 3);
    index_doc(&b, "acme", "ru", "", ru, 2); /* its schema is created now */
    ck_assert_int_eq(search(&b, "acme", "документов", &r), 1);
    ph_close(&a);
    ph_close(&b);
}
END_TEST

static Suite *suite(void)
{
    return ph_pg_suite("retriever_postgres", server_down, outage_and_recovery,
                       PH_TESTS(english_stemming, russian_inflection, ranking, tenant_isolation,
                                doc_filter, reindex_and_remove, doc_versions,
                                odd_queries_and_deadlines,
                                two_hosts_share, concurrent_reindex, schema_race));
}

static void drop_tables(const char *prefix, char *sql, size_t cap)
{
    snprintf(sql, cap,
             "SET client_min_messages = warning; DROP TABLE IF EXISTS %schunks; "
             "DROP TABLE IF EXISTS %sdoc_versions; DROP FUNCTION IF EXISTS %sfold(text)",
             prefix, prefix, prefix);
}

int main(void) { return ph_pg_main(suite, "r", N_PREFIXES, drop_tables); }
