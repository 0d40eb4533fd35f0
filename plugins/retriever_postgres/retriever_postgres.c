/*
 * retriever_postgres — chunks in a PostgreSQL table with a tsvector per
 * chunk and a GIN index over them, so every host behind a load balancer
 * searches the same index (search is in rp_search.c, connections in
 * pgpool.c). This file owns the descriptor, the schema and the writes.
 * Re-indexing a document is one transaction: take a transaction-scoped
 * advisory lock on (tenant, doc_id), delete its chunks, insert the new
 * ones. The lock is what makes two hosts indexing the same document at
 * once end with one complete version instead of a primary-key conflict or
 * a mix; searches never wait for it and see the old or the new chunks.
 * Each chunk is analysed with the configuration chosen for its language
 * (rp_text.c), title weighted 'A' so ranking can favour title matches.
 * The configuration name is stored in `lang`, so the snippet is made with
 * the one the chunk was indexed with. The version a document was indexed
 * from (ABI 1.1: the host's sha256 of the stored bytes) is written in the
 * same transaction, so a host can tell at start which documents the index
 * holds at another version than storage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rp.h"
#include "rp_text.h"

#define RP_BATCH 100 /* chunks per INSERT statement */
#define RP_NDDL 4

static const rk_config_key rp_keys[] = {PGPOOL_CONFIG_KEYS, {NULL, 0, NULL, 0, NULL}};

static int check_chunks(const rk_chunk *chunks, size_t n, rk_err *err)
{
    if (!chunks || n == 0)
        return rk_fail(err, RK_ERR_INVALID, "no chunks");
    const char *tenant = chunks[0].tenant, *doc_id = chunks[0].doc_id;
    if (!tenant || !*tenant || !doc_id || !*doc_id)
        return rk_fail(err, RK_ERR_INVALID, "chunk without tenant or doc_id");
    for (size_t i = 0; i < n; i++) {
        if (!chunks[i].text)
            return rk_fail(err, RK_ERR_INVALID, "chunk %zu of %s has no text", i, doc_id);
        if (!chunks[i].tenant || strcmp(chunks[i].tenant, tenant) != 0 ||
            !chunks[i].doc_id || strcmp(chunks[i].doc_id, doc_id) != 0)
            return rk_fail(err, RK_ERR_INVALID,
                           "chunks of one call must share tenant and doc_id");
    }
    return RK_OK;
}

/* One INSERT of chunks[0..rows): $1 tenant, $2 doc_id, then index, title,
 * text and configuration per chunk. */
static int insert_batch(rp_ctx *c, pgconn *pc, const char **params, char (*idx)[12],
                        const rk_chunk *chunks, size_t rows, rk_err *err)
{
    const char *p = c->prefix;
    pgsql s = {0};
    pgsql_add(&s, "%s", c->insert_head);
    for (size_t i = 0; i < rows; i++) {
        const rk_chunk *ch = &chunks[i];
        size_t a = 3 + 4 * i;
        const char *hint = RK_HAS_FIELD(ch, rk_chunk, lang) ? ch->lang : NULL;
        snprintf(idx[i], sizeof idx[i], "%u", (unsigned)ch->index);
        params[a - 1] = idx[i];
        params[a] = ch->title ? ch->title : "";
        params[a + 1] = ch->text;
        params[a + 2] = rp_chunk_config(ch->text, hint);
        pgsql_add(&s,
                  "%s($1, $2, $%zu::int, $%zu::text, $%zu::text, $%zu::text, "
                  "setweight(to_tsvector($%zu::text::regconfig, %sfold($%zu::text)), 'A') || "
                  "to_tsvector($%zu::text::regconfig, %sfold($%zu::text)))",
                  i ? ", " : "", a, a + 1, a + 2, a + 3, a + 3, p, a + 1, a + 3, p, a + 2);
    }
    int rc = s.nomem ? rk_fail(err, RK_ERR_NOMEM, "out of memory")
                     : pgc_exec(pc, s.p, (int)(2 + 4 * rows), params, NULL, err);
    pgsql_free(&s);
    return rc;
}

/* Record version for the document, or drop its record (NULL). */
static int set_version(rp_ctx *c, pgconn *pc, const char *tenant, const char *doc_id,
                       const char *version, rk_err *err)
{
    const char *params[3] = {tenant, doc_id, version};
    return pgc_exec(pc, version ? c->vset : c->vdel, version ? 3 : 2, params, NULL, err);
}

/* Inside a transaction: lock the document, delete its chunks (count in
 * *n_old if not NULL), insert chunks[0..n), record version (n > 0). */
