/*
 * history_postgres — conversations in PostgreSQL, so every host behind a
 * load balancer sees the same history (connections, schema and error
 * mapping are in pgpool.c). Each write is one transaction that starts by
 * upserting the conversation row: the upsert takes that row's lock, so
 * concurrent appends to one conversation — from any host — queue up there
 * and each append's messages get consecutive sequence numbers. A replace
 * deletes and re-inserts under the same lock, so readers see the old or the
 * new conversation, never a mix. Reads are one statement (one snapshot)
 * that joins the conversation row, which is how "exists but empty" differs
 * from "not found". Tenant is part of every key and every WHERE clause, so
 * another tenant's conversation is indistinguishable from a missing one;
 * the default tenant (NULL) is stored as "", as history_sqlite does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

#include "hp_admin.h"
#include "pg_keys.h"
#include "pgpool.h"

#define HP_SQL_MAX 768
#define HP_BATCH 200 /* messages per INSERT statement */

typedef struct hp_sql {
    char touch[HP_SQL_MAX], clear[HP_SQL_MAX], load[HP_SQL_MAX], expire[HP_SQL_MAX];
    char insert_head[HP_SQL_MAX];
    char list[HP_SQL_MAX], remove[HP_SQL_MAX]; /* hp_admin.c */
    char ddl[4][HP_SQL_MAX];
} hp_sql;

typedef struct hist_ctx {
    const rk_host *host;
    rk_instance *self;
    pgpool *pool;
    hp_sql sql;
    pgk_sql keys;
} hist_ctx;

static const rk_config_key hist_keys[] = {PGPOOL_CONFIG_KEYS, {NULL, 0, NULL, 0, NULL}};

/* The default tenant reaches plugins as NULL; it is stored as "". */
static const char *tenant_key(const char *tenant)
{
    return tenant ? tenant : "";
}

static int check_msgs(const char *conv_id, const rk_message *msgs, size_t n, rk_err *err)
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

/* Insert msgs[0..n) in statements of up to HP_BATCH rows; $1..$3 are
 * tenant, conversation and time, then role and content per row. */
static int insert_msgs(hist_ctx *h, pgconn *c, const char *const shared[3],
                       const rk_message *msgs, size_t n, rk_err *err)
{
    const char **params = malloc((3 + 2 * (n < HP_BATCH ? n : HP_BATCH)) * sizeof *params);
    int rc = params ? RK_OK : rk_fail(err, RK_ERR_NOMEM, "out of memory");
    for (size_t done = 0; rc == RK_OK && done < n;) {
        size_t rows = n - done < HP_BATCH ? n - done : HP_BATCH;
        pgsql s = {0};
        pgsql_add(&s, "%s", h->sql.insert_head);
        memcpy(params, shared, 3 * sizeof *params);
        for (size_t i = 0; i < rows; i++) {
            pgsql_add(&s, "%s($1, $2, $%zu, $%zu, $3::bigint)", i ? ", " : "", 4 + 2 * i,
                      5 + 2 * i);
            params[3 + 2 * i] = msgs[done + i].role;
            params[4 + 2 * i] = msgs[done + i].content;
        }
        if (s.nomem)
            rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
        else
            rc = pgc_exec(c, s.p, (int)(3 + 2 * rows), params, NULL, err);
        pgsql_free(&s);
        done += rows;
    }
    free(params);
    return rc;
}

static int hist_write(hist_ctx *h, const char *tenant, const char *conv,
                      const rk_message *msgs, size_t n, int replace, rk_err *err)
{
    int rc = check_msgs(conv, msgs, n, err);
    if (rc != RK_OK)
        return rc;
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)h->host->wall_ms());
    const char *const shared[3] = {tenant_key(tenant), conv, now};
    pgconn *c = NULL;
    if ((rc = pgpool_get(h->pool, 0, &c, err)) != RK_OK)
        return rc;
    if ((rc = pgc_begin(c, err)) != RK_OK ||
        (rc = pgc_exec(c, h->sql.touch, 3, shared, NULL, err)) != RK_OK)
        goto out;
    if (replace && (rc = pgc_exec(c, h->sql.clear, 2, shared, NULL, err)) != RK_OK)
        goto out;
    if ((rc = insert_msgs(h, c, shared, msgs, n, err)) != RK_OK)
        goto out;
    rc = pgc_commit(c, err);
out:
    pgpool_put(h->pool, c); /* rolls back whatever did not commit */
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

