/*
 * dbpool — SQLite connections for history_sqlite: a small stack of idle
 * connections, each with its prepared statements, handed to one thread at
 * a time.
 */
#ifndef RK_HISTORY_SQLITE_DBPOOL_H
#define RK_HISTORY_SQLITE_DBPOOL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include <ragkernel/error.h>

/* Every statement the plugin runs; dbconn_stmt() prepares them lazily. */
typedef enum db_stmt_id {
    ST_BEGIN_WRITE,
    ST_BEGIN_READ,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_TOUCH_CONV,
    ST_MAX_SEQ,
    ST_INSERT_MSG,
    ST_CONV_EXISTS,
    ST_LOAD,
    ST_DELETE_MSGS,
    ST_EXPIRE_MSGS,
    ST_EXPIRE_CONVS,
    ST_LIST_CONVS,
    ST_DELETE_CONV,
    ST__COUNT
} db_stmt_id;

typedef struct dbconn {
    sqlite3 *db;
    sqlite3_stmt *st[ST__COUNT];
} dbconn;

typedef struct dbpool {
    pthread_mutex_t mu;
    dbconn **idle;
    size_t n_idle, keep;
    char *path;
    int busy_ms;
    int64_t journal_limit; /* PRAGMA journal_size_limit of new connections; 0: default */
    void (*wal_kick)(void *ud); /* under mu: who checkpoints (NULL: each writer) */
    pthread_rwlock_t gate;      /* writers shared, a WAL truncate exclusive */
    void *wal_ud;
} dbpool;

/* Opens the database (creating file, parent directory and schema, and
 * switching it to WAL) to fail early on a bad path. keep = idle
 * connections retained. */
int dbpool_init(dbpool *p, const char *path, int64_t busy_ms, size_t keep,
                rk_err *err);
void dbpool_destroy(dbpool *p);
/* PRAGMA quick_check; a damaged file is refused with a message naming it
 * and the remedy (the data is the users': never dropped silently). */
int dbpool_check(dbpool *p, rk_err *err);
/* journal_size_limit for the idle connections and every one opened later. */
void dbpool_set_journal_limit(dbpool *p, int64_t bytes);
/* Around every write transaction of this process. SQLite's writer lock is
 * not fair: writers that keep handing it to each other starve a TRUNCATE
 * checkpoint sleeping in its busy handler (seen: 7 s while the log grew to
 * 150 MB). The gate prefers the checkpointer: once it waits, new writers
 * queue behind it. */
void dbpool_write_begin(dbpool *p);
void dbpool_write_end(dbpool *p);
void dbpool_exclusive_begin(dbpool *p);
void dbpool_exclusive_end(dbpool *p);
/* Commits that leave 1000+ frames in the WAL call kick(ud) instead of
 * checkpointing themselves (NULL: they checkpoint PASSIVE, as SQLite's
 * own auto-checkpoint would); past journal_limit they always do. */
void dbpool_set_checkpointer(dbpool *p, void (*kick)(void *ud), void *ud);

/* A connection for this thread's exclusive use until dbpool_release. */
dbconn *dbpool_acquire(dbpool *p, rk_err *err);
void dbpool_release(dbpool *p, dbconn *c);

/* The statement, reset and with its bindings cleared; NULL on error. */
sqlite3_stmt *dbconn_stmt(dbconn *c, db_stmt_id id, rk_err *err);
/* Run a statement that returns no rows (BEGIN, COMMIT, ...). */
int dbconn_exec(dbconn *c, db_stmt_id id, rk_err *err);

/* SQLite result code -> rk_status, with the connection's message in err. */
int db_fail(dbconn *c, int sqlite_rc, rk_err *err);

#endif
