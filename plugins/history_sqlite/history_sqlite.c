/*
 * history_sqlite — conversations in a local SQLite file (see dbpool.c for
 * connections and schema). Every operation is one transaction, so a
 * conversation is never seen half-appended or half-replaced, and writes
 * start with BEGIN IMMEDIATE: taking the write lock up front means a busy
 * database shows up as a wait (busy_timeout) rather than as a failed upgrade
 * halfway through. Tenant is part of every key and every WHERE clause, which
 * is what makes another tenant's conversation indistinguishable from a
 * missing one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

#include "dbpool.h"
#include "hist_admin.h"
#include "keys.h"
#include "maint.h"

typedef struct hist_ctx {
    const rk_host *host;
    rk_instance *self;
    dbpool pool;
    maint_cfg mcfg;
    maint *maint; /* between start and stop */
} hist_ctx;

static const rk_config_key hist_keys[] = {
    {"path", RK_CFG_STRING, "./data/history.sqlite", 0,
     "database file; its directory is created if missing"},
    {"busy_timeout", RK_CFG_DURATION, "5s", 0,
     "how long a call waits for another writer before failing"},
    {"pool_size", RK_CFG_INT, "4", 0, "idle connections kept open (1..64)"},
    {"wal_max", RK_CFG_SIZE, "64MB", 0,
     "bound of the -wal file: checkpointed with TRUNCATE once past a quarter of it (>= 1MB)"},
    {"checkpoint_interval", RK_CFG_DURATION, "1s", 0, "how often the WAL is checkpointed"},
    {"max_conversations", RK_CFG_INT, "0", 0,
     "keep at most this many conversations, deleting the least recently updated (0 = no limit)"},
    {"max_bytes", RK_CFG_SIZE, "0", 0,
     "keep the data in use under this size, deleting the least recently updated "
     "conversations (0 = no limit)"},
    {"retention_interval", RK_CFG_DURATION, "1m", 0,
     "how often max_conversations and max_bytes are enforced"},
    {"integrity_check", RK_CFG_BOOL, "true", 0,
     "check the file at start (PRAGMA quick_check) and refuse a damaged one"},
    {NULL, 0, NULL, 0, NULL}};

/* The default tenant reaches plugins as NULL; it is stored as "". */
static const char *tenant_key(const char *tenant)
{
    return tenant ? tenant : "";
}

static int step_done(dbconn *c, sqlite3_stmt *st, rk_err *err)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? RK_OK : db_fail(c, rc, err);
}

static int check_msgs(const char *conv_id, const rk_message *msgs, size_t n,
                      rk_err *err)
{
    if (!conv_id || !*conv_id)
        return rk_fail(err, RK_ERR_INVALID, "missing conversation id");
    if (n && !msgs)
        return rk_fail(err, RK_ERR_INVALID, "NULL messages");
    for (size_t i = 0; i < n; i++)
        if (!msgs[i].role || !msgs[i].content)
            return rk_fail(err, RK_ERR_INVALID, "message %zu has no role or content", i);
    return RK_OK;
}

/* Insert msgs with seq = first_seq + 1, ... inside the caller's transaction. */
static int insert_msgs(dbconn *c, const char *tenant, const char *conv,
                       const rk_message *msgs, size_t n, int64_t first_seq,
                       int64_t now, rk_err *err)
{
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *st = dbconn_stmt(c, ST_INSERT_MSG, err);
        if (!st)
            return RK_ERR_IO;
        sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, conv, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, first_seq + 1 + (int64_t)i);
        sqlite3_bind_text(st, 4, msgs[i].role, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, msgs[i].content, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, now);
        int rc = step_done(c, st, err);
        if (rc != RK_OK)
            return rc;
    }
    return RK_OK;
}

/* The sequence number new messages continue from: the current maximum
 * when appending, 0 after clearing the conversation when replacing. */
static int next_seq_base(dbconn *c, const char *tenant, const char *conv,
                         int replace, int64_t *base, rk_err *err)
{
    sqlite3_stmt *st = dbconn_stmt(c, replace ? ST_DELETE_MSGS : ST_MAX_SEQ, err);
    if (!st)
        return RK_ERR_IO;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, conv, -1, SQLITE_STATIC);
    *base = 0;
    if (replace)
        return step_done(c, st, err);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *base = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? RK_OK : db_fail(c, rc, err);
}

