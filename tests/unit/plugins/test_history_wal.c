/*
 * test_history_wal — history_sqlite under sustained load and over time:
 * the -wal file stays under wal_max while writers and overlapping readers
 * run without a pause (readers used to starve every checkpoint, so the
 * log only grew), retention deletes the least recently updated
 * conversations beyond max_conversations and max_bytes, and a file
 * damaged on page 2 is refused at create with a message naming it and the
 * remedy instead of starting and losing every turn. The built
 * history_sqlite.so through the real loader and host table.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history_calls.h"
#include "plugin_harness.h"

#include <ragkernel/ragkernel.h>

static char g_tmp[256], g_db[320];

static void setup(void)
{
    ph_tmpdir(g_tmp, sizeof g_tmp);
    snprintf(g_db, sizeof g_db, "%s/history.sqlite", g_tmp);
}

static void teardown(void) { ph_rmtree(g_tmp); }

static void h_open_with(ph *h, const char *extra)
{
    char yaml[768];
    snprintf(yaml, sizeof yaml, "{path: \"%s\", busy_timeout: 10s, pool_size: 8%s%s}", g_db,
             extra[0] ? ", " : "", extra);
    ph_open(h, "history_sqlite", RK_KIND_HISTORY, "history", yaml);
}

static int64_t file_size(const char *suffix)
{
    char p[400];
    struct stat st;
    snprintf(p, sizeof p, "%s%s", g_db, suffix);
    return stat(p, &st) == 0 ? (int64_t)st.st_size : 0;
}

/* ---- WAL bound under load ------------------------------------------------ */

#define WAL_MAX (32 << 20)
#define WRITE_GOAL ((int64_t)96 << 20) /* 3x wal_max; 269 MB of log before the fix */

typedef struct load {
    ph *h;
    atomic_int stop;
    atomic_llong written;
    atomic_int failures, loads;
} load;

static void *writer(void *p)
{
    load *ld = p;
    char big[8192]; /* each writer its own: a shared one is a data race */
    memset(big, 'w', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (unsigned i = 0; !atomic_load(&ld->stop); i++) {
        char conv[32];
        snprintf(conv, sizeof conv, "c%u-%lu", i % 64, (unsigned long)pthread_self() % 97);
        rk_message m[2] = {{"user", big}, {"assistant", big}};
        rk_err err;
        if (ld->h->history->append(ld->h->ctx, "t", conv, m, 2, &err) != RK_OK)
            atomic_fetch_add(&ld->failures, 1);
        atomic_fetch_add(&ld->written, (long long)(2 * sizeof big));
    }
    return NULL;
}

/* Back-to-back loads from two threads: some read transaction is always
 * open, which is what kept checkpoints from ever restarting the log. */
static void *reader(void *p)
{
    load *ld = p;
    ph_loaded *l = malloc(sizeof *l);
    for (unsigned i = 0; l && !atomic_load(&ld->stop); i++) {
        char conv[32];
        snprintf(conv, sizeof conv, "c%u-0", i % 64);
        memset(l, 0, sizeof *l);
        rk_err err;
        ld->h->history->load(ld->h->ctx, "t", conv, 1, ph_hist_on_msg, l, &err);
        atomic_fetch_add(&ld->loads, 1);
    }
    free(l);
    return NULL;
}

START_TEST(wal_bounded_under_load)
{
    ph h;
    h_open_with(&h, "wal_max: 32MB, checkpoint_interval: 100ms");
    ph_start(&h);
    load ld = {.h = &h};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, i < 2 ? writer : reader, &ld), 0);
    int64_t peak = 0, t0 = clock_now_ms();
    while (atomic_load(&ld.written) < WRITE_GOAL && clock_now_ms() - t0 < 60000) {
        int64_t w = file_size("-wal");
        if (w > peak) peak = w;
        usleep(10000);
    }
    atomic_store(&ld.stop, 1);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    long long written = atomic_load(&ld.written);
    fprintf(stderr, "wal: wrote %lld MB in %lld ms with %d loads; WAL peak %lld MB\n",
            written >> 20, (long long)(clock_now_ms() - t0), atomic_load(&ld.loads),
            (long long)(peak >> 20));
    ck_assert_int_eq(atomic_load(&ld.failures), 0);
    ck_assert_msg(written >= WRITE_GOAL / 2, "only %lld MB written: load too small", written >> 20);
    ck_assert_msg(peak <= WAL_MAX, "WAL reached %lld bytes (bound %d)", (long long)peak, WAL_MAX);
    /* idle: the next checkpoints leave the file small */
    for (int i = 0; i < 100 && file_size("-wal") > WAL_MAX / 2; i++) usleep(50000);
    ck_assert_int_le(file_size("-wal"), WAL_MAX / 2);
    ph_stop(&h, clock_now_ms() + 5000);
    ph_close(&h);
}
END_TEST

