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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history_calls.h"
#include "plugin_harness.h"

#include <sys/stat.h>

#include <ragkernel/ragkernel.h>

/* Each case's temporary directory and the database in it: <tmp>/sub is
 * left for the plugin to create. */
static char g_tmp[256], g_db[320];

static void setup(void)
{
    ph_tmpdir(g_tmp, sizeof g_tmp);
    snprintf(g_db, sizeof g_db, "%s/sub/history.sqlite", g_tmp);
}

static void teardown(void) { ph_rmtree(g_tmp); }

/* An instance on g_db. */
static void h_open(ph *h)
{
    char yaml[512];
    snprintf(yaml, sizeof yaml, "{path: \"%s\", busy_timeout: 10s, pool_size: 2}", g_db);
    ph_open(h, "history_sqlite", RK_KIND_HISTORY, "history", yaml);
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

/* Conversations are private even under a permissive umask (the plugin
 * may run in a host that sets none): the file and its -wal and -shm. */
START_TEST(files_private)
{
    mode_t old = umask(022);
    ph h;
    h_open(&h);
    ph_hist_append(&h, "acme", "c1", first3, 3);
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[400];
        struct stat st;
        snprintf(p, sizeof p, "%s%s", g_db, suffix[i]);
        ck_assert_msg(stat(p, &st) == 0, "%s missing", p);
        ck_assert_msg((st.st_mode & 0777) == 0600, "%s is %o", p, (unsigned)(st.st_mode & 0777));
    }
    ph_close(&h);
    umask(old);
}
END_TEST

