/*
 * testenv — the environment of a unit-test binary, read the same way by
 * every test: BUILD names the build directory the plugins are loaded from,
 * RK_FIXTURES the sample documents, and fault-injection commands come in
 * environment variables set by the integration scripts. ph_run_suite is
 * the one main() body: it also owns the temporary base directory, which
 * must be made before Check forks the cases (see tmpdir.c).
 */
#define _GNU_SOURCE
#include "testenv.h"

#include <stdio.h>
#include <stdlib.h>

#include "tmpdir.h"

#define FIXTURE_MAX (1 << 20)

const char *ph_build_dir(void)
{
    const char *b = getenv("BUILD");
    return b && *b ? b : "build";
}

char *ph_fixture(const char *name, size_t *len)
{
    const char *dir = getenv("RK_FIXTURES");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "tests/fixtures/docs", name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s (run from the repository root)", path);
    char *buf = malloc(FIXTURE_MAX);
    ck_assert_ptr_nonnull(buf);
    *len = fread(buf, 1, FIXTURE_MAX, f);
    fclose(f);
    return buf;
}

void ph_env_cmd(const char *env)
{
    const char *cmd = getenv(env);
    ck_assert_msg(cmd && *cmd, "%s is not set", env);
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

TCase *ph_add_tcase(Suite *s, const char *name, double timeout, SFun setup, SFun teardown,
                    const TTest *const *tests, size_t n)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, timeout);
    if (setup || teardown)
        tcase_add_checked_fixture(tc, setup, teardown);
    for (size_t i = 0; i < n; i++)
        tcase_add_test(tc, tests[i]);
    suite_add_tcase(s, tc);
    return tc;
}

int ph_run_suite(Suite *s)
{
    if (ph_tmpbase_open() != 0) {
        perror("ragkernel tests: temporary base directory");
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    ph_tmpbase_close();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