/* ---- retention ------------------------------------------------------------ */

static int exists(ph *h, const char *conv)
{
    ph_loaded *l = malloc(sizeof *l);
    int rc = ph_hist_load(h, "t", conv, 1, l);
    free(l);
    return rc == RK_OK;
}

/* Waits up to 10 s for conv to disappear. */
static int gone_within(ph *h, const char *conv)
{
    for (int i = 0; i < 200; i++) {
        if (!exists(h, conv)) return 1;
        usleep(50000);
    }
    return 0;
}

START_TEST(retention_max_conversations)
{
    ph h;
    h_open_with(&h, "max_conversations: 3, retention_interval: 100ms, "
                    "checkpoint_interval: 50ms");
    rk_message m[1] = {{"user", "hello"}};
    char conv[16];
    for (int i = 0; i < 10; i++) {
        snprintf(conv, sizeof conv, "c%d", i);
        ph_hist_append(&h, "t", conv, m, 1);
        usleep(3000); /* distinct updated_ms: a strict age order */
    }
    ph_hist_append(&h, "t", "c0", m, 1); /* c0 is now the most recent */
    ph_start(&h);
    ck_assert_msg(gone_within(&h, "c1"), "c1 not deleted by retention");
    for (int i = 1; i <= 7; i++) {
        snprintf(conv, sizeof conv, "c%d", i);
        ck_assert_msg(!exists(&h, conv), "%s kept", conv);
    }
    ck_assert(exists(&h, "c0") && exists(&h, "c8") && exists(&h, "c9"));
    ph_stop(&h, clock_now_ms() + 5000);
    ph_close(&h);
}
END_TEST

START_TEST(retention_max_bytes)
{
    ph h;
    h_open_with(&h, "max_bytes: 1MB, retention_interval: 100ms, checkpoint_interval: 50ms");
    static char big[32768];
    memset(big, 'b', sizeof big - 1);
    rk_message m[1] = {{"user", big}};
    char conv[16];
    for (int i = 0; i < 100; i++) { /* ~3.2 MB */
        snprintf(conv, sizeof conv, "c%d", i);
        ph_hist_append(&h, "t", conv, m, 1);
    }
    ph_start(&h);
    ck_assert_msg(gone_within(&h, "c0"), "c0 not deleted by retention");
    ck_assert(exists(&h, "c99")); /* the newest stay */
    int kept = 0;
    for (int i = 0; i < 100; i++) {
        snprintf(conv, sizeof conv, "c%d", i);
        kept += exists(&h, conv);
    }
    ck_assert_msg(kept >= 10 && kept <= 32, "%d conversations of 32 KB kept under 1 MB", kept);
    ph_stop(&h, clock_now_ms() + 5000);
    ph_close(&h);
}
END_TEST

/* ---- a damaged file ------------------------------------------------------- */

START_TEST(damaged_file_refused)
{
    ph h;
    h_open_with(&h, "");
    ph_hist_append(&h, "t", "c1", (rk_message[]){{"user", "keep me"}}, 1);
    ph_close(&h); /* last connection: the WAL is checkpointed into the file */
    FILE *f = fopen(g_db, "r+b");
    ck_assert_ptr_nonnull(f);
    char junk[4096];
    memset(junk, 0x5A, sizeof junk);
    ck_assert_int_eq(fseek(f, 4096, SEEK_SET), 0); /* page 2 */
    ck_assert_uint_eq(fwrite(junk, 1, sizeof junk, f), sizeof junk);
    fclose(f);
    int64_t size = file_size("");
    char yaml[512];
    snprintf(yaml, sizeof yaml, "{path: \"%s\"}", g_db);
    ph_load(&h, "history_sqlite", RK_KIND_HISTORY, "history", yaml);
    rk_err err = {{0}};
    ck_assert_int_eq(ph_create(&h, &err), RK_ERR_IO);
    ck_assert_msg(strstr(err.msg, g_db) && strstr(err.msg, "damaged") &&
                      strstr(err.msg, "backup") && strstr(err.msg, "aside"),
                  "unclear refusal: %s", err.msg);
    ph_close(&h);
    ck_assert_int_eq(file_size(""), size); /* left exactly as it was */
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("history_wal");
    ph_add_tcase(s, "wal", 120, setup, teardown,
                 PH_TESTS(wal_bounded_under_load, retention_max_conversations,
                          retention_max_bytes, damaged_file_refused));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
