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
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
    " PRIMARY KEY(tenant, conv_id, seq)) WITHOUT ROWID;";

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

static dbconn *conn_open(const dbpool *p, rk_err *err)
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
    /* NORMAL is durable across process crashes in WAL mode; a power loss
     * may drop the last commits, which is acceptable for chat history */
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(c->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
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

/* WAL is a property of the file, so setting it once here covers every
 * connection opened later. */
static int prepare_file(dbconn *c, rk_err *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, "PRAGMA journal_mode=WAL", NULL, NULL, &msg);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(c->db, schema_sql, NULL, NULL, &msg);
    int status = RK_OK;
    if (rc != SQLITE_OK)
        status = rk_fail(err, RK_ERR_IO, "sqlite: %s", msg ? msg : sqlite3_errstr(rc));
    sqlite3_free(msg);
    return status;
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
    dbconn *c = NULL;
    pthread_mutex_init(&p->mu, NULL);
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
    if ((rc = prepare_file(c, err)) != RK_OK)
        goto fail;
    p->idle[p->n_idle++] = c;
    return RK_OK;
fail:
    conn_close(c);
    pthread_mutex_destroy(&p->mu);
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
