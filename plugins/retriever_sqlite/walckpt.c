/*
 * walckpt — owns the checkpoint thread. With SQLite's automatic
 * checkpoints, every thousandth commit of the writer copies the log into
 * the database and waits for two fsyncs while holding the retriever's
 * writer mutex, stalling every index() queued behind it. Here the writer's
 * commit hook only wakes a thread that runs PASSIVE checkpoints on its own
 * connection (they never block the writer or readers). If the thread falls
 * far behind, the writer checkpoints inline once so the log stays bounded.
 */
#include "walckpt.h"

#include <pthread.h>
#include <stdlib.h>

#define CKPT_SOFT_FRAMES 1000   /* wake the thread (SQLite's default) */
#define CKPT_HARD_FRAMES 16384  /* 64 MiB of log: checkpoint inline */

struct walckpt {
    sqlite3 *db;
    sqlite3 *writer;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int pending, stop;
};

static int wal_hook(void *ud, sqlite3 *writer, const char *name, int frames)
{
    walckpt *k = ud;
    if (frames >= CKPT_HARD_FRAMES) {
        sqlite3_wal_checkpoint_v2(writer, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    } else if (frames >= CKPT_SOFT_FRAMES) {
        pthread_mutex_lock(&k->mu);
        if (!k->pending) {
            k->pending = 1;
            pthread_cond_signal(&k->cv);
        }
        pthread_mutex_unlock(&k->mu);
    }
    return SQLITE_OK;
}

static void *run(void *arg)
{
    walckpt *k = arg;
    pthread_mutex_lock(&k->mu);
    for (;;) {
        while (!k->pending && !k->stop)
            pthread_cond_wait(&k->cv, &k->mu);
        if (k->stop)
            break;
        k->pending = 0;
        pthread_mutex_unlock(&k->mu);
        sqlite3_wal_checkpoint_v2(k->db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&k->mu);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

walckpt *walckpt_start(sqlite3 *writer, const char *path, int busy_ms)
{
    walckpt *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    k->writer = writer;
    if (sqlite3_open_v2(path, &k->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        pthread_mutex_init(&k->mu, NULL) != 0) {
        sqlite3_close(k->db);
        free(k);
        return NULL;
    }
    sqlite3_busy_timeout(k->db, busy_ms);
    pthread_cond_init(&k->cv, NULL);
    if (pthread_create(&k->thread, NULL, run, k) != 0) {
        pthread_cond_destroy(&k->cv);
        pthread_mutex_destroy(&k->mu);
        sqlite3_close(k->db);
        free(k);
        return NULL;
    }
    sqlite3_wal_hook(writer, wal_hook, k);
    return k;
}

void walckpt_stop(walckpt *k)
{
    if (!k)
        return;
    sqlite3_wal_autocheckpoint(k->writer, 1000); /* hand back to SQLite */
    pthread_mutex_lock(&k->mu);
    k->stop = 1;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->thread, NULL);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    sqlite3_close(k->db);
    free(k);
}