static int replace_doc(rp_ctx *c, pgconn *pc, const char *tenant, const char *doc_id,
                       const rk_chunk *chunks, size_t n, const char *version,
                       int64_t *n_old, rk_err *err)
{
    size_t per = n < RP_BATCH ? n : RP_BATCH;
    const char **params = malloc((2 + 4 * per) * sizeof *params);
    char(*idx)[12] = malloc((per ? per : 1) * sizeof *idx);
    PGresult *res = NULL;
    int rc = params && idx ? RK_OK : rk_fail(err, RK_ERR_NOMEM, "out of memory");
    if (rc == RK_OK) {
        params[0] = tenant;
        params[1] = doc_id;
        rc = pgc_exec(pc, c->lock, 2, params, NULL, err);
    }
    if (rc == RK_OK && (rc = pgc_exec(pc, c->clear, 2, params, &res, err)) == RK_OK && n_old)
        *n_old = pg_affected(res);
    for (size_t done = 0; rc == RK_OK && done < n; done += per) {
        size_t rows = n - done < per ? n - done : per;
        rc = insert_batch(c, pc, params, idx, chunks + done, rows, err);
    }
    if (rc == RK_OK)
        rc = set_version(c, pc, tenant, doc_id, n ? version : NULL, err);
    PQclear(res);
    free(params);
    free(idx);
    return rc;
}

static int write_doc(rp_ctx *c, const char *tenant, const char *doc_id,
                     const rk_chunk *chunks, size_t n, const char *version, int64_t *n_old,
                     rk_err *err)
{
    pgconn *pc = NULL;
    int rc = pgpool_get(c->pool, 0, &pc, err);
    if (rc != RK_OK)
        return rc;
    if ((rc = pgc_begin(pc, err)) == RK_OK &&
        (rc = replace_doc(c, pc, tenant, doc_id, chunks, n, version, n_old, err)) == RK_OK)
        rc = pgc_commit(pc, err);
    pgpool_put(c->pool, pc); /* rolls back what did not commit */
    return rc;
}

static int rp_index(void *ctx, const rk_chunk *chunks, size_t n, rk_err *err)
{
    int rc = check_chunks(chunks, n, err);
    if (rc != RK_OK)
        return rc;
    return write_doc(ctx, chunks[0].tenant, chunks[0].doc_id, chunks, n, NULL, NULL, err);
}

static int rp_index_versioned(void *ctx, const rk_chunk *chunks, size_t n,
                              const char *version, rk_err *err)
{
    int rc = check_chunks(chunks, n, err);
    if (rc == RK_OK && version && strlen(version) >= RK_DOC_VERSION_MAX)
        rc = rk_fail(err, RK_ERR_INVALID, "document version longer than %d bytes",
                     RK_DOC_VERSION_MAX - 1);
    if (rc != RK_OK)
        return rc;
    return write_doc(ctx, chunks[0].tenant, chunks[0].doc_id, chunks, n, version, NULL, err);
}

static int rp_remove(void *ctx, const char *tenant, const char *doc_id, rk_err *err)
{
    int64_t n_old = 0;
    if (!tenant || !doc_id)
        return rk_fail(err, RK_ERR_INVALID, "tenant and doc_id are required");
    int rc = write_doc(ctx, tenant, doc_id, NULL, 0, NULL, &n_old, err);
    if (rc == RK_OK && n_old == 0)
        rc = rk_fail(err, RK_ERR_NOT_FOUND, "document %s is not indexed", doc_id);
    return rc;
}

static int64_t rp_doc_chunks(void *ctx, const char *tenant, const char *doc_id, rk_err *err)
{
    rp_ctx *c = ctx;
    if (!tenant || !doc_id)
        return rk_fail(err, RK_ERR_INVALID, "tenant and doc_id are required");
    const char *params[2] = {tenant, doc_id};
    pgconn *pc = NULL;
    PGresult *res = NULL;
    int rc = pgpool_get(c->pool, 0, &pc, err);
    if (rc == RK_OK)
        rc = pgc_exec(pc, c->count, 2, params, &res, err);
    pgpool_put(c->pool, pc);
    if (rc != RK_OK)
        return rc;
    int64_t n = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    return n;
}

