/*
 * rp_search — the search slot of retriever_postgres: one statement that
 * turns the question into an OR query under the english and russian
 * configurations (each stems its own script; a chunk's lexemes come from
 * one of them), finds matching chunks of the tenant through the GIN index,
 * ranks them with ts_rank (length-normalised, title above body), and makes
 * headlines for the top k only — ts_headline re-parses the whole text, so
 * it must not run for every match. When the caller has a deadline the
 * statement runs in a transaction with SET LOCAL statement_timeout set to
 * the time left, so a slow search is cancelled by the server rather than
 * holding a worker thread past the point where its answer is useful.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rp.h"
#include "rp_text.h"

#define RP_MAX_K 10000      /* most passages one search returns */
#define RP_MAX_DOCS 10000   /* most doc_ids in a filter (one placeholder each) */

/* ts_rank weights {D, C, B, A}: body text is D, titles are A; a title word
 * counts twice a body word, as in retriever_sqlite. */
#define RP_WEIGHTS "'{0.5, 0.2, 0.4, 1.0}'"

/* The OR query under each configuration; simple only when a word is in a
 * script neither english nor russian stems. */
static void add_tsquery(pgsql *s, const char *p, int simple)
{
    pgsql_add(s, "(to_tsquery('english', %sfold($2)) || to_tsquery('russian', %sfold($2))", p,
              p);
    if (simple)
        pgsql_add(s, " || to_tsquery('simple', %sfold($2))", p);
    pgsql_add(s, ")");
}

/* The query is computed once (CTE q) for ranking and headlines, and
 * repeated in the WHERE clause: only an expression there, not a value
 * from another relation, lets the planner use the GIN index. */
static void build_query(const rp_ctx *c, int simple, size_t n_docs, pgsql *s)
{
    const char *p = c->prefix;
    pgsql_add(s, "WITH q AS MATERIALIZED (SELECT ");
    add_tsquery(s, p, simple);
    pgsql_add(s, " AS q), top AS MATERIALIZED (SELECT c.doc_id, c.idx, c.title, c.body, "
                 "c.lang, ts_rank(" RP_WEIGHTS ", c.tsv, q.q, 1) AS rank FROM %schunks c, q "
                 "WHERE c.tenant = $1 AND c.tsv @@ ", p);
    add_tsquery(s, p, simple);
    for (size_t i = 0; i < n_docs; i++)
        pgsql_add(s, "%s$%zu%s", i ? ", " : " AND c.doc_id IN (", 4 + i,
                  i + 1 == n_docs ? ")" : "");
    pgsql_add(s,
              " ORDER BY rank DESC, c.doc_id, c.idx LIMIT $3::bigint) "
              "SELECT t.doc_id, t.idx, t.title, t.body, t.rank, h.hl, "
              "position(replace(replace(h.hl, chr(2), ''), chr(3), '') IN %sfold(t.body)) "
              "FROM top t CROSS JOIN q CROSS JOIN LATERAL (SELECT ts_headline("
              "t.lang::regconfig, %sfold(t.body), q.q, 'StartSel=' || chr(2) || "
              "', StopSel=' || chr(3) || ', MaxWords=30, MinWords=10') AS hl) h "
              "ORDER BY t.rank DESC, t.doc_id, t.idx",
              p, p);
}

static int deliver(PGresult *res, void (*on_hit)(void *ud, const rk_passage *p),
                   void *ud, rk_err *err)
{
    int rows = PQntuples(res);
    for (int i = 0; i < rows; i++) {
        const char *body = PQgetvalue(res, i, 3);
        char *snippet = rp_snippet(body, PQgetvalue(res, i, 5),
                                   strtol(PQgetvalue(res, i, 6), NULL, 10));
        if (!snippet)
            return rk_fail(err, RK_ERR_NOMEM, "out of memory");
        rk_passage p = {.struct_size = sizeof p,
                        .doc_id = PQgetvalue(res, i, 0),
                        .chunk_index = (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10),
                        .title = PQgetvalue(res, i, 2),
                        .text = body,
                        .snippet = snippet,
                        .score = strtod(PQgetvalue(res, i, 4), NULL)};
        on_hit(ud, &p);
        free(snippet);
    }
    return rows;
}