static int hist_write(hist_ctx *h, const char *tenant, const char *conv,
                      const rk_message *msgs, size_t n, int replace, rk_err *err)
{
    int rc = check_msgs(conv, msgs, n, err);
    if (rc != RK_OK)
        return rc;
    tenant = tenant_key(tenant);
    dbconn *c = dbpool_acquire(&h->pool, err);
    if (!c)
        return RK_ERR_UNAVAILABLE;
    int64_t now = h->host->wall_ms(), base = 0;
    dbpool_write_begin(&h->pool);
    if ((rc = dbconn_exec(c, ST_BEGIN_WRITE, err)) != RK_OK)
        goto out;
    sqlite3_stmt *st = dbconn_stmt(c, ST_TOUCH_CONV, err);
    if (!st) {
        rc = RK_ERR_IO;
        goto out;
    }
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, conv, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    if ((rc = step_done(c, st, err)) != RK_OK ||
        (rc = next_seq_base(c, tenant, conv, replace, &base, err)) != RK_OK ||
        (rc = insert_msgs(c, tenant, conv, msgs, n, base, now, err)) != RK_OK)
        goto out;
    rc = dbconn_exec(c, ST_COMMIT, err);
out:
    dbpool_release(&h->pool, c); /* rolls back whatever did not commit */
    dbpool_write_end(&h->pool);
    return rc;
}

static int hist_append(void *ctxp, const char *tenant, const char *conv_id,
                       const rk_message *msgs, size_t n, rk_err *err)
{
    return hist_write(ctxp, tenant, conv_id, msgs, n, 0, err);
}

static int hist_replace(void *ctxp, const char *tenant, const char *conv_id,
                        const rk_message *msgs, size_t n, rk_err *err)
{
    return hist_write(ctxp, tenant, conv_id, msgs, n, 1, err);
}

static int conv_exists(dbconn *c, const char *tenant, const char *conv, rk_err *err)
{
    sqlite3_stmt *st = dbconn_stmt(c, ST_CONV_EXISTS, err);
    if (!st)
        return RK_ERR_IO;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, conv, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return RK_OK;
    if (rc == SQLITE_DONE)
        return rk_fail(err, RK_ERR_NOT_FOUND, "no conversation %s", conv);
    return db_fail(c, rc, err);
}

static int emit_rows(dbconn *c, sqlite3_stmt *st,
                     void (*on_msg)(void *ud, const rk_history_entry *e), void *ud,
                     rk_err *err)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        rk_history_entry e = {
            .struct_size = sizeof e,
            .role = (const char *)sqlite3_column_text(st, 0),
            .content = (const char *)sqlite3_column_text(st, 1),
            .created_ms = sqlite3_column_int64(st, 2),
        };
        if (!e.role || !e.content)
            continue; /* NULL text means out of memory in sqlite: skip */
        if (on_msg)
            on_msg(ud, &e);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? RK_OK : db_fail(c, rc, err);
}

static int hist_load(void *ctxp, const char *tenant, const char *conv_id,
                     size_t max, void (*on_msg)(void *ud, const rk_history_entry *e),
                     void *ud, rk_err *err)
{
    hist_ctx *h = ctxp;
    if (!conv_id || !*conv_id)
        return rk_fail(err, RK_ERR_INVALID, "missing conversation id");
    tenant = tenant_key(tenant);
    dbconn *c = dbpool_acquire(&h->pool, err);
    if (!c)
        return RK_ERR_UNAVAILABLE;
    /* one read transaction: the existence check and the rows agree */
    int rc = dbconn_exec(c, ST_BEGIN_READ, err);
    if (rc != RK_OK || (rc = conv_exists(c, tenant, conv_id, err)) != RK_OK)
        goto out;
    sqlite3_stmt *st = dbconn_stmt(c, ST_LOAD, err);
    if (!st) {
        rc = RK_ERR_IO;
        goto out;
    }
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, conv_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, max == 0 || max > INT64_MAX ? -1 : (int64_t)max);
    if ((rc = emit_rows(c, st, on_msg, ud, err)) == RK_OK)
        rc = dbconn_exec(c, ST_COMMIT, err);
out:
    dbpool_release(&h->pool, c);
    return rc;
}

