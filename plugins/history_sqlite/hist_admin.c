/*
 * hist_admin — listing and deleting conversations for history_sqlite. A
 * page is one read transaction in id order, keyed on (tenant, id), the
 * primary key, so a cursor costs one index seek however deep the listing
 * goes; the message count per row is a count over the messages' primary
 * key prefix. A delete removes the conversation row and its messages in
 * one write transaction (as expire does), so a conversation is never left
 * listed without messages or the other way round. Tenants are stored as
 * the plugin gets them (the default tenant, NULL, as ""), as in
 * history_sqlite.c.
 */
#include "hist_admin.h"

#include <stdint.h>

static const char *tenant_key(const char *tenant)
{
    return tenant ? tenant : "";
}

static int64_t emit_convs(dbconn *c, sqlite3_stmt *st,
                          void (*on_conv)(void *ud, const rk_conv_info *ci), void *ud,
                          rk_err *err)
{
    int rc;
    int64_t n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        rk_conv_info ci = {
            .struct_size = sizeof ci,
            .id = (const char *)sqlite3_column_text(st, 0),
            .created_ms = sqlite3_column_int64(st, 1),
            .updated_ms = sqlite3_column_int64(st, 2),
            .messages = (uint64_t)sqlite3_column_int64(st, 3),
        };
        if (!ci.id)
            continue; /* out of memory in sqlite */
        n++;
        if (on_conv)
            on_conv(ud, &ci);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? n : db_fail(c, rc, err);
}

int64_t hist_admin_list(dbpool *p, const char *tenant, const char *after, size_t limit,
                        void (*on_conv)(void *ud, const rk_conv_info *c), void *ud,
                        rk_err *err)
{
    if (limit == 0)
        return rk_fail(err, RK_ERR_INVALID, "list: limit must be at least 1");
    dbconn *c = dbpool_acquire(p, err);
    if (!c)
        return RK_ERR_UNAVAILABLE;
    int64_t n = RK_ERR_IO;
    sqlite3_stmt *st = dbconn_stmt(c, ST_LIST_CONVS, err);
    if (st) {
        sqlite3_bind_text(st, 1, tenant_key(tenant), -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, after ? after : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
        n = emit_convs(c, st, on_conv, ud, err);
    }
    dbpool_release(p, c);
    return n;
}

static int delete_one(dbconn *c, db_stmt_id id, const char *tenant, const char *conv,
                      int64_t *changed, rk_err *err)
{
    sqlite3_stmt *st = dbconn_stmt(c, id, err);
    if (!st)
        return RK_ERR_IO;
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, conv, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return db_fail(c, rc, err);
    *changed = sqlite3_changes64(c->db);
    return RK_OK;
}

int hist_admin_remove(dbpool *p, const char *tenant, const char *conv_id, rk_err *err)
{
    if (!conv_id || !*conv_id)
        return rk_fail(err, RK_ERR_INVALID, "missing conversation id");
    tenant = tenant_key(tenant);
    dbconn *c = dbpool_acquire(p, err);
    if (!c)
        return RK_ERR_UNAVAILABLE;
    int64_t convs = 0, msgs = 0;
    dbpool_write_begin(p);
    int rc = dbconn_exec(c, ST_BEGIN_WRITE, err);
    if (rc == RK_OK)
        rc = delete_one(c, ST_DELETE_CONV, tenant, conv_id, &convs, err);
    if (rc == RK_OK && convs == 0)
        rc = rk_fail(err, RK_ERR_NOT_FOUND, "no conversation %s", conv_id);
    if (rc == RK_OK)
        rc = delete_one(c, ST_DELETE_MSGS, tenant, conv_id, &msgs, err);
    if (rc == RK_OK)
        rc = dbconn_exec(c, ST_COMMIT, err);
    dbpool_release(p, c); /* rolls back whatever did not commit */
    dbpool_write_end(p);
    return rc;
}
