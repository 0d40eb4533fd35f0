/*
 * hp_admin — listing and deleting conversations in history_postgres. Ids
 * are compared and ordered with COLLATE "C" (byte order), so a cursor
 * means the same on every host whatever the database's locale, and
 * matches history_sqlite's order. A delete is one statement whose CTE
 * removes the conversation row and, only if there was one, its messages:
 * a single snapshot, so it is all or nothing and "not found" is exact.
 * Tenants are stored as the plugin gets them (NULL as ""), as in
 * history_postgres.c.
 */
#include "hp_admin.h"

#include <stdio.h>
#include <stdlib.h>

static const char *tenant_key(const char *tenant)
{
    return tenant ? tenant : "";
}

void hp_admin_sql(const char *p, char *list, char *remove, size_t cap)
{
    snprintf(list, cap,
             "SELECT c.id, c.created_ms, c.updated_ms, (SELECT count(*) FROM %smessages m "
             "WHERE m.tenant = c.tenant AND m.conv_id = c.id) FROM %sconversations c "
             "WHERE c.tenant = $1 AND c.id COLLATE \"C\" > $2 "
             "ORDER BY c.id COLLATE \"C\" LIMIT $3::bigint",
             p, p);
    snprintf(remove, cap,
             "WITH gone AS (DELETE FROM %sconversations WHERE tenant = $1 AND id = $2 "
             "RETURNING tenant, id), m AS (DELETE FROM %smessages x USING gone g "
             "WHERE x.tenant = g.tenant AND x.conv_id = g.id) SELECT count(*) FROM gone",
             p, p);
}

int64_t hp_admin_list(pgpool *pool, const char *sql, const char *tenant, const char *after,
                      size_t limit, void (*on_conv)(void *ud, const rk_conv_info *c), void *ud,
                      rk_err *err)
{
    if (limit == 0)
        return rk_fail(err, RK_ERR_INVALID, "list: limit must be at least 1");
    char lim[24];
    snprintf(lim, sizeof lim, "%zu", limit);
    const char *params[3] = {tenant_key(tenant), after ? after : "", lim};
    pgconn *c = NULL;
    PGresult *res = NULL;
    int rc = pgpool_get(pool, 0, &c, err);
    if (rc == RK_OK)
        rc = pgc_exec(c, sql, 3, params, &res, err);
    pgpool_put(pool, c);
    if (rc != RK_OK)
        return rc;
    int rows = PQntuples(res);
    for (int i = 0; i < rows && on_conv; i++) {
        rk_conv_info ci = {.struct_size = sizeof ci,
                           .id = PQgetvalue(res, i, 0),
                           .created_ms = strtoll(PQgetvalue(res, i, 1), NULL, 10),
                           .updated_ms = strtoll(PQgetvalue(res, i, 2), NULL, 10),
                           .messages = strtoull(PQgetvalue(res, i, 3), NULL, 10)};
        on_conv(ud, &ci);
    }
    PQclear(res);
    return rows;
}

int hp_admin_remove(pgpool *pool, const char *sql, const char *tenant, const char *conv_id,
                    rk_err *err)
{
    if (!conv_id || !*conv_id)
        return rk_fail(err, RK_ERR_INVALID, "missing conversation id");
    const char *params[2] = {tenant_key(tenant), conv_id};
    pgconn *c = NULL;
    PGresult *res = NULL;
    int rc = pgpool_get(pool, 0, &c, err);
    if (rc != RK_OK)
        return rc;
    /* BEGIN first: only a BEGIN is retried on a fresh connection */
    if ((rc = pgc_begin(c, err)) != RK_OK || (rc = pgc_exec(c, sql, 2, params, &res, err)) != RK_OK)
        goto out;
    if (PQntuples(res) != 1 || strtoll(PQgetvalue(res, 0, 0), NULL, 10) == 0)
        rc = rk_fail(err, RK_ERR_NOT_FOUND, "no conversation %s", conv_id);
    else
        rc = pgc_commit(c, err);
out:
    PQclear(res);
    pgpool_put(pool, c); /* rolls back whatever did not commit */
    return rc;
}
