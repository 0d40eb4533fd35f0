/*
 * pgtest — the shared scaffolding of test_history_postgres and
 * test_retriever_postgres. Both run against a real server named by PG_URL
 * that other runs may share, so every table a run creates carries the
 * run's pid in its prefix and is dropped at the end; the admin connection
 * goes through dlopen because the unit-test binaries link only the core,
 * not libpq.
 */
#define _GNU_SOURCE
#include "pgtest.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testenv.h"

static const char *g_url;
static int g_run; /* ph_pg_main's pid: names this run's table prefixes */
static const char *g_connect_timeout = "10s";

const char *ph_pg_url(void) { return g_url; }

void ph_pg_prefix(const char *tag, int n, char *out, size_t cap)
{
    snprintf(out, cap, "rkut_%s%d_%d_", tag, g_run, n);
}

void ph_pg_config(char *yaml, size_t cap, const char *url, const char *prefix, int conns)
{
    char esc[600];
    size_t o = 0;
    for (const char *c = url; *c && o + 2 < sizeof esc; c++) {
        if (*c == '"' || *c == '\\')
            esc[o++] = '\\';
        esc[o++] = *c;
    }
    esc[o] = '\0';
    snprintf(yaml, cap, "{url: \"%s\", pool_size: %d, connect_timeout: %s, table_prefix: \"%s\"}",
             esc, conns, g_connect_timeout, prefix);
}

#define RACE_MAX 16

void ph_pg_create_racing(ph *hs, size_t n, const char *prefix,
                         void (*config)(ph *h, const char *prefix))
{
    int rc[RACE_MAX];
    rk_err err[RACE_MAX];
    char log[4096];
    ck_assert_uint_le(n, RACE_MAX);
    for (size_t i = 0; i < n; i++)
        config(&hs[i], prefix);
    ph_create_at_once(hs, n, rc, err, log, sizeof log);
    ck_assert_msg(strstr(log, "level=warn") == NULL, "warnings: %s", log);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(rc[i] == RK_OK, "create %zu: %s", i, err[i].msg);
}

/* One simple query on PG_URL, its result ignored: cleanup only, and a
 * missing libpq just means nothing to clean with. */
static void pg_exec(const char *sql)
{
    void *lib = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return;
    void *(*connectdb)(const char *) = (void *(*)(const char *))dlsym(lib, "PQconnectdb");
    void *(*exec)(void *, const char *) = (void *(*)(void *, const char *))dlsym(lib, "PQexec");
    void (*clear)(void *) = (void (*)(void *))dlsym(lib, "PQclear");
    void (*finish)(void *) = (void (*)(void *))dlsym(lib, "PQfinish");
    void *pg = connectdb && exec && clear && finish ? connectdb(g_url) : NULL;
    if (pg) {
        clear(exec(pg, sql));
        finish(pg);
    }
    dlclose(lib);
}

Suite *ph_pg_suite(const char *name, const TTest *down, const TTest *outage,
                   const TTest *const *tests, size_t n)
{
    Suite *s = suite_create(name);
    if (getenv("RK_PG_DOWN"))
        ph_add_tcase(s, "contract", 120, NULL, NULL, &down, 1);
    else if (getenv("RK_PG_OUTAGE"))
        ph_add_tcase(s, "contract", 120, NULL, NULL, &outage, 1);
    else
        ph_add_tcase(s, "contract", 120, NULL, NULL, tests, n);
    return s;
}

int ph_pg_main(Suite *(*suite)(void), const char *tag, int n_prefixes,
               void (*drop)(const char *prefix, char *sql, size_t cap))
{
    g_url = getenv("PG_URL");
    if (!g_url || !*g_url) {
        printf("skipped: PG_URL not set\n");
        return EXIT_SUCCESS;
    }
    g_run = (int)getpid();
    if (getenv("RK_PG_DOWN") || getenv("RK_PG_OUTAGE"))
        g_connect_timeout = "2s";
    int status = ph_run_suite(suite());
    if (!getenv("RK_PG_DOWN")) {
        for (int i = 0; i < n_prefixes; i++) {
            char p[64], sql[256];
            ph_pg_prefix(tag, i, p, sizeof p);
            drop(p, sql, sizeof sql);
            pg_exec(sql);
        }
    }
    return status;
}
