/*
 * pg_keys — the API-key slots of history_postgres (rk_history_key records
 * in <prefix>api_keys, shared by every host on the database).
 */
#ifndef RK_HISTORY_POSTGRES_PG_KEYS_H
#define RK_HISTORY_POSTGRES_PG_KEYS_H

#include "pgpool.h"

#define PGK_SQL_MAX 1024

typedef struct pgk_sql {
    char ddl[PGK_SQL_MAX], put[PGK_SQL_MAX], list[PGK_SQL_MAX], revoke[PGK_SQL_MAX];
} pgk_sql;

/* Statement texts for a validated table prefix ([a-z_][a-z0-9_]*). */
void pgk_build(pgk_sql *s, const char *prefix);
int pgk_put(pgpool *p, const pgk_sql *s, const rk_history_key *k, int64_t now_ms,
            rk_err *err);
int pgk_list(pgpool *p, const pgk_sql *s, const char *tenant,
             void (*on_key)(void *ud, const rk_history_key *k), void *ud, rk_err *err);
int pgk_revoke(pgpool *p, const pgk_sql *s, const char *id, int64_t revoked_ms,
               rk_err *err);

#endif