static int hist_load(void *ctxp, const char *tenant, const char *conv_id, size_t max,
                     void (*on_msg)(void *ud, const rk_history_entry *e), void *ud,
                     rk_err *err)
{
    hist_ctx *h = ctxp;
    if (!conv_id || !*conv_id)
        return rk_fail(err, RK_ERR_INVALID, "missing conversation id");
    char limit[24];
    snprintf(limit, sizeof limit, "%zu", max);
    const char *params[3] = {tenant_key(tenant), conv_id, max ? limit : NULL};
    pgconn *c = NULL;
    PGresult *res = NULL;
    int rc = pgpool_get(h->pool, 0, &c, err);
    if (rc == RK_OK)
        rc = pgc_exec(c, h->sql.load, 3, params, &res, err);
    pgpool_put(h->pool, c);
    if (rc != RK_OK)
        return rc;
    int rows = PQntuples(res);
    if (rows == 0)
        rc = rk_fail(err, RK_ERR_NOT_FOUND, "no conversation %s", conv_id);
    for (int i = 0; i < rows; i++) {
        if (PQgetisnull(res, i, 0)) /* the conversation exists but is empty */
            continue;
        rk_history_entry e = {.struct_size = sizeof e,
                              .role = PQgetvalue(res, i, 0),
                              .content = PQgetvalue(res, i, 1),
                              .created_ms = strtoll(PQgetvalue(res, i, 2), NULL, 10)};
        if (on_msg)
            on_msg(ud, &e);
    }
    PQclear(res);
    return rc;
}

/* batch 0 means no limit, like load's max. */
static int64_t hist_expire(void *ctxp, int64_t idle_before_ms, size_t batch, rk_err *err)
{
    hist_ctx *h = ctxp;
    char cutoff[24], limit[24];
    snprintf(cutoff, sizeof cutoff, "%lld", (long long)idle_before_ms);
    snprintf(limit, sizeof limit, "%zu", batch);
    const char *params[2] = {cutoff, batch ? limit : NULL};
    pgconn *c = NULL;
    PGresult *res = NULL;
    int64_t deleted = 0;
    int rc = pgpool_get(h->pool, 0, &c, err);
    if (rc != RK_OK)
        return rc;
    /* BEGIN first: only a BEGIN is retried on a fresh connection */
    if ((rc = pgc_begin(c, err)) != RK_OK ||
        (rc = pgc_exec(c, h->sql.expire, 2, params, &res, err)) != RK_OK)
        goto out;
    deleted = pg_affected(res);
    rc = pgc_commit(c, err);
out:
    PQclear(res);
    pgpool_put(h->pool, c);
    return rc == RK_OK ? deleted : rc;
}

/* Statement texts; the prefix was validated as [a-z_][a-z0-9_]*, so it is
 * safe inside SQL. No user data ever goes into these strings. */
static void build_sql(hp_sql *s, const char *p)
{
    snprintf(s->ddl[0], HP_SQL_MAX,
             "CREATE TABLE IF NOT EXISTS %sconversations (tenant text NOT NULL, "
             "id text NOT NULL, created_ms bigint NOT NULL, updated_ms bigint NOT NULL, "
             "PRIMARY KEY (tenant, id))", p);
    snprintf(s->ddl[1], HP_SQL_MAX,
             "CREATE INDEX IF NOT EXISTS %sconversations_updated ON %sconversations "
             "(updated_ms)", p, p);
    snprintf(s->ddl[2], HP_SQL_MAX,
             "CREATE TABLE IF NOT EXISTS %smessages (tenant text NOT NULL, "
             "conv_id text NOT NULL, seq bigserial, role text NOT NULL, "
             "content text NOT NULL, created_ms bigint NOT NULL)", p);
    snprintf(s->ddl[3], HP_SQL_MAX,
             "CREATE INDEX IF NOT EXISTS %smessages_conv ON %smessages "
             "(tenant, conv_id, seq)", p, p);
    /* GREATEST: hosts' clocks differ; a conversation never gets older */
    snprintf(s->touch, HP_SQL_MAX,
             "INSERT INTO %sconversations AS c (tenant, id, created_ms, updated_ms) "
             "VALUES ($1, $2, $3::bigint, $3::bigint) ON CONFLICT (tenant, id) DO UPDATE "
             "SET updated_ms = GREATEST(c.updated_ms, EXCLUDED.updated_ms)", p);
    snprintf(s->clear, HP_SQL_MAX,
             "DELETE FROM %smessages WHERE tenant = $1 AND conv_id = $2", p);
    snprintf(s->insert_head, HP_SQL_MAX,
             "INSERT INTO %smessages (tenant, conv_id, role, content, created_ms) VALUES ", p);
    snprintf(s->load, HP_SQL_MAX,
             "SELECT m.role, m.content, m.created_ms FROM %sconversations c "
             "LEFT JOIN LATERAL (SELECT seq, role, content, created_ms FROM %smessages "
             "WHERE tenant = c.tenant AND conv_id = c.id ORDER BY seq DESC "
             "LIMIT $3::bigint) m ON true WHERE c.tenant = $1 AND c.id = $2 ORDER BY m.seq",
             p, p);
    /* SKIP LOCKED: a conversation being appended to right now is not idle */
    snprintf(s->expire, HP_SQL_MAX,
             "WITH doomed AS (SELECT tenant, id FROM %sconversations "
             "WHERE updated_ms < $1::bigint ORDER BY updated_ms LIMIT $2::bigint "
             "FOR UPDATE SKIP LOCKED), gone AS (DELETE FROM %smessages m USING doomed d "
             "WHERE m.tenant = d.tenant AND m.conv_id = d.id) DELETE FROM %sconversations c "
             "USING doomed d WHERE c.tenant = d.tenant AND c.id = d.id", p, p, p);
    hp_admin_sql(p, s->list, s->remove, HP_SQL_MAX);
}

