/*
 * testenv — what a unit-test binary takes from its surroundings: the build
 * directory, the fixture files, commands named by environment variables,
 * and the Check runner every main() ends in.
 */
#ifndef RK_TESTS_TESTENV_H
#define RK_TESTS_TESTENV_H

#include <check.h>
#include <stddef.h>

/* $BUILD, or "build" when unset or empty (tests run from the repository
 * root). Points into the environment; do not free. */
const char *ph_build_dir(void);

/* The whole fixture file $RK_FIXTURES/<name> (default tests/fixtures/docs),
 * at most 1 MiB: a malloc'd buffer the caller frees, its length in *len.
 * Aborts the test if the file cannot be opened. */
char *ph_fixture(const char *name, size_t *len);

/* Runs the shell command held by the environment variable env; aborts the
 * test unless it is set and exits 0. */
void ph_env_cmd(const char *env);

/* Adds a test case called name with this timeout (seconds), an optional
 * checked fixture (setup/teardown may be NULL) and the tests, in order. */
TCase *ph_add_tcase(Suite *s, const char *name, double timeout, SFun setup, SFun teardown,
                    const TTest *const *tests, size_t n);
#define PH_TESTS(...)                                                                      \
    (const TTest *const[]){__VA_ARGS__},                                                   \
        sizeof((const TTest *const[]){__VA_ARGS__}) / sizeof(const TTest *)

/* Runs every case of s (each in a process of its own unless CK_FORK=no)
 * with a temporary base directory around the run (see tmpdir.h), frees
 * the runner; EXIT_SUCCESS when nothing failed. */
int ph_run_suite(Suite *s);

#endif
