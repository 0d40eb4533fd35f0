/*
 * test_history_sqlite — the built history_sqlite.so through the real
 * loader, host table and config validation, on a database file in a fresh
 * temporary directory: append order, the `max` window, atomic replace,
 * expiry with its batch limit, tenant isolation, WAL mode, concurrent
 * appends from several threads, and that everything survives destroying
 * and re-creating the instance. Run from the repository root (BUILD
 * defaults to "build").
 */
#define _GNU_SOURCE
#include <check.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "hostapi.h"
#include "loader.h"
#include "loop.h"
#include "registry.h"

#include <ragkernel/ragkernel.h>

/* Every test's directory lives under this one, which main() removes after
 * the run, so a failed assertion leaves nothing behind either. */
static char g_base[64];

static void make_tmp(char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/t_XXXXXX", g_base);
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

typedef struct harness {
    char tmp[256];
    char db[320]; /* <tmp>/sub/history.sqlite: the directory is created */
    loader_plugin *lp;
    cfg_doc *doc;
    rk_instance inst;
    void *ctx;
    const rk_history_vtable *vt;
} harness;

/* Create an instance on h->db (h->tmp and h->db must be set). */
static void h_create(harness *h)
{
    const char *b = getenv("BUILD");
    char path[512], yaml[512];
    snprintf(path, sizeof path, "%s/plugins/history_sqlite.so", b && *b ? b : "build");
    rk_err err = {{0}};
    h->lp = loader_open(path, RK_KIND_HISTORY, &err);
    ck_assert_msg(h->lp != NULL, "loader: %s", err.msg);
    snprintf(yaml, sizeof yaml, "{path: \"%s\", busy_timeout: 10s, pool_size: 2}", h->db);
    cfg_diag d = {0};
    h->doc = cfg_load_string(yaml, strlen(yaml), "test.yaml", &d);
    ck_assert_msg(h->doc != NULL, "yaml: %s", d.n ? d.lines[0] : "?");
    memset(&h->inst, 0, sizeof h->inst);
    h->inst.name = "history";
    h->inst.plugin = h->lp->desc;
    h->inst.lp = h->lp;
    h->inst.cfg = cfg_values_build(cfg_root(h->doc), h->lp->desc->config,
                                   cfg_root(h->doc), &d);
    ck_assert_msg(h->inst.cfg != NULL, "config: %s", d.n ? d.lines[0] : "?");
    cfg_diag_free(&d);
    pthread_mutex_init(&h->inst.serial, NULL);
    int rc = h->lp->desc->create(hostapi_table(), &h->inst, &h->ctx, &err);
    ck_assert_msg(rc == RK_OK, "create: %s", err.msg);
    h->vt = h->lp->desc->vtable;
}

static void h_destroy(harness *h)
{
    h->lp->desc->destroy(h->ctx);
    cfg_values_free(h->inst.cfg);
    cfg_free(h->doc);
    pthread_mutex_destroy(&h->inst.serial);
    loader_close(h->lp);
}

static void h_open(harness *h)
{
    memset(h, 0, sizeof *h);
    make_tmp(h->tmp, sizeof h->tmp);
    snprintf(h->db, sizeof h->db, "%s/sub/history.sqlite", h->tmp);
    h_create(h);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void h_close(harness *h)
{
    h_destroy(h);
    nftw(h->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Loaded messages as "role:content" lines. */
typedef struct loaded {
    char text[16384];
    int n;
    int64_t first_ms;
} loaded;

static void on_msg(void *ud, const rk_history_entry *e)
{
    loaded *l = ud;
    size_t used = strlen(l->text);
    snprintf(l->text + used, sizeof l->text - used, "%s:%s\n", e->role, e->content);
    if (l->n++ == 0)
        l->first_ms = e->created_ms;
}

static int load(harness *h, const char *tenant, const char *conv, size_t max, loaded *l)
{
    memset(l, 0, sizeof *l);
    rk_err err = {{0}};
    return h->vt->load(h->ctx, tenant, conv, max, on_msg, l, &err);
}

static void append(harness *h, const char *tenant, const char *conv,
                   const rk_message *m, size_t n)
{
    rk_err err = {{0}};
    int rc = h->vt->append(h->ctx, tenant, conv, m, n, &err);
    ck_assert_msg(rc == RK_OK, "append: %s", err.msg);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static const rk_message first3[] = {
    {"user", "What is WAL?"},
    {"assistant", "Write-ahead logging."},
    {"user", "And «журнал»? 'quotes' \"too\""},
};
static const rk_message next2[] = {
    {"assistant", "Журнал упреждающей записи."},
    {"user", "thanks"},
};

START_TEST(order_and_max)
{
    harness h;
    h_open(&h);
    int64_t before = clock_wall_ms();
    append(&h, "acme", "c1", first3, 3);
    append(&h, "acme", "c1", next2, 2);
    loaded l;
    ck_assert_int_eq(load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 5);
    ck_assert_str_eq(l.text, "user:What is WAL?\n"
                             "assistant:Write-ahead logging.\n"
                             "user:And «журнал»? 'quotes' \"too\"\n"
                             "assistant:Журнал упреждающей записи.\n"
                             "user:thanks\n");
    ck_assert(l.first_ms >= before && l.first_ms <= clock_wall_ms());
    ck_assert_int_eq(load(&h, "acme", "c1", 2, &l), RK_OK);
    ck_assert_str_eq(l.text, "assistant:Журнал упреждающей записи.\nuser:thanks\n");
    ck_assert_int_eq(load(&h, "acme", "c1", 100, &l), RK_OK);
    ck_assert_int_eq(l.n, 5);
    ck_assert_int_eq(load(&h, "acme", "nope", 0, &l), RK_ERR_NOT_FOUND);
    /* an append of nothing still creates the conversation */
    append(&h, "acme", "empty", NULL, 0);
    ck_assert_int_eq(load(&h, "acme", "empty", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 0);
    /* malformed input is refused and changes nothing */
    rk_err err = {{0}};
    rk_message bad[] = {{"user", "ok"}, {"user", NULL}};
    ck_assert_int_eq(h.vt->append(h.ctx, "acme", "c1", bad, 2, &err), RK_ERR_INVALID);
    ck_assert_int_eq(h.vt->append(h.ctx, "acme", NULL, first3, 1, &err), RK_ERR_INVALID);
    ck_assert_int_eq(load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 5);
    h_close(&h);
}
END_TEST

START_TEST(replace_atomic)
{
    harness h;
    h_open(&h);
    append(&h, "acme", "c1", first3, 3);
    rk_err err = {{0}};
    rk_message summary[] = {{"system", "Summary: asked about WAL."}, {"user", "more?"}};
    ck_assert_int_eq(h.vt->replace(h.ctx, "acme", "c1", summary, 2, &err), RK_OK);
    loaded l;
    ck_assert_int_eq(load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_str_eq(l.text, "system:Summary: asked about WAL.\nuser:more?\n");
    /* appends continue after the replaced content */
    append(&h, "acme", "c1", next2 + 1, 1);
    ck_assert_int_eq(load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_str_eq(l.text, "system:Summary: asked about WAL.\nuser:more?\nuser:thanks\n");
    /* a replace that fails validation leaves the old content */
    rk_message bad[] = {{"user", "x"}, {NULL, "y"}};
    ck_assert_int_eq(h.vt->replace(h.ctx, "acme", "c1", bad, 2, &err), RK_ERR_INVALID);
    ck_assert_int_eq(load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 3);
    /* replace creates a conversation that did not exist */
    ck_assert_int_eq(h.vt->replace(h.ctx, "acme", "new", summary, 1, &err), RK_OK);
    ck_assert_int_eq(load(&h, "acme", "new", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 1);
    h_close(&h);
}
END_TEST

START_TEST(tenant_isolation)
{
    harness h;
    h_open(&h);
    append(&h, "alice", "conv", first3, 3);
    loaded l;
    ck_assert_int_eq(load(&h, "bob", "conv", 0, &l), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(l.n, 0);
    ck_assert_int_eq(load(&h, NULL, "conv", 0, &l), RK_ERR_NOT_FOUND);
    /* bob's conversation with the same id is separate... */
    append(&h, "bob", "conv", next2, 2);
    ck_assert_int_eq(load(&h, "bob", "conv", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 2);
    rk_err err = {{0}};
    ck_assert_int_eq(h.vt->replace(h.ctx, "bob", "conv", next2, 1, &err), RK_OK);
    /* ...and nothing bob does touches alice's */
    ck_assert_int_eq(load(&h, "alice", "conv", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 3);
    ck_assert(strstr(l.text, "What is WAL?") != NULL);
    h_close(&h);
}
END_TEST

START_TEST(expire_batches)
{
    harness h;
    h_open(&h);
    append(&h, "t1", "old1", first3, 1);
    append(&h, "t2", "old2", first3, 2);
    append(&h, "t1", "old3", first3, 3);
    sleep_ms(30);
    int64_t cutoff = clock_wall_ms();
    sleep_ms(30);
    append(&h, "t1", "fresh", first3, 1);
    /* touching an old conversation makes it fresh again */
    append(&h, "t1", "old3", next2, 1);
    rk_err err = {{0}};
    ck_assert_int_eq(h.vt->expire(h.ctx, cutoff - 10000, 10, &err), 0);
    ck_assert_int_eq(h.vt->expire(h.ctx, cutoff, 1, &err), 1);
    ck_assert_int_eq(h.vt->expire(h.ctx, cutoff, 10, &err), 1);
    ck_assert_int_eq(h.vt->expire(h.ctx, cutoff, 10, &err), 0);
    loaded l;
    ck_assert_int_eq(load(&h, "t1", "old1", 0, &l), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(load(&h, "t2", "old2", 0, &l), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(load(&h, "t1", "fresh", 0, &l), RK_OK);
    ck_assert_int_eq(load(&h, "t1", "old3", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 4);
    /* the messages went with their conversation: a new one under the same
     * id starts empty */
    append(&h, "t2", "old2", next2 + 1, 1);
    ck_assert_int_eq(load(&h, "t2", "old2", 0, &l), RK_OK);
    ck_assert_str_eq(l.text, "user:thanks\n");
    /* batch 0: everything idle, in one go */
    ck_assert_int_eq(h.vt->expire(h.ctx, clock_wall_ms() + 1000, 0, &err), 3);
    ck_assert_int_eq(load(&h, "t1", "fresh", 0, &l), RK_ERR_NOT_FOUND);
    h_close(&h);
}
END_TEST

START_TEST(persists_across_restart)
{
    harness h;
    h_open(&h);
    append(&h, "acme", "c1", first3, 3);
    char wal[400];
    snprintf(wal, sizeof wal, "%s-wal", h.db);
    ck_assert_msg(access(wal, F_OK) == 0, "no %s: not in WAL mode", wal);
    h_destroy(&h);
    h_create(&h);
    loaded l;
    ck_assert_int_eq(load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 3);
    ck_assert(strstr(l.text, "assistant:Write-ahead logging.") != NULL);
    append(&h, "acme", "c1", next2, 2);
    ck_assert_int_eq(load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 5);
    h_close(&h);
}
END_TEST

START_TEST(bad_path_refused)
{
    harness h;
    memset(&h, 0, sizeof h);
    make_tmp(h.tmp, sizeof h.tmp);
    /* a regular file where the directory should be */
    char file[300];
    snprintf(file, sizeof file, "%s/f", h.tmp);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    snprintf(h.db, sizeof h.db, "%s/f/history.sqlite", h.tmp);
    const char *b = getenv("BUILD");
    char path[512], yaml[512];
    snprintf(path, sizeof path, "%s/plugins/history_sqlite.so", b && *b ? b : "build");
    rk_err err = {{0}};
    loader_plugin *lp = loader_open(path, RK_KIND_HISTORY, &err);
    ck_assert_ptr_nonnull(lp);
    snprintf(yaml, sizeof yaml, "{path: \"%s\"}", h.db);
    cfg_diag d = {0};
    cfg_doc *doc = cfg_load_string(yaml, strlen(yaml), "test.yaml", &d);
    rk_instance inst = {.name = "h", .plugin = lp->desc, .lp = lp};
    inst.cfg = cfg_values_build(cfg_root(doc), lp->desc->config, cfg_root(doc), &d);
    void *ctx = NULL;
    ck_assert_int_lt(lp->desc->create(hostapi_table(), &inst, &ctx, &err), 0);
    ck_assert_msg(err.msg[0] != '\0', "no reason given");
    cfg_values_free(inst.cfg);
    cfg_free(doc);
    cfg_diag_free(&d);
    loader_close(lp);
    nftw(h.tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
END_TEST

/* Six threads append to one shared and one own conversation each. */
#define N_THREADS 6
#define N_APPENDS 40

typedef struct worker {
    harness *h;
    int id;
    int failures;
} worker;

static void *worker_run(void *p)
{
    worker *w = p;
    char own[32], text[64];
    snprintf(own, sizeof own, "own-%d", w->id);
    for (int i = 0; i < N_APPENDS; i++) {
        snprintf(text, sizeof text, "w%d-%d", w->id, i);
        rk_message m[2] = {{"user", text}, {"assistant", text}};
        rk_err err;
        w->failures += w->h->vt->append(w->h->ctx, "acme", "shared", m, 2, &err) != RK_OK;
        w->failures += w->h->vt->append(w->h->ctx, "acme", own, m, 1, &err) != RK_OK;
        loaded l;
        w->failures += load(w->h, "acme", own, 0, &l) != RK_OK || l.n != i + 1;
    }
    return NULL;
}

START_TEST(concurrent_appends)
{
    harness h;
    h_open(&h);
    worker w[N_THREADS];
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (worker){&h, i, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(w[i].failures, 0);
    }
    loaded *l = malloc(sizeof *l);
    memset(l, 0, sizeof *l);
    rk_err err = {{0}};
    ck_assert_int_eq(h.vt->load(h.ctx, "acme", "shared", 0, on_msg, l, &err), RK_OK);
    ck_assert_int_eq(l->n, N_THREADS * N_APPENDS * 2);
    /* each append's two messages stayed together */
    const char *p = l->text;
    for (int i = 0; i < 50 && *p; i++) {
        const char *nl = strchr(p, '\n');
        const char *nl2 = strchr(nl + 1, '\n');
        ck_assert(strncmp(p, "user:", 5) == 0 && strncmp(nl + 1, "assistant:", 10) == 0);
        ck_assert(strncmp(p + 5, nl + 11, (size_t)(nl - p - 5)) == 0);
        p = nl2 + 1;
    }
    free(l);
    h_close(&h);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("history_sqlite");
    TCase *tc = tcase_create("contract");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, order_and_max);
    tcase_add_test(tc, replace_atomic);
    tcase_add_test(tc, tenant_isolation);
    tcase_add_test(tc, expire_batches);
    tcase_add_test(tc, persists_across_restart);
    tcase_add_test(tc, bad_path_refused);
    tcase_add_test(tc, concurrent_appends);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    snprintf(g_base, sizeof g_base, "/tmp/rk_history_XXXXXX");
    if (!mkdtemp(g_base)) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    nftw(g_base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
