/*
 * pg_keys — owns history_postgres's api_keys table: API keys created over
 * HTTP on any host, as SHA-256 digests (never the secret), so that every
 * host polling key_list sees a new, rotated or revoked key within its
 * refresh interval. Each call is one statement: a put is an upsert on the
 * id, so two hosts rotating one key at once leave one of the two results,
 * never a mix; a revoke keeps the first revocation time.
 */
#include "pg_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COLS "id, name, tenant, sha256, prev_sha256, prev_until_ms, scopes, rpm, tpm, " \
             "created_ms, expires_ms, revoked_ms, updated_ms"

void pgk_build(pgk_sql *s, const char *p)
{
    snprintf(s->ddl, PGK_SQL_MAX,
             "CREATE TABLE IF NOT EXISTS %sapi_keys (id text PRIMARY KEY, name text NOT NULL, "
             "tenant text NOT NULL, sha256 text NOT NULL, prev_sha256 text, "
             "prev_until_ms bigint NOT NULL, scopes bigint NOT NULL, rpm bigint NOT NULL, "
             "tpm bigint NOT NULL, created_ms bigint NOT NULL, expires_ms bigint NOT NULL, "
             "revoked_ms bigint NOT NULL, updated_ms bigint NOT NULL)", p);
    snprintf(s->put, PGK_SQL_MAX,
             "INSERT INTO %sapi_keys (" COLS ") VALUES ($1, $2, $3, $4, $5, $6::bigint, "
             "$7::bigint, $8::bigint, $9::bigint, $10::bigint, $11::bigint, $12::bigint, "
             "$13::bigint) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, "
             "tenant = EXCLUDED.tenant, sha256 = EXCLUDED.sha256, "
             "prev_sha256 = EXCLUDED.prev_sha256, prev_until_ms = EXCLUDED.prev_until_ms, "
             "scopes = EXCLUDED.scopes, rpm = EXCLUDED.rpm, tpm = EXCLUDED.tpm, "
             "expires_ms = EXCLUDED.expires_ms, revoked_ms = EXCLUDED.revoked_ms, "
             "updated_ms = EXCLUDED.updated_ms", p);
    snprintf(s->list, PGK_SQL_MAX,
             "SELECT " COLS " FROM %sapi_keys WHERE $1::text IS NULL OR tenant = $1", p);
    snprintf(s->revoke, PGK_SQL_MAX,
             "UPDATE %sapi_keys SET revoked_ms = CASE WHEN revoked_ms = 0 THEN $2::bigint "
             "ELSE revoked_ms END, updated_ms = $2::bigint WHERE id = $1", p);
}

/* One statement on a pooled connection; *res for the caller to PQclear. */
static int run(pgpool *p, const char *sql, int n, const char *const *params,
               PGresult **res, rk_err *err)
{
    pgconn *c = NULL;
    int rc = pgpool_get(p, 0, &c, err);
    if (rc == RK_OK)
        rc = pgc_exec(c, sql, n, params, res, err);
    pgpool_put(p, c);
    return rc;
}

int pgk_put(pgpool *p, const pgk_sql *s, const rk_history_key *k, int64_t now_ms,
            rk_err *err)
{
    if (!k || !k->id || !*k->id || !k->name || !k->tenant || !k->sha256 ||
        strlen(k->sha256) != 64)
        return rk_fail(err, RK_ERR_INVALID, "key_put: the record needs an id, a name, a "
                       "tenant and a 64-digit sha256");
    char num[8][24];
    const int64_t v[8] = {k->prev_until_ms, (int64_t)k->scopes, k->requests_per_min,
                          k->tokens_per_min, k->created_ms, k->expires_ms, k->revoked_ms,
                          k->updated_ms ? k->updated_ms : now_ms};
    for (int i = 0; i < 8; i++)
        snprintf(num[i], sizeof num[i], "%lld", (long long)v[i]);
    const char *params[13] = {k->id,  k->name, k->tenant, k->sha256, k->prev_sha256,
                              num[0], num[1],  num[2],    num[3],    num[4],
                              num[5], num[6],  num[7]};
    return run(p, s->put, 13, params, NULL, err);
}

static int64_t num_at(PGresult *res, int row, int col)
{
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

int pgk_list(pgpool *p, const pgk_sql *s, const char *tenant,
             void (*on_key)(void *ud, const rk_history_key *k), void *ud, rk_err *err)
{
    PGresult *res = NULL;
    const char *params[1] = {tenant};
    int rc = run(p, s->list, 1, params, &res, err);
    if (rc != RK_OK)
        return rc;
    for (int i = 0; i < PQntuples(res) && on_key; i++) {
        rk_history_key k = {
            .struct_size = sizeof k,
            .id = PQgetvalue(res, i, 0),
            .name = PQgetvalue(res, i, 1),
            .tenant = PQgetvalue(res, i, 2),
            .sha256 = PQgetvalue(res, i, 3),
            .prev_sha256 = PQgetisnull(res, i, 4) ? NULL : PQgetvalue(res, i, 4),
            .prev_until_ms = num_at(res, i, 5),
            .scopes = (uint32_t)num_at(res, i, 6),
            .requests_per_min = num_at(res, i, 7),
            .tokens_per_min = num_at(res, i, 8),
            .created_ms = num_at(res, i, 9),
            .expires_ms = num_at(res, i, 10),
            .revoked_ms = num_at(res, i, 11),
            .updated_ms = num_at(res, i, 12),
        };
        on_key(ud, &k);
    }
    PQclear(res);
    return RK_OK;
}

int pgk_revoke(pgpool *p, const pgk_sql *s, const char *id, int64_t revoked_ms,
               rk_err *err)
{
    if (!id || !*id)
        return rk_fail(err, RK_ERR_INVALID, "key_revoke: missing key id");
    char at[24];
    snprintf(at, sizeof at, "%lld", (long long)revoked_ms);
    const char *params[2] = {id, at};
    PGresult *res = NULL;
    int rc = run(p, s->revoke, 2, params, &res, err);
    if (rc == RK_OK && pg_affected(res) == 0)
        rc = rk_fail(err, RK_ERR_NOT_FOUND, "no API key with id '%s'", id);
    PQclear(res);
    return rc;
}
