/*
 * maint — owns history_sqlite's upkeep thread. Under continuous traffic a
 * WAL database never gets a moment without readers, so SQLite's automatic
 * PASSIVE checkpoints can copy pages back but never restart the log, and
 * the -wal file grows without bound (1.45 GB in 45 s was measured) and
 * keeps its size. This thread checkpoints PASSIVE every checkpoint_interval
 * and, once the log passes a quarter of wal_max, TRUNCATE: that waits (up to
 * busy_timeout) for the readers of old snapshots to finish, holding new
 * writers back meanwhile, then empties the file. journal_size_limit on
 * every connection (dbpool) caps what a reset leaves behind.
 *
 * Retention deletes the least recently updated conversations, whole, in
 * transactions of RET_BATCH so writers are never held for long: beyond
 * max_conversations, and while the pages in use exceed max_bytes (freed
 * pages are reused by later writes; the file does not shrink).
 */
#define _GNU_SOURCE
#include "maint.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RET_BATCH 200    /* conversations deleted per transaction */
#define RET_ROUNDS 5000  /* batches per pass: bounds one pass */
#define MIN_GAP_US 20000 /* between two checkpoints */

struct maint {
    dbpool *pool;
    maint_cfg cfg;
    void (*log)(void *ud, int warn, const char *msg);
    void *ud;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop, kicked;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wal_bytes(const dbpool *p)
{
    char wal[4200];
    struct stat st;
    snprintf(wal, sizeof wal, "%s-wal", p->path);
    return stat(wal, &st) == 0 ? (int64_t)st.st_size : 0;
}

/* The truncate waits for readers of older snapshots, which finish within
 * microseconds; SQLite's own busy handler would sleep 1, 2, 5, 10... ms
 * between tries while every writer waits behind the gate. */
#define SPIN_US 50
static int spin(void *ud, int tries)
{
    (void)tries;
    int64_t *left = ud;
    if ((*left)-- <= 0)
        return 0;
    usleep(SPIN_US);
    return 1;
}

int64_t maint_checkpoint(dbpool *p, const maint_cfg *cfg, rk_err *err)
{
    dbconn *c = dbpool_acquire(p, err);
    if (!c)
        return RK_ERR_UNAVAILABLE;
    /* PASSIVE first, beside the writers: it copies the bulk of the log (and
     * waits for its fsync) so that what the truncate has to do while the
     * writers wait is only what they added meanwhile */
    int rc = sqlite3_wal_checkpoint_v2(c->db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    if ((rc == SQLITE_OK || rc == SQLITE_BUSY) && wal_bytes(p) > cfg->wal_max / 4) {
        int64_t polls = (int64_t)p->busy_ms * 1000 / SPIN_US;
        sqlite3_busy_handler(c->db, spin, &polls);
        dbpool_exclusive_begin(p);
        rc = sqlite3_wal_checkpoint_v2(c->db, "main", SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        dbpool_exclusive_end(p);
        sqlite3_busy_timeout(c->db, p->busy_ms); /* the pool's handler again */
    }
    int status = rc == SQLITE_OK || rc == SQLITE_BUSY ? RK_OK : db_fail(c, rc, err);
    dbpool_release(p, c);
    return status;
}

static int64_t query_int(dbconn *c, const char *sql, rk_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    int64_t v = -1;
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        db_fail(c, rc, err);
    sqlite3_finalize(st);
    return v;
}

/* Deletes the n least recently updated conversations and their messages in
 * one transaction (the same victims: one snapshot, a total order). Returns
 * how many conversations went, or <0. */
static int64_t delete_oldest(dbpool *p, dbconn *c, int64_t n, rk_err *err)
{
    static const char *sql[] = {
        "DELETE FROM messages WHERE (tenant, conv_id) IN (SELECT tenant, id FROM "
        "conversations ORDER BY updated_ms, tenant, id LIMIT ?1)",
        "DELETE FROM conversations WHERE (tenant, id) IN (SELECT tenant, id FROM "
        "conversations ORDER BY updated_ms, tenant, id LIMIT ?1)"};
    dbpool_write_begin(p);
    int rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    for (int i = 0; i < 2 && rc == SQLITE_OK; i++) {
        sqlite3_stmt *st = NULL;
        rc = sqlite3_prepare_v2(c->db, sql[i], -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, n);
            rc = sqlite3_step(st);
            rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        }
        sqlite3_finalize(st);
    }
    int64_t deleted = rc == SQLITE_OK ? sqlite3_changes64(c->db) : 0;
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        deleted = db_fail(c, rc, err);
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    }
    dbpool_write_end(p);
    return deleted;
}

/* How many of the oldest conversations to delete now: the excess over
 * max_conversations, or a batch while the pages in use exceed max_bytes. */
static int64_t excess(dbconn *c, const maint_cfg *cfg, rk_err *err)
{
    if (cfg->max_conversations > 0) {
        int64_t n = query_int(c, "SELECT COUNT(*) FROM conversations", err);
        if (n < 0)
            return RK_ERR_IO;
        if (n > cfg->max_conversations)
            return n - cfg->max_conversations < RET_BATCH ? n - cfg->max_conversations
                                                          : RET_BATCH;
    }
    if (cfg->max_bytes > 0) {
        int64_t used = query_int(c, "SELECT (page_count - freelist_count) * page_size "
                                    "FROM pragma_page_count, pragma_freelist_count, "
                                    "pragma_page_size", err);
        int64_t n = query_int(c, "SELECT COUNT(*) FROM conversations", err);
        if (used < 0 || n < 0)
            return RK_ERR_IO;
        if (used > cfg->max_bytes && n > 0) {
            /* as many average conversations as the excess, rounded up */
            int64_t avg = used / n > 0 ? used / n : 1;
            int64_t k = (used - cfg->max_bytes + avg - 1) / avg;
            return k < RET_BATCH ? k : RET_BATCH;
        }
    }
    return 0;
}

int64_t maint_retention(dbpool *p, const maint_cfg *cfg, rk_err *err)
{
    if (cfg->max_conversations <= 0 && cfg->max_bytes <= 0)
        return 0;
    dbconn *c = dbpool_acquire(p, err);
    if (!c)
        return RK_ERR_UNAVAILABLE;
    int64_t total = 0, n = 0;
    for (int round = 0; round < RET_ROUNDS; round++) {
        if ((n = excess(c, cfg, err)) <= 0 || (n = delete_oldest(p, c, n, err)) <= 0)
            break; /* within bounds, nothing left to delete, or an error */
        total += n;
    }
    dbpool_release(p, c);
    return n < 0 ? n : total;
}

static void report(maint *m, int64_t rc, const char *what, const rk_err *err)
{
    char msg[600];
    if (rc < 0)
        snprintf(msg, sizeof msg, "%s failed: %s", what, err->msg);
    else
        snprintf(msg, sizeof msg, "retention deleted %lld conversations", (long long)rc);
    m->log(m->ud, rc < 0, msg);
}

/* Sleeps until the next checkpoint; nonzero when asked to stop. */
static int wait_tick(maint *m)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = ts.tv_nsec + (m->cfg.checkpoint_ms % 1000) * 1000000;
    ts.tv_sec += m->cfg.checkpoint_ms / 1000 + ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    pthread_mutex_lock(&m->mu);
    while (!m->stop && !m->kicked && pthread_cond_timedwait(&m->cv, &m->mu, &ts) == 0) {}
    m->kicked = 0;
    int stop = m->stop;
    pthread_mutex_unlock(&m->mu);
    return stop;
}

