/*
 * test_sdk_example — the SDK's example plugin, compiled out of tree with the
 * public headers alone (no core header on the include path, the compiler
 * line the SDK documents), is accepted by the loader, exports only its
 * entry symbol, and works through the real host. (tests/integration/
 * test_sdk.sh does the same against an installed SDK and pkg-config.)
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "hostapi.h"
#include "loader.h"
#include "registry.h"
#include "tmpdir.h"

static char so[512];

static void build_example(void)
{
    char dir[256], cmd[2048];
    ph_tmpdir(dir, sizeof dir);
    snprintf(so, sizeof so, "%s/hello_cache.so", dir);
    snprintf(cmd, sizeof cmd,
             "cc -std=c11 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden "
             "-Isdk/include -o %s sdk/examples/hello_cache/hello_cache.c", so);
    ck_assert_msg(system(cmd) == 0, "out-of-tree build failed: %s", cmd);
}

static void on_value(void *ud, const void *d, size_t n)
{
    snprintf(ud, 32, "%.*s", (int)n, (const char *)d);
}

START_TEST(example_builds_loads_and_works)
{
    build_example();
    char cmd[700];
    snprintf(cmd, sizeof cmd,
             "test \"$(nm -D --defined-only %s | awk '$2 ~ /^[TDBR]$/ {print $3}')\" "
             "= rk_plugin_entry", so);
    ck_assert_msg(system(cmd) == 0, "the plugin must export exactly rk_plugin_entry");

    rk_err err = {{0}};
    loader_plugin *lp = loader_open(so, RK_KIND_CACHE, &err);
    ck_assert_msg(lp != NULL, "refused: %s", err.msg);
    ck_assert_str_eq(lp->desc->name, "hello_cache");

    cfg_diag d = {0};
    cfg_doc *doc = cfg_load_string("{}", 2, "example.yaml", &d);
    rk_instance inst = {.name = "hello", .plugin = lp->desc, .lp = lp};
    pthread_mutex_init(&inst.serial, NULL);
    inst.cfg = cfg_values_build(cfg_root(doc), lp->desc->config, cfg_root(doc), &d);
    ck_assert_ptr_nonnull(inst.cfg);
    void *ctx = NULL;
    ck_assert_int_eq(lp->desc->create(hostapi_table(), &inst, &ctx, &err), RK_OK);

    const rk_cache_vtable *vt = lp->desc->vtable;
    char got[32] = "";
    ck_assert_int_eq(vt->get(ctx, "k", 1, on_value, got, &err), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(vt->set(ctx, "k", 1, "v1", 2, 0, &err), RK_OK);
    ck_assert_int_eq(vt->get(ctx, "k", 1, on_value, got, &err), RK_OK);
    ck_assert_str_eq(got, "v1");
    ck_assert_int_eq(vt->del(ctx, "k", 1, &err), RK_OK);
    ck_assert_int_eq(vt->get(ctx, "k", 1, on_value, got, &err), RK_ERR_NOT_FOUND);

    lp->desc->destroy(ctx);
    cfg_values_free(inst.cfg);
    cfg_free(doc);
    cfg_diag_free(&d);
    pthread_mutex_destroy(&inst.serial);
    loader_close(lp);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sdk_example");
    TCase *tc = tcase_create("out_of_tree");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, example_builds_loads_and_works);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
