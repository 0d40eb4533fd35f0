/*
 * keys — owns history_sqlite's api_keys table: records of API keys created
 * over HTTP, holding the SHA-256 of each secret and never the secret. The
 * statements are prepared per call rather than cached with the hot ones in
 * dbpool: the host lists keys every few seconds and writes them when an
 * operator asks, so a prepare costs nothing that matters, and the hot
 * statement table stays about conversations.
 */
#include "keys.h"

#include <string.h>

static const char sql_put[] =
    "INSERT OR REPLACE INTO api_keys(id, name, tenant, sha256, prev_sha256,"
    " prev_until_ms, scopes, rpm, tpm, created_ms, expires_ms, revoked_ms, updated_ms)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
static const char sql_list[] =
    "SELECT id, name, tenant, sha256, prev_sha256, prev_until_ms, scopes, rpm, tpm,"
    " created_ms, expires_ms, revoked_ms, updated_ms FROM api_keys"
    " WHERE ?1 IS NULL OR tenant = ?1";
static const char sql_revoke[] =
    "UPDATE api_keys SET revoked_ms = CASE WHEN revoked_ms = 0 THEN ?2 ELSE revoked_ms END,"
    " updated_ms = ?2 WHERE id = ?1";

static int valid_key(const rk_history_key *k, rk_err *err)
{
    if (!k || !k->id || !*k->id || !k->name || !k->tenant || !k->sha256 ||
        strlen(k->sha256) != 64)
        return rk_fail(err, RK_ERR_INVALID, "key_put: the record needs an id, a name, a "
                       "tenant and a 64-digit sha256");
    return RK_OK;
}

static int prepare(dbconn *c, const char *sql, sqlite3_stmt **st, rk_err *err)
{
    int rc = sqlite3_prepare_v2(c->db, sql, -1, st, NULL);
    return rc == SQLITE_OK ? RK_OK : db_fail(c, rc, err);
}

/* One statement that writes, under the process's writer gate. */
static int write_one(dbpool *p, sqlite3_stmt *(*bind)(dbconn *, const void *, rk_err *),
                     const void *arg, int64_t *changes, rk_err *err)
{
    dbconn *c = dbpool_acquire(p, err);
    if (!c)
        return RK_ERR_UNAVAILABLE;
    dbpool_write_begin(p);
    int rc = RK_ERR_IO;
    sqlite3_stmt *st = bind(c, arg, err);
    if (st) {
        int s = sqlite3_step(st);
        rc = s == SQLITE_DONE ? RK_OK : db_fail(c, s, err);
        if (changes)
            *changes = sqlite3_changes64(c->db);
        sqlite3_finalize(st);
    }
    dbpool_release(p, c);
    dbpool_write_end(p);
    return rc;
}

typedef struct put_arg {
    const rk_history_key *k;
    int64_t now;
} put_arg;

static sqlite3_stmt *bind_put(dbconn *c, const void *arg, rk_err *err)
{
    const put_arg *a = arg;
    const rk_history_key *k = a->k;
    sqlite3_stmt *st = NULL;
    if (prepare(c, sql_put, &st, err) != RK_OK)
        return NULL;
    sqlite3_bind_text(st, 1, k->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, k->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, k->tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, k->sha256, -1, SQLITE_STATIC);
    if (k->prev_sha256)
        sqlite3_bind_text(st, 5, k->prev_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, k->prev_until_ms);
    sqlite3_bind_int64(st, 7, k->scopes);
    sqlite3_bind_int64(st, 8, k->requests_per_min);
    sqlite3_bind_int64(st, 9, k->tokens_per_min);
    sqlite3_bind_int64(st, 10, k->created_ms);
    sqlite3_bind_int64(st, 11, k->expires_ms);
    sqlite3_bind_int64(st, 12, k->revoked_ms);
    sqlite3_bind_int64(st, 13, k->updated_ms ? k->updated_ms : a->now);
    return st;
}

int hsk_put(dbpool *p, const rk_history_key *k, int64_t now_ms, rk_err *err)
{
    int rc = valid_key(k, err);
    put_arg a = {k, now_ms};
    return rc == RK_OK ? write_one(p, bind_put, &a, NULL, err) : rc;
}

typedef struct revoke_arg {
    const char *id;
    int64_t at;
} revoke_arg;

static sqlite3_stmt *bind_revoke(dbconn *c, const void *arg, rk_err *err)
{
    const revoke_arg *a = arg;
    sqlite3_stmt *st = NULL;
    if (prepare(c, sql_revoke, &st, err) != RK_OK)
        return NULL;
    sqlite3_bind_text(st, 1, a->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, a->at);
    return st;
}

int hsk_revoke(dbpool *p, const char *id, int64_t revoked_ms, rk_err *err)
{
    if (!id || !*id)
        return rk_fail(err, RK_ERR_INVALID, "key_revoke: missing key id");
    revoke_arg a = {id, revoked_ms};
    int64_t changed = 0;
    int rc = write_one(p, bind_revoke, &a, &changed, err);
    if (rc == RK_OK && changed == 0)
        return rk_fail(err, RK_ERR_NOT_FOUND, "no API key with id '%s'", id);
    return rc;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static void emit(sqlite3_stmt *st, void (*on_key)(void *ud, const rk_history_key *k),
                 void *ud)
{
    rk_history_key k = {
        .struct_size = sizeof k,
        .id = col_text(st, 0),
        .name = col_text(st, 1),
        .tenant = col_text(st, 2),
        .sha256 = col_text(st, 3),
        .prev_sha256 = col_text(st, 4),
        .prev_until_ms = sqlite3_column_int64(st, 5),
        .scopes = (uint32_t)sqlite3_column_int64(st, 6),
        .requests_per_min = sqlite3_column_int64(st, 7),
        .tokens_per_min = sqlite3_column_int64(st, 8),
        .created_ms = sqlite3_column_int64(st, 9),
        .expires_ms = sqlite3_column_int64(st, 10),
        .revoked_ms = sqlite3_column_int64(st, 11),
        .updated_ms = sqlite3_column_int64(st, 12),
    };
    if (k.id && k.name && k.tenant && k.sha256 && on_key)
        on_key(ud, &k);
}

int hsk_list(dbpool *p, const char *tenant,
             void (*on_key)(void *ud, const rk_history_key *k), void *ud, rk_err *err)
{
    dbconn *c = dbpool_acquire(p, err);
    if (!c)
        return RK_ERR_UNAVAILABLE;
    sqlite3_stmt *st = NULL;
    int rc = prepare(c, sql_list, &st, err);
    if (rc == RK_OK) {
        if (tenant)
            sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
        int s;
        while ((s = sqlite3_step(st)) == SQLITE_ROW)
            emit(st, on_key, ud);
        rc = s == SQLITE_DONE ? RK_OK : db_fail(c, s, err);
        sqlite3_finalize(st);
    }
    dbpool_release(p, c);
    return rc;
}