static int run_expire(dbconn *c, db_stmt_id id, int64_t cutoff, int64_t limit,
                      rk_err *err)
{
    sqlite3_stmt *st = dbconn_stmt(c, id, err);
    if (!st)
        return RK_ERR_IO;
    sqlite3_bind_int64(st, 1, cutoff);
    sqlite3_bind_int64(st, 2, limit);
    return step_done(c, st, err);
}

/* batch 0 means no limit, like load's max. */
static int64_t hist_expire(void *ctxp, int64_t idle_before_ms, size_t batch,
                           rk_err *err)
{
    hist_ctx *h = ctxp;
    int64_t limit = batch == 0 || batch > INT64_MAX ? -1 : (int64_t)batch;
    dbconn *c = dbpool_acquire(&h->pool, err);
    if (!c)
        return RK_ERR_UNAVAILABLE;
    int64_t deleted = 0;
    dbpool_write_begin(&h->pool);
    int rc = dbconn_exec(c, ST_BEGIN_WRITE, err);
    if (rc != RK_OK ||
        (rc = run_expire(c, ST_EXPIRE_MSGS, idle_before_ms, limit, err)) != RK_OK ||
        (rc = run_expire(c, ST_EXPIRE_CONVS, idle_before_ms, limit, err)) != RK_OK)
        goto out;
    deleted = sqlite3_changes64(c->db);
    rc = dbconn_exec(c, ST_COMMIT, err);
out:
    dbpool_release(&h->pool, c);
    dbpool_write_end(&h->pool);
    return rc == RK_OK ? deleted : rc;
}

/* One row rewritten with 16 KB: new pages in the log, like an append,
 * but no conversation. */
static int hist_probe(void *ctxp, rk_err *err)
{
    hist_ctx *h = ctxp;
    dbconn *c = dbpool_acquire(&h->pool, err);
    if (!c)
        return RK_ERR_UNAVAILABLE;
    char sql[128];
    snprintf(sql, sizeof sql, "BEGIN IMMEDIATE; INSERT OR REPLACE INTO write_probe "
             "VALUES(1, %lld, zeroblob(16384)); COMMIT", (long long)h->host->wall_ms());
    dbpool_write_begin(&h->pool);
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    int status = rc == SQLITE_OK ? RK_OK : db_fail(c, rc, err);
    dbpool_release(&h->pool, c); /* rolls back a failed one */
    dbpool_write_end(&h->pool);
    return status;
}

static int64_t hist_list(void *ctxp, const char *tenant, const char *after, size_t limit,
                         void (*on_conv)(void *ud, const rk_conv_info *c), void *ud,
                         rk_err *err)
{
    hist_ctx *h = ctxp;
    return hist_admin_list(&h->pool, tenant, after, limit, on_conv, ud, err);
}

static int hist_remove(void *ctxp, const char *tenant, const char *conv_id, rk_err *err)
{
    hist_ctx *h = ctxp;
    return hist_admin_remove(&h->pool, tenant, conv_id, err);
}

static int hist_key_put(void *ctxp, const rk_history_key *k, rk_err *err)
{
    hist_ctx *h = ctxp;
    return hsk_put(&h->pool, k, h->host->wall_ms(), err);
}

static int hist_key_list(void *ctxp, const char *tenant,
                         void (*on_key)(void *ud, const rk_history_key *k), void *ud,
                         rk_err *err)
{
    hist_ctx *h = ctxp;
    return hsk_list(&h->pool, tenant, on_key, ud, err);
}

static int hist_key_revoke(void *ctxp, const char *id, int64_t revoked_ms, rk_err *err)
{
    hist_ctx *h = ctxp;
    return hsk_revoke(&h->pool, id, revoked_ms, err);
}

static void hist_destroy(void *ctxp)
{
    hist_ctx *h = ctxp;
    if (!h)
        return;
    maint_stop(h->maint);
    dbpool_destroy(&h->pool);
    free(h);
}

