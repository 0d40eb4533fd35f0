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
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "hostapi.h"
#include "loader.h"
#include "loop.h"
#include "registry.h"

#include <ragkernel/ragkernel.h>

#define N_PREFIXES 16

static const char *g_url;
static int g_run; /* main()'s pid: names this run's table prefixes */
/* Fault modes bound their waits by it; elsewhere it is generous because
 * SCRAM authentication is slow under valgrind. */
static const char *g_connect_timeout = "10s";

/* libpq through dlopen (this binary links only the core), to drop the
 * tables of the run. */
static void admin_exec(const char *sql)
{
    void *lib = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return;
    void *(*connectdb)(const char *) = (void *(*)(const char *))dlsym(lib, "PQconnectdb");
    void *(*exec)(void *, const char *) = (void *(*)(void *, const char *))dlsym(lib, "PQexec");
    void (*clear)(void *) = (void (*)(void *))dlsym(lib, "PQclear");
    void (*finish)(void *) = (void (*)(void *))dlsym(lib, "PQfinish");
    void *pg = connectdb && exec && clear && finish ? connectdb(g_url) : NULL;
    if (pg) {
        clear(exec(pg, sql));
        finish(pg);
    }
    dlclose(lib);
}

static void prefix_of(int n, char *out, size_t cap)
{
    snprintf(out, cap, "rkut_r%d_%d_", g_run, n);
}

/* ---- instances ------------------------------------------------------- */

typedef struct inst {
    loader_plugin *lp;
    cfg_doc *doc;
    rk_instance in;
    void *ctx;
    const rk_retriever_vtable *vt;
} inst;

static void inst_config(inst *h, const char *prefix, int conns)
{
    const char *b = getenv("BUILD");
    char path[512], yaml[1024], esc[600];
    size_t o = 0;
    for (const char *c = g_url; *c && o + 2 < sizeof esc; c++) {
        if (*c == '"' || *c == '\\')
            esc[o++] = '\\';
        esc[o++] = *c;
    }
    esc[o] = '\0';
    memset(h, 0, sizeof *h);
    snprintf(path, sizeof path, "%s/plugins/retriever_postgres.so", b && *b ? b : "build");
    rk_err err = {{0}};
    h->lp = loader_open(path, RK_KIND_RETRIEVER, &err);
    ck_assert_msg(h->lp != NULL, "loader: %s", err.msg);
    snprintf(yaml, sizeof yaml,
             "{url: \"%s\", pool_size: %d, connect_timeout: %s, table_prefix: \"%s\"}", esc,
             conns, g_connect_timeout, prefix);
    cfg_diag d = {0};
    h->doc = cfg_load_string(yaml, strlen(yaml), "test.yaml", &d);
    ck_assert_msg(h->doc != NULL, "yaml: %s", d.n ? d.lines[0] : "?");
    h->in.name = "retriever";
    h->in.plugin = h->lp->desc;
    h->in.lp = h->lp;
    h->in.cfg = cfg_values_build(cfg_root(h->doc), h->lp->desc->config, cfg_root(h->doc), &d);
    ck_assert_msg(h->in.cfg != NULL, "config: %s", d.n ? d.lines[0] : "?");
    cfg_diag_free(&d);
    pthread_mutex_init(&h->in.serial, NULL);
    h->vt = h->lp->desc->vtable;
}

static int inst_create(inst *h, rk_err *err)
{
    return h->lp->desc->create(hostapi_table(), &h->in, &h->ctx, err);
}

static void inst_open(inst *h, int n)
{
    char prefix[64];
    prefix_of(n, prefix, sizeof prefix);
    inst_config(h, prefix, 2);
    rk_err err = {{0}};
    int rc = inst_create(h, &err);
    ck_assert_msg(rc == RK_OK, "create: %s", err.msg);
}

