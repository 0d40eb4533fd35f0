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
} dbpool;

/* Opens the database (creating file, parent directory and schema, and
 * switching it to WAL) to fail early on a bad path. keep = idle
 * connections retained. */
int dbpool_init(dbpool *p, const char *path, int64_t busy_ms, size_t keep,
                rk_err *err);
void dbpool_destroy(dbpool *p);

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