START_TEST(order_and_max)
{
    ph h;
    h_open(&h);
    int64_t before = clock_wall_ms();
    ph_hist_append(&h, "acme", "c1", first3, 3);
    ph_hist_append(&h, "acme", "c1", next2, 2);
    ph_loaded l;
    ck_assert_int_eq(ph_hist_load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 5);
    ck_assert_str_eq(l.text, "user:What is WAL?\n"
                             "assistant:Write-ahead logging.\n"
                             "user:And «журнал»? 'quotes' \"too\"\n"
                             "assistant:Журнал упреждающей записи.\n"
                             "user:thanks\n");
    ck_assert(l.first_ms >= before && l.first_ms <= clock_wall_ms());
    ck_assert_int_eq(ph_hist_load(&h, "acme", "c1", 2, &l), RK_OK);
    ck_assert_str_eq(l.text, "assistant:Журнал упреждающей записи.\nuser:thanks\n");
    ck_assert_int_eq(ph_hist_load(&h, "acme", "c1", 100, &l), RK_OK);
    ck_assert_int_eq(l.n, 5);
    ck_assert_int_eq(ph_hist_load(&h, "acme", "nope", 0, &l), RK_ERR_NOT_FOUND);
    /* an append of nothing still creates the conversation */
    ph_hist_append(&h, "acme", "empty", NULL, 0);
    ck_assert_int_eq(ph_hist_load(&h, "acme", "empty", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 0);
    /* malformed input is refused and changes nothing */
    rk_err err = {{0}};
    rk_message bad[] = {{"user", "ok"}, {"user", NULL}};
    ck_assert_int_eq(h.history->append(h.ctx, "acme", "c1", bad, 2, &err), RK_ERR_INVALID);
    ck_assert_int_eq(h.history->append(h.ctx, "acme", NULL, first3, 1, &err), RK_ERR_INVALID);
    ck_assert_int_eq(ph_hist_load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 5);
    ph_close(&h);
}
END_TEST

START_TEST(replace_atomic)
{
    ph h;
    h_open(&h);
    ph_hist_append(&h, "acme", "c1", first3, 3);
    rk_err err = {{0}};
    rk_message summary[] = {{"system", "Summary: asked about WAL."}, {"user", "more?"}};
    ck_assert_int_eq(h.history->replace(h.ctx, "acme", "c1", summary, 2, &err), RK_OK);
    ph_loaded l;
    ck_assert_int_eq(ph_hist_load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_str_eq(l.text, "system:Summary: asked about WAL.\nuser:more?\n");
    /* appends continue after the replaced content */
    ph_hist_append(&h, "acme", "c1", next2 + 1, 1);
    ck_assert_int_eq(ph_hist_load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_str_eq(l.text, "system:Summary: asked about WAL.\nuser:more?\nuser:thanks\n");
    /* a replace that fails validation leaves the old content */
    rk_message bad[] = {{"user", "x"}, {NULL, "y"}};
    ck_assert_int_eq(h.history->replace(h.ctx, "acme", "c1", bad, 2, &err), RK_ERR_INVALID);
    ck_assert_int_eq(ph_hist_load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 3);
    /* replace creates a conversation that did not exist */
    ck_assert_int_eq(h.history->replace(h.ctx, "acme", "new", summary, 1, &err), RK_OK);
    ck_assert_int_eq(ph_hist_load(&h, "acme", "new", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 1);
    ph_close(&h);
}
END_TEST

START_TEST(list_and_remove)
{
    ph h;
    h_open(&h);
    ph_hist_list_remove(&h);
    ph_close(&h);
}
END_TEST

START_TEST(tenant_isolation)
{
    ph h;
    h_open(&h);
    ph_hist_append(&h, "alice", "conv", first3, 3);
    ph_loaded l;
    ck_assert_int_eq(ph_hist_load(&h, "bob", "conv", 0, &l), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(l.n, 0);
    ck_assert_int_eq(ph_hist_load(&h, NULL, "conv", 0, &l), RK_ERR_NOT_FOUND);
    /* bob's conversation with the same id is separate... */
    ph_hist_append(&h, "bob", "conv", next2, 2);
    ck_assert_int_eq(ph_hist_load(&h, "bob", "conv", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 2);
    rk_err err = {{0}};
    ck_assert_int_eq(h.history->replace(h.ctx, "bob", "conv", next2, 1, &err), RK_OK);
    /* ...and nothing bob does touches alice's */
    ck_assert_int_eq(ph_hist_load(&h, "alice", "conv", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 3);
    ck_assert(strstr(l.text, "What is WAL?") != NULL);
    ph_close(&h);
}
END_TEST

START_TEST(expire_batches)
{
    ph h;
    h_open(&h);
    ph_hist_append(&h, "t1", "old1", first3, 1);
    ph_hist_append(&h, "t2", "old2", first3, 2);
    ph_hist_append(&h, "t1", "old3", first3, 3);
    ph_sleep_ms(30);
    int64_t cutoff = clock_wall_ms();
    ph_sleep_ms(30);
    ph_hist_append(&h, "t1", "fresh", first3, 1);
    /* touching an old conversation makes it fresh again */
    ph_hist_append(&h, "t1", "old3", next2, 1);
    rk_err err = {{0}};
    ck_assert_int_eq(h.history->expire(h.ctx, cutoff - 10000, 10, &err), 0);
    ck_assert_int_eq(h.history->expire(h.ctx, cutoff, 1, &err), 1);
    ck_assert_int_eq(h.history->expire(h.ctx, cutoff, 10, &err), 1);
    ck_assert_int_eq(h.history->expire(h.ctx, cutoff, 10, &err), 0);
    ph_loaded l;
    ck_assert_int_eq(ph_hist_load(&h, "t1", "old1", 0, &l), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(ph_hist_load(&h, "t2", "old2", 0, &l), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(ph_hist_load(&h, "t1", "fresh", 0, &l), RK_OK);
    ck_assert_int_eq(ph_hist_load(&h, "t1", "old3", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 4);
    /* the messages went with their conversation: a new one under the same
     * id starts empty */
    ph_hist_append(&h, "t2", "old2", next2 + 1, 1);
    ck_assert_int_eq(ph_hist_load(&h, "t2", "old2", 0, &l), RK_OK);
    ck_assert_str_eq(l.text, "user:thanks\n");
    /* batch 0: everything idle, in one go */
    ck_assert_int_eq(h.history->expire(h.ctx, clock_wall_ms() + 1000, 0, &err), 3);
    ck_assert_int_eq(ph_hist_load(&h, "t1", "fresh", 0, &l), RK_ERR_NOT_FOUND);
    ph_close(&h);
}
END_TEST

START_TEST(persists_across_restart)
{
    ph h;
    h_open(&h);
    ph_hist_append(&h, "acme", "c1", first3, 3);
    char wal[400];
    snprintf(wal, sizeof wal, "%s-wal", g_db);
    ck_assert_msg(access(wal, F_OK) == 0, "no %s: not in WAL mode", wal);
    ph_close(&h);
    h_open(&h);
    ph_loaded l;
    ck_assert_int_eq(ph_hist_load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 3);
    ck_assert(strstr(l.text, "assistant:Write-ahead logging.") != NULL);
    ph_hist_append(&h, "acme", "c1", next2, 2);
    ck_assert_int_eq(ph_hist_load(&h, "acme", "c1", 0, &l), RK_OK);
    ck_assert_int_eq(l.n, 5);
    ph_close(&h);
}
END_TEST

START_TEST(bad_path_refused)
{
    /* a regular file where the directory should be */
    char file[300], yaml[512];
    snprintf(file, sizeof file, "%s/f", g_tmp);
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    snprintf(yaml, sizeof yaml, "{path: \"%s/history.sqlite\"}", file);
    ph h;
    rk_err err = {{0}};
    ph_load(&h, "history_sqlite", RK_KIND_HISTORY, "h", yaml);
    ck_assert_int_lt(ph_create(&h, &err), 0);
    ck_assert_msg(err.msg[0] != '\0', "no reason given");
    ph_close(&h);
}
END_TEST

/* Six threads append to one shared and one own conversation each. */
#define N_THREADS 6
#define N_APPENDS 40

typedef struct worker {
    ph *h;
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
        w->failures += w->h->history->append(w->h->ctx, "acme", "shared", m, 2, &err) != RK_OK;
        w->failures += w->h->history->append(w->h->ctx, "acme", own, m, 1, &err) != RK_OK;
        ph_loaded l;
        w->failures += ph_hist_load(w->h, "acme", own, 0, &l) != RK_OK || l.n != i + 1;
    }
    return NULL;
}

START_TEST(concurrent_appends)
{
    ph h;
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
    ph_loaded *l = malloc(sizeof *l);
    memset(l, 0, sizeof *l);
    rk_err err = {{0}};
    ck_assert_int_eq(h.history->load(h.ctx, "acme", "shared", 0, ph_hist_on_msg, l, &err), RK_OK);
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
    ph_close(&h);
}
END_TEST

START_TEST(api_keys)
{
    ph a, b;
    h_open(&a);
    ph_hist_keys_contract(&a, &a);
    ph_close(&a);
    h_open(&b); /* after a restart the keys are still there */
    rk_err err = {{0}};
    ck_assert_int_eq(b.history->key_revoke(b.ctx, "key_b", 1, &err), RK_OK);
    ph_close(&b);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("history_sqlite");
    ph_add_tcase(s, "contract", 120, setup, teardown,
                 PH_TESTS(order_and_max, replace_atomic, tenant_isolation, list_and_remove,
                          expire_batches,
                          persists_across_restart, bad_path_refused, concurrent_appends,
                          files_private, api_keys));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