static void inst_close(inst *h)
{
    if (h->ctx)
        h->lp->desc->destroy(h->ctx);
    cfg_values_free(h->in.cfg);
    cfg_free(h->doc);
    pthread_mutex_destroy(&h->in.serial);
    loader_close(h->lp);
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
static int search_in(inst *h, const char *tenant, const char *text, size_t k,
                     const char *const *ids, size_t n_ids, hits *r)
{
    rk_err err = {{0}};
    rk_query q = {.struct_size = sizeof q, .tenant = tenant, .text = text, .k = k,
                  .doc_ids = ids, .n_doc_ids = n_ids,
                  .deadline_ms = clock_now_ms() + 10000};
    memset(r, 0, sizeof *r);
    int rc = h->vt->search(h->ctx, &q, on_hit, r, &err);
    ck_assert_msg(rc >= 0, "search '%s': %d %s", text, rc, err.msg);
    ck_assert_int_eq(rc, r->n);
    return rc;
}

static int search(inst *h, const char *tenant, const char *text, hits *r)
{
    return search_in(h, tenant, text, 10, NULL, 0, r);
}

/* Index texts[0..n) as chunks 0..n-1 of (tenant, doc). */
static void index_doc(inst *h, const char *tenant, const char *doc, const char *title,
                      const char *const *texts, size_t n)
{
    rk_chunk c[16];
    for (size_t i = 0; i < n; i++)
        c[i] = (rk_chunk){.struct_size = sizeof c[i], .tenant = tenant, .doc_id = doc,
                          .title = title, .index = (uint32_t)i, .text = texts[i]};
    rk_err err = {{0}};
    int rc = h->vt->index(h->ctx, c, n, &err);
    ck_assert_msg(rc == RK_OK, "index %s: %s", doc, err.msg);
}

static int64_t chunks_of(inst *h, const char *tenant, const char *doc)
{
    rk_err err = {{0}};
    return h->vt->doc_chunks(h->ctx, tenant, doc, &err);
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
    inst h;
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
    inst_close(&h);
}
END_TEST

START_TEST(russian_inflection)
{
    inst h;
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
    inst_close(&h);
}
END_TEST

START_TEST(ranking)
{
    inst h;
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
    inst_close(&h);
}
END_TEST

START_TEST(tenant_isolation)
{
    inst h;
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
    ck_assert_int_eq(h.vt->remove(h.ctx, "carol", "doc", &err), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(h.vt->remove(h.ctx, "bob", "doc", &err), RK_OK);
    ck_assert_int_eq(search(&h, "alice", "submarine", &r), 1);
    ck_assert_int_eq(chunks_of(&h, "alice", "doc"), 3);
    inst_close(&h);
}
END_TEST

START_TEST(doc_filter)
{
    inst h;
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
    inst_close(&h);
}
END_TEST

START_TEST(reindex_and_remove)
{
    inst h;
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
    ck_assert_int_lt(h.vt->index(h.ctx, dup, 2, &err), 0);
    ck_assert_int_eq(search(&h, "acme", "zebra", &r), 1);
    rk_chunk mixed[2] = {{sizeof(rk_chunk), "acme", "doc", "", 0, "x", NULL},
                         {sizeof(rk_chunk), "acme", "other", "", 1, "y", NULL}};
    ck_assert_int_eq(h.vt->index(h.ctx, mixed, 2, &err), RK_ERR_INVALID);
    ck_assert_int_eq(h.vt->remove(h.ctx, "acme", "doc", &err), RK_OK);
    ck_assert_int_eq(chunks_of(&h, "acme", "doc"), 0);
    ck_assert_int_eq(search(&h, "acme", "zebra", &r), 0);
    ck_assert_int_eq(h.vt->remove(h.ctx, "acme", "doc", &err), RK_ERR_NOT_FOUND);
    inst_close(&h);
}
END_TEST

START_TEST(odd_queries_and_deadlines)
{
    inst h;
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
    ck_assert_int_eq(h.vt->search(h.ctx, &q, on_hit, &r, &err), RK_ERR_TIMEOUT);
    q.deadline_ms = 0; /* none */
    memset(&r, 0, sizeof r);
    ck_assert_int_eq(h.vt->search(h.ctx, &q, on_hit, &r, &err), 1);
    q.tenant = NULL;
    ck_assert_int_eq(h.vt->search(h.ctx, &q, on_hit, &r, &err), RK_ERR_INVALID);
    inst_close(&h);
}
END_TEST

START_TEST(two_hosts_share)
{
    inst a, b;
    hits r;
    rk_err err = {{0}};
    inst_open(&a, 7);
    inst_open(&b, 7);
    index_doc(&a, "acme", "guide", "", guide, 3);
    ck_assert_int_eq(search(&b, "acme", "submarine", &r), 1);
    ck_assert_int_eq(chunks_of(&b, "acme", "guide"), 3);
    ck_assert_int_eq(b.vt->remove(b.ctx, "acme", "guide", &err), RK_OK);
    ck_assert_int_eq(search(&a, "acme", "submarine", &r), 0);
    inst_close(&a);
    inst_close(&b);
}
END_TEST

/* Six threads on two instances re-index one document with versions of
 * different sizes: it must always end as exactly one complete version. */
#define N_WRITERS 6
#define N_ROUNDS 15

typedef struct writer {
    inst *h;
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
        w->failures += w->h->vt->index(w->h->ctx, c, (size_t)w->id + 1, &w->err) != RK_OK;
    return NULL;
}

START_TEST(concurrent_reindex)
{
    inst h[2];
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
    inst_close(&h[0]);
    inst_close(&h[1]);
}
END_TEST

#define N_HOSTS 6

typedef struct starter {
    inst *h;
    pthread_barrier_t *go;
    int rc;
    rk_err err;
} starter;

static void *start_one(void *p)
{
    starter *s = p;
    pthread_barrier_wait(s->go);
    s->rc = inst_create(s->h, &s->err);
    return NULL;
}

START_TEST(schema_race)
{
    char prefix[64], logf[] = "/tmp/rkut_rlog_XXXXXX";
    prefix_of(9, prefix, sizeof prefix);
    inst h[N_HOSTS];
    starter s[N_HOSTS];
    pthread_t th[N_HOSTS];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N_HOSTS);
    for (int i = 0; i < N_HOSTS; i++)
        inst_config(&h[i], prefix, 1);
    /* a lost race shows only as a warning (create retries lazily) */
    int fd = mkstemp(logf), saved = dup(2);
    ck_assert(fd >= 0 && saved >= 0);
    dup2(fd, 2);
    for (int i = 0; i < N_HOSTS; i++) {
        s[i] = (starter){&h[i], &go, 0, {{0}}};
        pthread_create(&th[i], NULL, start_one, &s[i]);
    }
    for (int i = 0; i < N_HOSTS; i++)
        pthread_join(th[i], NULL);
    dup2(saved, 2);
    close(saved);
    char log[4096] = "";
    ssize_t got = pread(fd, log, sizeof log - 1, 0);
    log[got > 0 ? got : 0] = '\0';
    close(fd);
    unlink(logf);
    ck_assert_msg(strstr(log, "level=warn") == NULL, "warnings: %s", log);
    for (int i = 0; i < N_HOSTS; i++)
        ck_assert_msg(s[i].rc == RK_OK, "create %d: %s", i, s[i].err.msg);
    index_doc(&h[0], "acme", "guide", "", guide, 3);
    hits r;
    ck_assert_int_eq(search(&h[N_HOSTS - 1], "acme", "arctic", &r), 1);
    for (int i = 0; i < N_HOSTS; i++)
        inst_close(&h[i]);
    pthread_barrier_destroy(&go);
}
END_TEST

/* ---- fault modes ----------------------------------------------------- */

static void expect_unavailable(inst *h)
{
    const char *at = strchr(g_url, '@'), *slash = at ? strchr(at, '/') : NULL;
    char hostport[256];
    snprintf(hostport, sizeof hostport, "%.*s", slash ? (int)(slash - at - 1) : 0,
             at ? at + 1 : "");
    rk_err err = {{0}};
    rk_query q = {.struct_size = sizeof q, .tenant = "acme", .text = "arctic", .k = 3,
                  .deadline_ms = clock_now_ms() + 20000};
    hits r = {0};
    int64_t t0 = clock_now_ms();
    int rc = h->vt->search(h->ctx, &q, on_hit, &r, &err);
    int64_t took = clock_now_ms() - t0;
    ck_assert_msg(rc == RK_ERR_UNAVAILABLE, "search while down: %d %s", rc, err.msg);
    ck_assert_msg(took <= 5000, "took %lld ms (connect_timeout 2 s)", (long long)took);
    ck_assert_msg(strstr(err.msg, hostport) != NULL, "'%s' does not name %s", err.msg, hostport);
    ck_assert_int_eq(chunks_of(h, "acme", "guide"), RK_ERR_UNAVAILABLE);
    ck_assert_int_eq(h->vt->index(h->ctx, (rk_chunk[]){{sizeof(rk_chunk), "acme", "g", "", 0,
                                                        "text", NULL}},
                                  1, &err),
                     RK_ERR_UNAVAILABLE);
}

START_TEST(server_down)
{
    inst h;
    inst_open(&h, 10); /* must succeed: the database may come up later */
    expect_unavailable(&h);
    inst_close(&h);
}
END_TEST

static void run_cmd(const char *env)
{
    const char *cmd = getenv(env);
    ck_assert_msg(cmd && *cmd, "%s is not set", env);
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

START_TEST(outage_and_recovery)
{
    inst a, b;
    hits r;
    inst_open(&a, 11);
    index_doc(&a, "acme", "guide", "", guide, 3);
    run_cmd("RK_PG_STOP_CMD");
    expect_unavailable(&a);
    inst_open(&b, 12);
    expect_unavailable(&b);
    run_cmd("RK_PG_START_CMD");
    ck_assert_int_eq(search(&a, "acme", "submarine", &r), 1);
    ck_assert_int_eq(chunks_of(&a, "acme", "guide"), 3);
    index_doc(&b, "acme", "ru", "", ru, 2); /* its schema is created now */
    ck_assert_int_eq(search(&b, "acme", "документов", &r), 1);
    inst_close(&a);
    inst_close(&b);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("retriever_postgres");
    TCase *tc = tcase_create("contract");
    tcase_set_timeout(tc, 120);
    if (getenv("RK_PG_DOWN")) {
        tcase_add_test(tc, server_down);
    } else if (getenv("RK_PG_OUTAGE")) {
        tcase_add_test(tc, outage_and_recovery);
    } else {
        tcase_add_test(tc, english_stemming);
        tcase_add_test(tc, russian_inflection);
        tcase_add_test(tc, ranking);
        tcase_add_test(tc, tenant_isolation);
        tcase_add_test(tc, doc_filter);
        tcase_add_test(tc, reindex_and_remove);
        tcase_add_test(tc, odd_queries_and_deadlines);
        tcase_add_test(tc, two_hosts_share);
        tcase_add_test(tc, concurrent_reindex);
        tcase_add_test(tc, schema_race);
    }
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    g_url = getenv("PG_URL");
    if (!g_url || !*g_url) {
        printf("skipped: PG_URL not set\n");
        return EXIT_SUCCESS;
    }
    g_run = (int)getpid();
    if (getenv("RK_PG_DOWN") || getenv("RK_PG_OUTAGE"))
        g_connect_timeout = "2s";
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (!getenv("RK_PG_DOWN")) {
        for (int i = 0; i < N_PREFIXES; i++) {
            char p[64], sql[256];
            prefix_of(i, p, sizeof p);
            snprintf(sql, sizeof sql,
                     "SET client_min_messages = warning; DROP TABLE IF EXISTS %schunks; "
                     "DROP FUNCTION IF EXISTS %sfold(text)", p, p);
            admin_exec(sql);
        }
    }
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