static int rp_doc_version(void *ctx, const char *tenant, const char *doc_id, char *out,
                          size_t cap, rk_err *err)
{
    rp_ctx *c = ctx;
    if (!tenant || !doc_id || !out || cap == 0)
        return rk_fail(err, RK_ERR_INVALID, "tenant, doc_id and a buffer are required");
    const char *params[2] = {tenant, doc_id};
    pgconn *pc = NULL;
    PGresult *res = NULL;
    out[0] = '\0';
    int rc = pgpool_get(c->pool, 0, &pc, err);
    if (rc == RK_OK)
        rc = pgc_exec(pc, c->vget, 2, params, &res, err);
    pgpool_put(c->pool, pc);
    if (rc != RK_OK)
        return rc;
    int one = PQntuples(res) == 1;
    if (!one || strtoll(PQgetvalue(res, 0, 0), NULL, 10) == 0)
        rc = rk_fail(err, RK_ERR_NOT_FOUND, "document %s is not indexed", doc_id);
    else if (!PQgetisnull(res, 0, 1))
        snprintf(out, cap, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    return rc;
}

/* ---- schema and statements ------------------------------------------- */

/* The folding function first: the table's expressions and the searches
 * use it. No separate (tenant, doc_id) index: the primary key's serves. */
static int build_ddl(const char *p, pgsql ddl[RP_NDDL])
{
    char from[RP_FOLD_MAX], to[RP_FOLD_MAX];
    rp_fold_sets(from, to);
    pgsql_add(&ddl[0],
              "CREATE OR REPLACE FUNCTION %sfold(text) RETURNS text LANGUAGE sql IMMUTABLE "
              "STRICT PARALLEL SAFE AS $f$SELECT translate(lower($1), '%s', '%s')$f$",
              p, from, to);
    pgsql_add(&ddl[1],
              "CREATE TABLE IF NOT EXISTS %schunks (tenant text NOT NULL, doc_id text NOT NULL, "
              "idx int NOT NULL, title text NOT NULL, body text NOT NULL, lang text NOT NULL, "
              "tsv tsvector NOT NULL, PRIMARY KEY (tenant, doc_id, idx))", p);
    pgsql_add(&ddl[2], "CREATE INDEX IF NOT EXISTS %schunks_tsv ON %schunks USING gin (tsv)",
              p, p);
    pgsql_add(&ddl[3],
              "CREATE TABLE IF NOT EXISTS %sdoc_versions (tenant text NOT NULL, "
              "doc_id text NOT NULL, version text NOT NULL, PRIMARY KEY (tenant, doc_id))", p);
    return ddl[0].nomem || ddl[1].nomem || ddl[2].nomem || ddl[3].nomem ? -1 : 0;
}

static void build_sql(rp_ctx *c)
{
    const char *p = c->prefix;
    /* chr(31) between the two: ("a", "bc") and ("ab", "c") differ */
    snprintf(c->lock, RP_SQL_MAX,
             "SELECT pg_advisory_xact_lock(hashtextextended($1::text || chr(31) || $2::text, 0))");
    snprintf(c->clear, RP_SQL_MAX, "DELETE FROM %schunks WHERE tenant = $1 AND doc_id = $2", p);
    snprintf(c->count, RP_SQL_MAX,
             "SELECT count(*) FROM %schunks WHERE tenant = $1 AND doc_id = $2", p);
    snprintf(c->insert_head, RP_SQL_MAX,
             "INSERT INTO %schunks (tenant, doc_id, idx, title, body, lang, tsv) VALUES ", p);
    snprintf(c->vset, RP_SQL_MAX,
             "INSERT INTO %sdoc_versions (tenant, doc_id, version) VALUES ($1, $2, $3) "
             "ON CONFLICT (tenant, doc_id) DO UPDATE SET version = EXCLUDED.version", p);
    snprintf(c->vdel, RP_SQL_MAX, "DELETE FROM %sdoc_versions WHERE tenant = $1 AND doc_id = $2",
             p);
    snprintf(c->vget, RP_SQL_MAX,
             "SELECT (SELECT count(*) FROM %schunks WHERE tenant = $1 AND doc_id = $2), "
             "(SELECT version FROM %sdoc_versions WHERE tenant = $1 AND doc_id = $2)", p, p);
}

static void rp_destroy(void *ctx)
{
    rp_ctx *c = ctx;
    if (!c)
        return;
    pgpool_close(c->pool);
    free(c);
}

static int rp_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    pgpool_opts o;
    pgsql ddl[RP_NDDL] = {{0}};
    char lock[64];
    *ctx = NULL;
    rp_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    c->host = host;
    c->self = self;
    int rc = pgpool_read_config(host, self, &o, c->prefix, err);
    if (rc == RK_OK && build_ddl(c->prefix, ddl) < 0)
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
    if (rc == RK_OK) {
        const char *stmts[RP_NDDL] = {ddl[0].p, ddl[1].p, ddl[2].p, ddl[3].p};
        c->statement_timeout_ms = o.statement_timeout_ms;
        build_sql(c);
        snprintf(lock, sizeof lock, "ragkernel retriever %s", c->prefix);
        o.schema = stmts;
        o.n_schema = RP_NDDL;
        o.lock_name = lock;
        rc = pgpool_open(&o, &c->pool, err);
    }
    for (int i = 0; i < RP_NDDL; i++)
        pgsql_free(&ddl[i]);
    if (rc != RK_OK) {
        free(c);
        return rc;
    }
    *ctx = c;
    return RK_OK;
}

static const rk_retriever_vtable rp_vtable = {
    .struct_size = sizeof(rk_retriever_vtable),
    .index = rp_index,
    .remove = rp_remove,
    .search = rp_search,
    .doc_chunks = rp_doc_chunks,
    .index_versioned = rp_index_versioned,
    .doc_version = rp_doc_version,
};

static const rk_plugin rp_plugin = {
    RK_PLUGIN_HEADER,
    .kind = RK_KIND_RETRIEVER,
    .name = "retriever_postgres",
    .version = "1.0.0",
    .description = "full-text search in PostgreSQL (tsvector, english/russian stemming), "
                   "shared by many hosts (the server may start after the host)",
    .flags = 0,
    .config = rp_keys,
    .create = rp_create,
    .destroy = rp_destroy,
    .vtable = &rp_vtable,
};

RK_PLUGIN_DEFINE(rp_plugin)