/* Run the statement; with a deadline, inside a transaction whose
 * statement_timeout is the time left (capped by the configured one). */
static int run(rp_ctx *c, int64_t deadline, const char *sql, int n, const char **params,
               PGresult **res, rk_err *err)
{
    pgconn *pc = NULL;
    int rc = pgpool_get(c->pool, deadline, &pc, err);
    if (rc != RK_OK)
        return rc;
    if (deadline) {
        int64_t left = deadline - c->host->now_ms();
        if (c->statement_timeout_ms > 0 && c->statement_timeout_ms < left)
            left = c->statement_timeout_ms;
        if (left <= 0)
            rc = rk_fail(err, RK_ERR_TIMEOUT, "search deadline passed");
        if (rc == RK_OK && (rc = pgc_begin(pc, err)) == RK_OK)
            rc = pgc_local_timeout(pc, left, err);
    }
    if (rc == RK_OK)
        rc = pgc_exec(pc, sql, n, params, res, err);
    if (rc == RK_OK && deadline)
        rc = pgc_commit(pc, err);
    pgpool_put(c->pool, pc);
    if (rc != RK_OK) {
        PQclear(*res);
        *res = NULL;
    }
    return rc;
}

static int check_query(const rk_query *q, void (*on_hit)(void *, const rk_passage *),
                       rk_err *err)
{
    if (!q || !q->tenant || !q->text || !on_hit)
        return rk_fail(err, RK_ERR_INVALID, "query needs a tenant, a text and a callback");
    if (q->doc_ids && q->n_doc_ids > RP_MAX_DOCS)
        return rk_fail(err, RK_ERR_INVALID, "at most %d doc_ids per query", RP_MAX_DOCS);
    for (size_t i = 0; q->doc_ids && i < q->n_doc_ids; i++)
        if (!q->doc_ids[i])
            return rk_fail(err, RK_ERR_INVALID, "doc_ids[%zu] is NULL", i);
    return RK_OK;
}

int rp_search(void *ctx, const rk_query *q, void (*on_hit)(void *ud, const rk_passage *p),
              void *ud, rk_err *err)
{
    rp_ctx *c = ctx;
    char terms[RP_QUERY_MAX], k[24];
    int simple = 0, rc = check_query(q, on_hit, err);
    if (rc != RK_OK)
        return rc;
    size_t n_docs = q->doc_ids ? q->n_doc_ids : 0;
    if (q->k == 0 || (q->doc_ids && n_docs == 0) ||
        rp_query_text(q->text, terms, sizeof terms, &simple) == 0)
        return 0;
    int64_t deadline = RK_HAS_FIELD(q, rk_query, deadline_ms) ? q->deadline_ms : 0;
    if (deadline && deadline <= c->host->now_ms())
        return rk_fail(err, RK_ERR_TIMEOUT, "search deadline passed");
    snprintf(k, sizeof k, "%zu", q->k < RP_MAX_K ? q->k : (size_t)RP_MAX_K);
    const char **params = malloc((3 + n_docs) * sizeof *params);
    pgsql sql = {0};
    PGresult *res = NULL;
    build_query(c, simple, n_docs, &sql);
    if (!params || sql.nomem) {
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
        goto out;
    }
    params[0] = q->tenant;
    params[1] = terms;
    params[2] = k;
    for (size_t i = 0; i < n_docs; i++)
        params[3 + i] = q->doc_ids[i];
    rc = run(c, deadline, sql.p, (int)(3 + n_docs), params, &res, err);
    if (rc == RK_OK)
        rc = deliver(res, on_hit, ud, err);
out:
    PQclear(res);
    pgsql_free(&sql);
    free(params);
    return rc;
}
