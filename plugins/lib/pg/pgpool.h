/*
 * pgpool — PostgreSQL connections shared by history_postgres and
 * retriever_postgres (compiled into each through PLUGIN_SRCS in plugin.mk):
 * a bounded pool of libpq connections lent to one thread at a time, the
 * config keys both plugins accept, schema creation that two hosts starting
 * at once cannot race, and the mapping of libpq failures to rk_status with
 * messages that name the server but never the password.
 *
 * Threads: pgpool_get/pgpool_put from any thread; a pgconn belongs to the
 * thread that got it until it is put back.
 */
#ifndef RK_HISTORY_POSTGRES_PGPOOL_H
#define RK_HISTORY_POSTGRES_PGPOOL_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include <ragkernel/ragkernel.h>

/* The keys every PostgreSQL plugin declares, for its rk_config_key table. */
#define PGPOOL_CONFIG_KEYS                                                     \
    {"url", RK_CFG_STRING, NULL, 1,                                            \
     "libpq connection URI or conninfo (postgresql://user:pw@host:port/db)"},  \
    {"pool_size", RK_CFG_INT, "4", 0, "connections kept per instance (1..64)"}, \
    {"connect_timeout", RK_CFG_DURATION, "3s", 0,                              \
     "how long a connection attempt may take (whole seconds, libpq minimum 2)"}, \
    {"statement_timeout", RK_CFG_DURATION, "5s", 0,                            \
     "server-side limit on one statement; 0 = none"},                          \
    {"table_prefix", RK_CFG_STRING, "rk_", 0,                                  \
     "prefix of the tables and indexes ([a-z_][a-z0-9_]*, at most 32 chars)"}

#define PGPOOL_PREFIX_MAX 32

typedef struct pgpool pgpool;

/* A connection lent to one thread (opaque outside pgpool.c). */
typedef struct pgconn pgconn;

typedef struct pgpool_opts {
    const rk_host *host;
    rk_instance *self;
    const char *url;              /* copied */
    size_t size;                  /* connections at most */
    int64_t connect_timeout_ms;
    int64_t statement_timeout_ms; /* 0 = none */
    const char *const *schema;    /* idempotent DDL statements, copied */
    size_t n_schema;
    const char *lock_name;        /* names the advisory lock around the DDL */
} pgpool_opts;

/* Fill url, size, timeouts and the validated table prefix (into
 * prefix[PGPOOL_PREFIX_MAX + 1]) from the instance config. RK_ERR_CONFIG
 * with file:line:col on a bad value. */
int pgpool_read_config(const rk_host *host, rk_instance *self, pgpool_opts *o,
                       char *prefix, rk_err *err);

/* Validate the options and try to connect and create the schema. Only a
 * malformed URL or bad option fails: a server that is down or refusing is
 * logged as a warning and retried on first use, so a host may start before
 * its database. */
int pgpool_open(const pgpool_opts *o, pgpool **out, rk_err *err);
/* Every connection must have been put back. */
void pgpool_close(pgpool *p);

/* *out = a connection with the schema in place, or RK_ERR_UNAVAILABLE,
 * RK_ERR_TIMEOUT or RK_ERR_NOMEM with err filled. Waits for a free
 * connection until deadline_ms (host now_ms clock; 0 = connect_timeout +
 * statement_timeout from now). */
int pgpool_get(pgpool *p, int64_t deadline_ms, pgconn **out, rk_err *err);
/* Give it back; an open transaction is rolled back, a broken connection
 * closed (the next pgpool_get opens a new one). */
void pgpool_put(pgpool *p, pgconn *c);

/* Run one parameterised statement (params are text, NULL = SQL NULL). On
 * RK_OK *res (if res is not NULL) holds the result for the caller to
 * PQclear. The first statement after pgpool_get is retried once on a fresh
 * connection if the pooled one turned out dead (server restarted). Callers
 * start every write with BEGIN, so a retried first statement never repeats
 * work that reached the server. */
int pgc_exec(pgconn *c, const char *sql, int n, const char *const *params,
             PGresult **res, rk_err *err);
int pgc_begin(pgconn *c, rk_err *err);
int pgc_commit(pgconn *c, rk_err *err);

/* Statement-level timeout for the current transaction only, in ms (>= 1). */
int pgc_local_timeout(pgconn *c, int64_t ms, rk_err *err);

/* Rows a DELETE/UPDATE/INSERT touched. */
int64_t pg_affected(PGresult *res);

/* ---- building statement text (placeholders only, never data) ---------- */
typedef struct pgsql {
    char *p;
    size_t len, cap;
    int nomem;
} pgsql;

void pgsql_add(pgsql *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pgsql_free(pgsql *s);

#endif
