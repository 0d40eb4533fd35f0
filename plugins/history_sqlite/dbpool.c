/*
 * dbpool — owns the SQLite file: its schema, WAL mode, and the connections.
 * SQLite connections are cheapest when each is used by one thread at a time
 * (no per-call library mutex, statements stay prepared), so the pool hands
 * out whole connections instead of sharing one. It never blocks waiting for
 * a free connection: if none is idle it opens another, and on release keeps
 * at most `keep` of them. That bounds memory without any chance of a
 * deadlock when a caller's callback re-enters the plugin. Concurrency
 * between connections is SQLite's job: WAL lets readers run beside the one
 * writer, and busy_timeout makes writers queue instead of failing at once.
 */
#include "dbpool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const stmt_sql[ST__COUNT] = {
    [ST_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [ST_BEGIN_READ] = "BEGIN",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_TOUCH_CONV] =
        "INSERT INTO conversations(tenant, id, created_ms, updated_ms) "
        "VALUES(?1, ?2, ?3, ?3) ON CONFLICT(tenant, id) "
        "DO UPDATE SET updated_ms = excluded.updated_ms",
    [ST_MAX_SEQ] =
        "SELECT COALESCE(MAX(seq), 0) FROM messages WHERE tenant = ?1 AND conv_id = ?2",
    [ST_INSERT_MSG] =
        "INSERT INTO messages(tenant, conv_id, seq, role, content, created_ms) "
        "VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_CONV_EXISTS] = "SELECT 1 FROM conversations WHERE tenant = ?1 AND id = ?2",
    [ST_LOAD] =
        "SELECT role, content, created_ms FROM ("
        " SELECT seq, role, content, created_ms FROM messages"
        " WHERE tenant = ?1 AND conv_id = ?2 ORDER BY seq DESC LIMIT ?3"
        ") ORDER BY seq",
    [ST_DELETE_MSGS] = "DELETE FROM messages WHERE tenant = ?1 AND conv_id = ?2",
    /* both deletes pick the same victims: same snapshot, total order */
    [ST_EXPIRE_MSGS] =
        "DELETE FROM messages WHERE (tenant, conv_id) IN ("
        " SELECT tenant, id FROM conversations WHERE updated_ms < ?1"
        " ORDER BY updated_ms, tenant, id LIMIT ?2)",
    [ST_EXPIRE_CONVS] =
        "DELETE FROM conversations WHERE (tenant, id) IN ("
        " SELECT tenant, id FROM conversations WHERE updated_ms < ?1"
        " ORDER BY updated_ms, tenant, id LIMIT ?2)",
    /* ids in byte order (BINARY collation); '' sorts before every id */
    [ST_LIST_CONVS] =
        "SELECT c.id, c.created_ms, c.updated_ms,"
        " (SELECT COUNT(*) FROM messages m WHERE m.tenant = c.tenant AND m.conv_id = c.id)"
        " FROM conversations c WHERE c.tenant = ?1 AND c.id > ?2 ORDER BY c.id LIMIT ?3",
    [ST_DELETE_CONV] = "DELETE FROM conversations WHERE tenant = ?1 AND id = ?2",
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS conversations("
    " tenant TEXT NOT NULL, id TEXT NOT NULL,"
    " created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    " PRIMARY KEY(tenant, id)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS conversations_by_updated"
    " ON conversations(updated_ms);"
    "CREATE TABLE IF NOT EXISTS messages("
    " tenant TEXT NOT NULL, conv_id TEXT NOT NULL, seq INTEGER NOT NULL,"
    " role TEXT NOT NULL, content TEXT NOT NULL, created_ms INTEGER NOT NULL,"
    " PRIMARY KEY(tenant, conv_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS write_probe("
    " id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, pad BLOB);"
    "CREATE TABLE IF NOT EXISTS api_keys("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, tenant TEXT NOT NULL,"
    " sha256 TEXT NOT NULL, prev_sha256 TEXT, prev_until_ms INTEGER NOT NULL,"
    " scopes INTEGER NOT NULL, rpm INTEGER NOT NULL, tpm INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,"
    " revoked_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL) WITHOUT ROWID;";

int db_fail(dbconn *c, int sqlite_rc, rk_err *err)
{
    int primary = sqlite_rc & 0xff;
    int status = (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) ? RK_ERR_UNAVAILABLE
                 : primary == SQLITE_NOMEM                            ? RK_ERR_NOMEM
                 : primary == SQLITE_TOOBIG                           ? RK_ERR_TOO_LARGE
                                                                      : RK_ERR_IO;
    return rk_fail(err, status, "sqlite: %s",
                   c && c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(sqlite_rc));
}

static void conn_close(dbconn *c)
{
    if (!c)
        return;
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(c->st[i]);
    sqlite3_close_v2(c->db);
    free(c);
}

#define WAL_SOFT_FRAMES 1000 /* SQLite's auto-checkpoint threshold */

/* Replaces SQLite's auto-checkpoint on every connection: a checkpoint
 * running inline on a writer would take the checkpoint lock the upkeep
 * thread's TRUNCATE needs, and those collisions kept the log growing. */
static int wal_hook(void *ud, sqlite3 *db, const char *name, int frames)
{
    dbpool *p = ud;
    if (frames < WAL_SOFT_FRAMES)
        return SQLITE_OK;
    int64_t hard = p->journal_limit > 0 ? p->journal_limit / 4096 : 16384;
    pthread_mutex_lock(&p->mu);
    int kicked = p->wal_kick && frames < hard;
    if (kicked)
        p->wal_kick(p->wal_ud);
    pthread_mutex_unlock(&p->mu);
    if (!kicked)
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

static dbconn *conn_open(dbpool *p, rk_err *err)
{
    dbconn *c = calloc(1, sizeof *c);
    if (!c) {
        rk_fail(err, RK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(p->path, &c->db, flags, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(c->db, p->busy_ms);
    if (rc == SQLITE_OK)
        sqlite3_wal_hook(c->db, wal_hook, p);
    /* NORMAL is durable across process crashes in WAL mode; a power loss
     * may drop the last commits, which is acceptable for chat history */
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(c->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    if (rc == SQLITE_OK && p->journal_limit > 0) {
        /* what a WAL reset or checkpoint leaves of the -wal file */
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA journal_size_limit=%lld", (long long)p->journal_limit);
        rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        db_fail(c, rc, err);
        conn_close(c);
        return NULL;
    }
    return c;
}

static int make_parent_dir(const char *path, rk_err *err)
{
    char dir[4096];
    int n = snprintf(dir, sizeof dir, "%s", path);
    if (n < 0 || (size_t)n >= sizeof dir)
        return rk_fail(err, RK_ERR_CONFIG, "path too long");
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return RK_OK;
    *slash = '\0';
    for (char *q = dir + 1;; q++) {
        if (*q != '/' && *q != '\0')
            continue;
        char saved = *q;
        *q = '\0';
        if (mkdir(dir, 0750) != 0 && errno != EEXIST)
            return rk_fail(err, RK_ERR_IO, "mkdir %s: %s", dir, strerror(errno));
        *q = saved;
        if (!saved)
            return RK_OK;
    }
}

/* The conversations are the users' data: a damaged file is never dropped
 * or replaced silently; the operator decides. */
static int damaged(const char *path, const char *detail, rk_err *err)
{
    return rk_fail(err, RK_ERR_IO,
                   "history database %s is damaged (%s); not starting on it so that no "
                   "conversation is lost: restore it from a backup, or move it and its "
                   "-wal and -shm files aside to start with an empty history",
                   path, detail);
}

/* WAL is a property of the file, so setting it once here covers every
 * connection opened later. */
static int prepare_file(dbconn *c, const char *path, rk_err *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL", NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(c->db, schema_sql, NULL, NULL, &msg);
    int status = RK_OK;
    if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT)
        status = damaged(path, msg ? msg : sqlite3_errstr(rc), err);
    else if (rc != SQLITE_OK)
        status = rk_fail(err, RK_ERR_IO, "sqlite: %s", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return status;
}

int dbpool_check(dbpool *p, rk_err *err)
{
    dbconn *c = dbpool_acquire(p, err);
    if (!c)
        return RK_ERR_IO;
    sqlite3_stmt *st = NULL;
    char first[256] = "";
    int rows = 0, rc = sqlite3_prepare_v2(c->db, "PRAGMA quick_check(5)", -1, &st, NULL);
    while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        if (rows++ == 0)
            snprintf(first, sizeof first, "%s", t ? (const char *)t : "?");
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_finalize(st) == SQLITE_OK ? SQLITE_OK : sqlite3_errcode(c->db);
    int status = RK_OK;
    if (rc != SQLITE_OK)
        status = damaged(p->path, sqlite3_errmsg(c->db), err);
    else if (rows != 1 || strcmp(first, "ok") != 0)
        status = damaged(p->path, first, err);
    dbpool_release(p, c);
    return status;
}

void dbpool_write_begin(dbpool *p) { pthread_rwlock_rdlock(&p->gate); }
void dbpool_write_end(dbpool *p) { pthread_rwlock_unlock(&p->gate); }
void dbpool_exclusive_begin(dbpool *p) { pthread_rwlock_wrlock(&p->gate); }
void dbpool_exclusive_end(dbpool *p) { pthread_rwlock_unlock(&p->gate); }

void dbpool_set_checkpointer(dbpool *p, void (*kick)(void *ud), void *ud)
{
    pthread_mutex_lock(&p->mu);
    p->wal_kick = kick;
    p->wal_ud = ud;
    pthread_mutex_unlock(&p->mu);
}

void dbpool_set_journal_limit(dbpool *p, int64_t bytes)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA journal_size_limit=%lld", (long long)bytes);
    pthread_mutex_lock(&p->mu);
    p->journal_limit = bytes;
    for (size_t i = 0; i < p->n_idle; i++)
        sqlite3_exec(p->idle[i]->db, sql, NULL, NULL, NULL);
    pthread_mutex_unlock(&p->mu);
}

int dbpool_init(dbpool *p, const char *path, int64_t busy_ms, size_t keep,
                rk_err *err)
{
    memset(p, 0, sizeof *p);
    if (!sqlite3_threadsafe())
        return rk_fail(err, RK_ERR_INTERNAL, "libsqlite3 was built without thread support");
    int rc = make_parent_dir(path, err);
    if (rc != RK_OK)
        return rc;
    /* created 0600 before SQLite sees it: the -wal and -shm files take the
     * database's mode, and conversations are nobody else's to read */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return rk_fail(err, RK_ERR_IO, "create %s: %s", path, strerror(errno));
    close(fd);
    dbconn *c = NULL;
    pthread_mutex_init(&p->mu, NULL);
    pthread_rwlockattr_t ga;
    pthread_rwlockattr_init(&ga);
    pthread_rwlockattr_setkind_np(&ga, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&p->gate, &ga);
    pthread_rwlockattr_destroy(&ga);
    p->path = strdup(path);
    p->keep = keep ? keep : 1;
    p->busy_ms = busy_ms > INT32_MAX ? INT32_MAX : (int)busy_ms;
    p->idle = calloc(p->keep, sizeof *p->idle);
    if (!p->path || !p->idle) {
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (!(c = conn_open(p, err))) {
        rc = RK_ERR_IO;
        goto fail;
    }
    if ((rc = prepare_file(c, path, err)) != RK_OK)
        goto fail;
    p->idle[p->n_idle++] = c;
    return RK_OK;
fail:
    conn_close(c);
    pthread_mutex_destroy(&p->mu);
    pthread_rwlock_destroy(&p->gate);
    free(p->path);
    free(p->idle);
    memset(p, 0, sizeof *p);
    return rc;
}

void dbpool_destroy(dbpool *p)
{
    if (!p->path)
        return;
    for (size_t i = 0; i < p->n_idle; i++)
        conn_close(p->idle[i]);
    free(p->idle);
    free(p->path);
    pthread_mutex_destroy(&p->mu);
    pthread_rwlock_destroy(&p->gate);
    memset(p, 0, sizeof *p);
}

dbconn *dbpool_acquire(dbpool *p, rk_err *err)
{
    dbconn *c = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->n_idle)
        c = p->idle[--p->n_idle];
    pthread_mutex_unlock(&p->mu);
    return c ? c : conn_open(p, err);
}

void dbpool_release(dbpool *p, dbconn *c)
{
    if (!c)
        return;
    /* a connection must come back clean; a leftover transaction would
     * leak into the next caller's work */
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    pthread_mutex_lock(&p->mu);
    int kept = p->n_idle < p->keep;
    if (kept)
        p->idle[p->n_idle++] = c;
    pthread_mutex_unlock(&p->mu);
    if (!kept)
        conn_close(c);
}

sqlite3_stmt *dbconn_stmt(dbconn *c, db_stmt_id id, rk_err *err)
{
    if (!c->st[id]) {
        int rc = sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &c->st[id], NULL);
        if (rc != SQLITE_OK) {
            db_fail(c, rc, err);
            return NULL;
        }
    }
    sqlite3_reset(c->st[id]);
    sqlite3_clear_bindings(c->st[id]);
    return c->st[id];
}

int dbconn_exec(dbconn *c, db_stmt_id id, rk_err *err)
{
    sqlite3_stmt *st = dbconn_stmt(c, id, err);
    if (!st)
        return RK_ERR_IO;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? RK_OK : db_fail(c, rc, err);
}
