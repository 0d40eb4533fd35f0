/*
 * pgtest — what the PostgreSQL-backed plugin tests share: the server they
 * run against (PG_URL), the table prefixes of this run, the connect
 * timeout of the mode, the instance config, and an admin connection that
 * drops the run's tables at the end.
 *
 * Modes, chosen by tests/integration/test_postgres.sh:
 *   RK_PG_DOWN=1    the server is down (nothing is dropped afterwards);
 *   RK_PG_OUTAGE=1  the server is stopped and started under the test.
 * Both bound their waits with a 2 s connect timeout; otherwise it is 10 s,
 * because SCRAM authentication is slow under valgrind.
 */
#ifndef RK_TESTS_PGTEST_H
#define RK_TESTS_PGTEST_H

#include <check.h>
#include <stddef.h>

#include "plugin_harness.h"

/* PG_URL, as ph_pg_main found it. */
const char *ph_pg_url(void);

/* Table prefix n of this run: "rkut_<tag><pid>_<n>_", the pid being
 * ph_pg_main's, so runs (and the cases of one run) never share tables. */
void ph_pg_prefix(const char *tag, int n, char *out, size_t cap);

/* The instance config: url (quoted for YAML), pool_size conns, the mode's
 * connect_timeout and table_prefix. */
void ph_pg_config(char *yaml, size_t cap, const char *url, const char *prefix, int conns);

/* Schema creation racing: config(h, prefix) ph_load's each of hs[0..n)
 * (n <= 16) on the same prefix, then all are created at the same moment,
 * as hosts starting together on an empty database would be. Aborts unless
 * every create succeeded and none logged a warning (a lost race shows
 * only as one, since create retries lazily). */
void ph_pg_create_racing(ph *hs, size_t n, const char *prefix,
                         void (*config)(ph *h, const char *prefix));

/* The suite of a PostgreSQL test for the mode: `down` alone under
 * RK_PG_DOWN, `outage` alone under RK_PG_OUTAGE, otherwise tests[0..n);
 * one case, "contract", with a 120 s timeout. */
Suite *ph_pg_suite(const char *name, const TTest *down, const TTest *outage,
                   const TTest *const *tests, size_t n);

/* The whole main() of a PostgreSQL test: "skipped" (and success) without
 * PG_URL; otherwise runs suite() with ph_run_suite, then, unless
 * RK_PG_DOWN, runs drop(prefix) for each of the run's first n_prefixes
 * prefixes of tag. */
int ph_pg_main(Suite *(*suite)(void), const char *tag, int n_prefixes,
               void (*drop)(const char *prefix, char *sql, size_t cap));

#endif
