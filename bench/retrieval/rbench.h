/*
 * rbench — what the benchmark driver's two halves share: rbench.c (the
 * plugin run, options, the corpus) and rbench_fts5.c (the FTS5 reference).
 */
#ifndef RBENCH_H
#define RBENCH_H

#include <stddef.h>

typedef struct doc {
    char *id, *title, *text;
} doc;

typedef struct opts {
    const char *plugin, *db, *corpus, *queries, *run;
    int copies, threads, collapse, no_index;
    size_t k;
    const char *kv[32]; /* key=value config items */
    int n_kv;
} opts;

extern doc *g_docs, *g_queries;
extern size_t g_ndocs, g_nqueries;
extern opts g_o;

double now_s(void);
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void percentiles(double *v, size_t n, double *p50, double *p99, double *mean);
void remove_db(const char *path);

/* rbench_fts5.c: `rbench fts5`. */
int cmd_fts5(void);

#endif