/* Called by a committing writer (under the pool's mutex). */
static void kick(void *ud)
{
    maint *m = ud;
    pthread_mutex_lock(&m->mu);
    if (!m->kicked) {
        m->kicked = 1;
        pthread_cond_signal(&m->cv);
    }
    pthread_mutex_unlock(&m->mu);
}


static void *run(void *arg)
{
    maint *m = arg;
    int64_t last_retention = mono_ms() - m->cfg.retention_ms; /* first pass right away */
    while (!wait_tick(m)) {
        rk_err err = {{0}};
        int64_t rc = maint_checkpoint(m->pool, &m->cfg, &err);
        if (rc < 0)
            report(m, rc, "WAL checkpoint", &err);
        usleep(MIN_GAP_US); /* under load every commit kicks: a pass at most this often */
        if (mono_ms() - last_retention < m->cfg.retention_ms)
            continue;
        last_retention = mono_ms();
        rc = maint_retention(m->pool, &m->cfg, &err);
        if (rc != 0)
            report(m, rc, "retention", &err);
    }
    return NULL;
}

maint *maint_start(dbpool *p, const maint_cfg *cfg,
                   void (*log)(void *ud, int warn, const char *msg), void *ud)
{
    maint *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    *m = (maint){.pool = p, .cfg = *cfg, .log = log, .ud = ud};
    if (m->cfg.checkpoint_ms <= 0)
        m->cfg.checkpoint_ms = 1000;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&m->mu, NULL);
    if (pthread_create(&m->thread, NULL, run, m) != 0) {
        pthread_cond_destroy(&m->cv);
        pthread_mutex_destroy(&m->mu);
        free(m);
        return NULL;
    }
    dbpool_set_checkpointer(p, kick, m);
    return m;
}

void maint_stop(maint *m)
{
    if (!m)
        return;
    dbpool_set_checkpointer(m->pool, NULL, NULL); /* writers checkpoint again */
    pthread_mutex_lock(&m->mu);
    m->stop = 1;
    pthread_cond_signal(&m->cv);
    pthread_mutex_unlock(&m->mu);
    pthread_join(m->thread, NULL);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    free(m);
}