static int64_t hist_list(void *ctxp, const char *tenant, const char *after, size_t limit,
                         void (*on_conv)(void *ud, const rk_conv_info *c), void *ud,
                         rk_err *err)
{
    hist_ctx *h = ctxp;
    return hp_admin_list(h->pool, h->sql.list, tenant, after, limit, on_conv, ud, err);
}

static int hist_remove(void *ctxp, const char *tenant, const char *conv_id, rk_err *err)
{
    hist_ctx *h = ctxp;
    return hp_admin_remove(h->pool, h->sql.remove, tenant, conv_id, err);
}

static int hist_key_put(void *ctxp, const rk_history_key *k, rk_err *err)
{
    hist_ctx *h = ctxp;
    return pgk_put(h->pool, &h->keys, k, h->host->wall_ms(), err);
}

static int hist_key_list(void *ctxp, const char *tenant,
                         void (*on_key)(void *ud, const rk_history_key *k), void *ud,
                         rk_err *err)
{
    hist_ctx *h = ctxp;
    return pgk_list(h->pool, &h->keys, tenant, on_key, ud, err);
}

static int hist_key_revoke(void *ctxp, const char *id, int64_t revoked_ms, rk_err *err)
{
    hist_ctx *h = ctxp;
    return pgk_revoke(h->pool, &h->keys, id, revoked_ms, err);
}

static void hist_destroy(void *ctxp)
{
    hist_ctx *h = ctxp;
    if (!h)
        return;
    pgpool_close(h->pool);
    free(h);
}

static int hist_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    pgpool_opts o;
    char prefix[PGPOOL_PREFIX_MAX + 1], lock[64];
    *ctx = NULL;
    int rc = pgpool_read_config(host, self, &o, prefix, err);
    if (rc != RK_OK)
        return rc;
    hist_ctx *h = calloc(1, sizeof *h);
    if (!h)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    h->host = host;
    h->self = self;
    build_sql(&h->sql, prefix);
    pgk_build(&h->keys, prefix);
    const char *ddl[5] = {h->sql.ddl[0], h->sql.ddl[1], h->sql.ddl[2], h->sql.ddl[3],
                          h->keys.ddl};
    snprintf(lock, sizeof lock, "ragkernel history %s", prefix);
    o.schema = ddl;
    o.n_schema = 5;
    o.lock_name = lock;
    if ((rc = pgpool_open(&o, &h->pool, err)) != RK_OK) {
        free(h);
        return rc;
    }
    *ctx = h;
    return RK_OK;
}

static const rk_history_vtable hist_vtable = {
    .struct_size = sizeof(rk_history_vtable),
    .append = hist_append,
    .load = hist_load,
    .replace = hist_replace,
    .expire = hist_expire,
    .list = hist_list,
    .remove = hist_remove,
    .key_put = hist_key_put,
    .key_list = hist_key_list,
    .key_revoke = hist_key_revoke,
};

static const rk_plugin history_postgres_plugin = {
    RK_PLUGIN_HEADER,
    .kind = RK_KIND_HISTORY,
    .name = "history_postgres",
    .version = "1.0.0",
    .description = "conversation history in PostgreSQL, shared by many hosts "
                   "(the server may start after the host)",
    .flags = 0,
    .config = hist_keys,
    .create = hist_create,
    .destroy = hist_destroy,
    .vtable = &hist_vtable,
};

RK_PLUGIN_DEFINE(history_postgres_plugin)
