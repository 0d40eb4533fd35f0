/*
 * rbench_fts5 — `rbench fts5`: the reference the retriever has to beat, a
 * plain SQLite FTS5 table (porter unicode61, title + text in one column,
 * bm25() ORDER BY) over the same corpus and queries, its match expression
 * built with the retrievers' own tokenizer and stopwords (plugins/lib/text).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbench.h"
#include "textproc.h"

static void sql_ok(sqlite3 *db, int rc, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
        die("sqlite %s: %s", what, sqlite3_errmsg(db));
}

static double fts5_build(sqlite3 *db)
{
    sqlite3_stmt *ins;
    char id[256];
    double t0 = now_s();
    sql_ok(db, sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                "CREATE VIRTUAL TABLE fts USING fts5(id UNINDEXED, body,"
                                " tokenize='porter unicode61'); BEGIN", NULL, NULL, NULL), "create");
    sql_ok(db, sqlite3_prepare_v2(db, "INSERT INTO fts(id, body) VALUES(?1, ?2)", -1, &ins, NULL),
           "prepare");
    for (size_t i = 0; i < g_ndocs * (size_t)g_o.copies; i++) {
        const doc *d = &g_docs[i % g_ndocs];
        size_t copy = i / g_ndocs;
        if (copy)
            snprintf(id, sizeof id, "%s#c%zu", d->id, copy);
        else
            snprintf(id, sizeof id, "%s", d->id);
        char *body = sqlite3_mprintf("%s\n%s", d->title, d->text);
        sqlite3_bind_text(ins, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 2, body, -1, sqlite3_free);
        sql_ok(db, sqlite3_step(ins), "insert");
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    sql_ok(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");
    return now_s() - t0;
}

/* "w1" OR "w2" ... over the query's lower-cased words, stopwords dropped
 * (English for Latin words, Russian for Cyrillic ones). */
static char *fts5_match(const char *text)
{
    size_t cap = strlen(text) * 8 + 16, o = 0, pos = 0, len = strlen(text);
    char *m = malloc(cap);
    tp_token t;
    if (!m)
        die("out of memory");
    m[0] = '\0';
    while (tp_next_token(text, len, &pos, &t)) {
        int lang = t.script == TP_SC_CYRILLIC ? tp_lang_find("russian")
                   : t.script == TP_SC_LATIN  ? tp_lang_english()
                                              : -1;
        if (tp_is_stopword(lang, t.norm, t.nlen))
            continue;
        o += (size_t)snprintf(m + o, cap - o, "%s\"%s\"", o ? " OR " : "", t.norm);
    }
    return m;
}

static void fts5_pass(sqlite3 *db, size_t k, FILE *run, double *lat)
{
    sqlite3_stmt *q;
    sql_ok(db, sqlite3_prepare_v2(db, "SELECT id, bm25(fts) FROM fts WHERE fts MATCH ?1"
                                      " ORDER BY bm25(fts) LIMIT ?2", -1, &q, NULL), "prepare");
    for (size_t i = 0; i < g_nqueries; i++) {
        char *m = fts5_match(g_queries[i].text);
        double t0 = now_s();
        sqlite3_bind_text(q, 1, m, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)k);
        size_t rank = 0;
        int rc;
        while (m[0] && (rc = sqlite3_step(q)) == SQLITE_ROW) {
            char id[128];
            snprintf(id, sizeof id, "%s", (const char *)sqlite3_column_text(q, 0));
            if (g_o.collapse)
                id[strcspn(id, "#")] = '\0';
            if (run) /* eval.py keeps the first occurrence of a doc id */
                fprintf(run, "%s Q0 %s %zu %.6f fts5\n", g_queries[i].id, id, ++rank,
                        -sqlite3_column_double(q, 1));
        }
        sqlite3_reset(q);
        if (lat)
            lat[i] = now_s() - t0;
        free(m);
    }
    sqlite3_finalize(q);
}

int cmd_fts5(void)
{
    sqlite3 *db;
    remove_db(g_o.db);
    if (sqlite3_open(g_o.db, &db) != SQLITE_OK)
        die("cannot open %s", g_o.db);
    printf("chunks=%zu index_s=%.2f\n", g_ndocs * (size_t)g_o.copies, fts5_build(db));
    FILE *run = fopen(g_o.run, "w");
    if (!run)
        die("cannot write %s", g_o.run);
    fts5_pass(db, g_o.k, run, NULL);
    fclose(run);
    double *lat = malloc(g_nqueries * sizeof *lat), p50, p99, mean;
    if (!lat)
        die("out of memory");
    fts5_pass(db, 10, NULL, lat); /* warm */
    fts5_pass(db, 10, NULL, lat);
    percentiles(lat, g_nqueries, &p50, &p99, &mean);
    printf("query_p50_ms=%.3f query_p99_ms=%.3f query_mean_ms=%.3f\n", p50, p99, mean);
    free(lat);
    sqlite3_close(db);
    return 0;
}