static int read_maint_cfg(const rk_host *host, rk_instance *self, maint_cfg *m,
                          rk_err *err)
{
    char where[128];
    *m = (maint_cfg){
        .wal_max = host->cfg_int(self, "wal_max"),
        .checkpoint_ms = host->cfg_int(self, "checkpoint_interval"),
        .max_conversations = host->cfg_int(self, "max_conversations"),
        .max_bytes = host->cfg_int(self, "max_bytes"),
        .retention_ms = host->cfg_int(self, "retention_interval"),
    };
    const char *bad = m->wal_max < (1 << 20)           ? "wal_max must be at least 1MB"
                      : m->checkpoint_ms < 1           ? "checkpoint_interval must be positive"
                      : m->max_conversations < 0       ? "max_conversations must not be negative"
                      : m->max_bytes < 0               ? "max_bytes must not be negative"
                      : m->retention_ms < 1            ? "retention_interval must be positive"
                                                       : NULL;
    if (!bad)
        return RK_OK;
    const char *key = bad; /* the key is the message's first word */
    char name[32];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(key, " "), key);
    return rk_fail(err, RK_ERR_CONFIG, "%s: %s",
                   host->cfg_where(self, name, where, sizeof where), bad);
}

static int hist_create(const rk_host *host, rk_instance *self, void **ctx,
                       rk_err *err)
{
    const char *path = host->cfg_string(self, "path");
    int64_t busy = host->cfg_int(self, "busy_timeout");
    int64_t keep = host->cfg_int(self, "pool_size");
    char where[128];
    if (!path || !*path)
        return rk_fail(err, RK_ERR_CONFIG, "%s: path must not be empty",
                       host->cfg_where(self, "path", where, sizeof where));
    if (keep < 1 || keep > 64)
        return rk_fail(err, RK_ERR_CONFIG, "%s: pool_size must be in 1..64",
                       host->cfg_where(self, "pool_size", where, sizeof where));
    /* one process per database file (the host keeps it across reloads) */
    if (RK_HAS_FIELD(host, rk_host, lock_path) && host->lock_path) {
        int lrc = host->lock_path(self, path, err);
        if (lrc != RK_OK)
            return lrc;
    }
    hist_ctx *h = calloc(1, sizeof *h);
    if (!h)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    h->host = host;
    h->self = self;
    int rc = read_maint_cfg(host, self, &h->mcfg, err);
    if (rc == RK_OK)
        rc = dbpool_init(&h->pool, path, busy < 0 ? 0 : busy, (size_t)keep, err);
    if (rc != RK_OK) {
        free(h);
        return rc;
    }
    dbpool_set_journal_limit(&h->pool, h->mcfg.wal_max);
    if (host->cfg_bool(self, "integrity_check") && (rc = dbpool_check(&h->pool, err)) != RK_OK) {
        hist_destroy(h);
        return rc;
    }
    *ctx = h;
    return RK_OK;
}

static void maint_log(void *ud, int warn, const char *msg)
{
    hist_ctx *h = ud;
    h->host->log(h->self, warn ? RK_LOG_WARN : RK_LOG_INFO, "%s", msg);
}

static int hist_start(void *ctxp, rk_err *err)
{
    hist_ctx *h = ctxp;
    if (!h->maint && !(h->maint = maint_start(&h->pool, &h->mcfg, maint_log, h)))
        return rk_fail(err, RK_ERR_NOMEM, "cannot start the WAL and retention thread");
    return RK_OK;
}

static void hist_stop(void *ctxp, int64_t deadline_ms)
{
    hist_ctx *h = ctxp;
    (void)deadline_ms;
    maint_stop(h->maint);
    h->maint = NULL;
}

static const rk_history_vtable hist_vtable = {
    .struct_size = sizeof(rk_history_vtable),
    .append = hist_append,
    .load = hist_load,
    .replace = hist_replace,
    .expire = hist_expire,
    .probe = hist_probe,
    .list = hist_list,
    .remove = hist_remove,
    .key_put = hist_key_put,
    .key_list = hist_key_list,
    .key_revoke = hist_key_revoke,
};

static const rk_plugin history_sqlite_plugin = {
    RK_PLUGIN_HEADER,
    .kind = RK_KIND_HISTORY,
    .name = "history_sqlite",
    .version = "1.0.0",
    .description = "conversation history in a local SQLite file (WAL)",
    .flags = 0,
    .config = hist_keys,
    .create = hist_create,
    .start = hist_start,
    .stop = hist_stop,
    .destroy = hist_destroy,
    .vtable = &hist_vtable,
};

RK_PLUGIN_DEFINE(history_sqlite_plugin)
