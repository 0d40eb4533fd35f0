/*
 * test_registry — registry_build/check against YAML files written to a
 * temp dir and real plugins from $BUILD/test-plugins: shared plugin files,
 * per-instance config, lookups, diagnostics at file:line:col for a missing
 * plugin, a refused plugin, a bad config and a failing create(), the
 * RK_PLUGIN_DIR override, start/stop and the reference count (run it under
 * valgrind to see that unref frees everything).
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostapi.h"
#include "registry.h"

static char g_plugins[512];
static char g_yaml[256];

static void setup(void)
{
    const char *b = getenv("BUILD");
    snprintf(g_plugins, sizeof g_plugins, "%s/test-plugins", b && *b ? b : "build");
    unsetenv("RK_PLUGIN_DIR");
    snprintf(g_yaml, sizeof g_yaml, "/tmp/rk_registry_XXXXXX.yaml");
    int fd = mkstemps(g_yaml, 5);
    ck_assert_int_ge(fd, 0);
    close(fd);
}

static void teardown(void)
{
    unlink(g_yaml);
}

/* Write the config: a server section using plugin_dir, then `body`. */
static rk_conf *load(const char *plugin_dir, const char *body, cfg_diag *d)
{
    FILE *f = fopen(g_yaml, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "server:\n  plugin_path: [\"%s\"]\ninstances:\n%s", plugin_dir, body);
    fclose(f);
    rk_conf *c = conf_load(g_yaml, d);
    ck_assert_msg(c != NULL, "conf_load: %s", d->n ? d->lines[0] : "?");
    return c;
}

static int diag_has(const cfg_diag *d, const char *s)
{
    for (size_t i = 0; i < d->n; i++)
        if (strstr(d->lines[i], s)) return 1;
    return 0;
}

static void diag_dump(const cfg_diag *d)
{
    for (size_t i = 0; i < d->n; i++) fprintf(stderr, "  diag: %s\n", d->lines[i]);
}

#define ck_diag(d, s) ck_assert_msg(diag_has((d), (s)), "no diagnostic with '%s'", (s))

/* Line 4 is the first instance (3 header lines above). */
static const char *two_caches =
    "  small:\n"
    "    plugin: good_cache\n"
    "    config: {max_entries: 10}\n"
    "  big:\n"
    "    plugin: good_cache\n"
    "    config:\n"
    "      max_entries: 20\n"
    "      default_ttl: 5s\n"
    "  echo:\n"
    "    plugin: good_llm\n"
    "  tx:\n"
    "    plugin: good_transport\n";

static void on_value(void *ud, const void *data, size_t len)
{
    (void)data;
    *(size_t *)ud = len;
}

START_TEST(build_two_instances)
{
    cfg_diag d = {0};
    registry *r = registry_build(load(g_plugins, two_caches, &d), hostapi_table(), &d);
    if (!r) diag_dump(&d);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(d.n, 0);
    ck_assert_uint_eq(r->n, 4);
    ck_assert_uint_eq(r->n_plugins, 3); /* good_cache is loaded once */
    rk_instance *small = registry_get(r, "small"), *big = registry_get(r, "big");
    ck_assert_ptr_nonnull(small);
    ck_assert_ptr_nonnull(big);
    ck_assert_ptr_eq(small->lp, big->lp);
    ck_assert_ptr_ne(small->ctx, big->ctx);
    ck_assert_int_eq(cfg_values_int(small->cfg, "max_entries"), 10);
    ck_assert_int_eq(cfg_values_int(big->cfg, "max_entries"), 20);
    ck_assert_int_eq(cfg_values_int(small->cfg, "default_ttl"), 60000); /* default */
    ck_assert_int_eq(cfg_values_int(big->cfg, "default_ttl"), 5000);
    ck_assert_ptr_eq(registry_get_kind(r, "small", RK_KIND_CACHE), small);
    ck_assert_ptr_null(registry_get_kind(r, "small", RK_KIND_LLM));
    ck_assert_ptr_nonnull(registry_get_kind(r, "echo", RK_KIND_LLM));
    ck_assert_ptr_null(registry_get(r, "nope"));
    ck_assert_ptr_eq(small->reg, r);
    ck_assert_int_eq(small->created, 1);

    /* Separate contexts: a value set in one instance is not in the other. */
    const rk_cache_vtable *vt = small->plugin->vtable;
    rk_err err = {{0}};
    size_t got = 0;
    ck_assert_int_eq(vt->set(small->ctx, "k", 1, "value", 5, 0, &err), RK_OK);
    ck_assert_int_eq(vt->get(small->ctx, "k", 1, on_value, &got, &err), RK_OK);
    ck_assert_uint_eq(got, 5);
    ck_assert_int_eq(vt->get(big->ctx, "k", 1, on_value, &got, &err), RK_ERR_NOT_FOUND);

    for (size_t i = 0; i < r->n; i++) { /* every serial mutex is usable */
        ck_assert_int_eq(pthread_mutex_lock(&r->inst[i]->serial), 0);
        pthread_mutex_unlock(&r->inst[i]->serial);
    }
    ck_assert_int_eq(registry_start(r, &err), RK_OK);
    for (size_t i = 0; i < r->n; i++) ck_assert_int_eq(r->inst[i]->started, 1);
    const rk_instance *tx = registry_get_kind(r, "tx", RK_KIND_TRANSPORT);
    char addr[64] = "";
    const rk_transport_vtable *tvt = tx->plugin->vtable;
    ck_assert_int_eq(tvt->listening(tx->ctx, addr, sizeof addr), RK_OK);
    ck_assert_msg(strncmp(addr, "127.0.0.1:", 10) == 0, "listening: %s", addr);
    registry_stop(r, 0);
    for (size_t i = 0; i < r->n; i++) ck_assert_int_eq(r->inst[i]->started, 0);

    registry_ref(r);
    ck_assert_int_eq(atomic_load(&r->refs), 2);
    registry_unref(r);
    ck_assert_int_eq(atomic_load(&r->refs), 1);
    registry_unref(r); /* frees everything: valgrind shows no leak */
    cfg_diag_free(&d);
}
END_TEST

START_TEST(generations_differ)
{
    cfg_diag d = {0};
    registry *a = registry_build(load(g_plugins, two_caches, &d), hostapi_table(), &d);
    registry *b = registry_build(load(g_plugins, two_caches, &d), hostapi_table(), &d);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_gt(b->generation, a->generation);
    registry_unref(a);
    registry_unref(b);
    cfg_diag_free(&d);
}
END_TEST

START_TEST(missing_plugin)
{
    cfg_diag d = {0};
    rk_conf *c = load(g_plugins,
                      "  ok:\n    plugin: good_cache\n"
                      "  ghost:\n    plugin: no_such_plugin\n", &d);
    ck_assert_ptr_null(registry_build(c, hostapi_table(), &d));
    char want[1024];
    snprintf(want, sizeof want, "%s:6:3: instance 'ghost': plugin 'no_such_plugin' not found in %s",
             g_yaml, g_plugins);
    ck_diag(&d, want);
    ck_assert_uint_eq(d.n, 1);
    cfg_diag_free(&d);
}
END_TEST

START_TEST(refused_plugin)
{
    cfg_diag d = {0};
    rk_conf *c = load(g_plugins, "  old:\n    plugin: bad_abi_major\n", &d);
    ck_assert_ptr_null(registry_build(c, hostapi_table(), &d));
    char want[1024];
    snprintf(want, sizeof want, "%s:4:3: instance 'old': %s/bad_abi_major.so: plugin bad_abi_major:",
             g_yaml, g_plugins);
    ck_diag(&d, want);
    snprintf(want, sizeof want, "(host ABI %d.%d, plugin ABI 2.0)", RK_ABI_MAJOR,
             RK_ABI_MINOR); /* bad_abi_major is pinned to 2.0 */
    ck_diag(&d, want);
    cfg_diag_free(&d);
}
END_TEST

START_TEST(bad_config)
{
    cfg_diag d = {0};
    rk_conf *c = load(g_plugins,
                      "  a:\n    plugin: good_cache\n    config:\n      max_entries: lots\n"
                      "  b:\n    plugin: good_cache\n    config:\n      colour: blue\n", &d);
    ck_assert_ptr_null(registry_build(c, hostapi_table(), &d));
    if (d.n < 2) diag_dump(&d);
    ck_assert_uint_ge(d.n, 2); /* both instances are reported, not just the first */
    char at[600];
    snprintf(at, sizeof at, "%s:7:20:", g_yaml);
    ck_diag(&d, at);
    ck_diag(&d, "max_entries");
    snprintf(at, sizeof at, "%s:11:7:", g_yaml);
    ck_diag(&d, at);
    ck_diag(&d, "colour");
    cfg_diag_free(&d);
}
END_TEST

START_TEST(create_fails)
{
    cfg_diag d = {0};
    const char *body = "  first:\n    plugin: good_cache\n"
                       "  broken:\n    plugin: bad_create_fails\n"
                       "    config: {reason: disk on fire}\n"
                       "  never:\n    plugin: good_llm\n";
    ck_assert_ptr_null(registry_build(load(g_plugins, body, &d), hostapi_table(), &d));
    char want[1024];
    snprintf(want, sizeof want,
             "%s:6:3: instance 'broken': create failed: backend refused: disk on fire", g_yaml);
    ck_diag(&d, want);
    ck_assert_uint_eq(d.n, 1);
    cfg_diag_free(&d);

    /* --check-config never calls create(), so the same file passes it. */
    cfg_diag d2 = {0};
    rk_conf *c = load(g_plugins, body, &d2);
    ck_assert_int_eq(registry_check(c, hostapi_table(), hostgen_set_starting, &d2), 0);
    ck_assert_uint_eq(d2.n, 0);
    conf_free(c);
    cfg_diag_free(&d2);
}
END_TEST

/* --check-config refuses what a start refuses: references to instances
 * of the wrong kind (pipeline_new would) and what a plugin's check slot
 * says, with the plugin's own position, and with the auth service
 * answering for the configuration being checked. */
START_TEST(check_kinds_and_plugin_check)
{
    cfg_diag d = {0};
    rk_conf *c = load(g_plugins,
                      "  echo:\n    plugin: good_llm\n"
                      "  tx:\n    plugin: good_transport\n"
                      "    config: {check_refuse: nope, check_needs_keys: true}\n"
                      "  tk:\n    plugin: good_transport\n"
                      "    config: {check_needs_keys: true}\n"
                      "pipeline:\n  llm: [echo]\n  cache: echo\n  history_summarizer: tx\n",
                      &d);
    ck_assert_int_eq(registry_check(c, hostapi_table(), hostgen_set_starting, &d), -1);
    char want[512];
    snprintf(want, sizeof want, "%s:14:10: pipeline.cache: instance 'echo' is a llm, not a cache",
             g_yaml);
    ck_diag(&d, want);
    ck_diag(&d, "pipeline.history_summarizer: instance 'tx' is a transport, not a llm");
    snprintf(want, sizeof want, "%s:8:28: instance 'tx': check_refuse: nope", g_yaml);
    ck_diag(&d, want);
    snprintf(want, sizeof want, "%s:9:3: instance 'tk': check_needs_keys: no API keys", g_yaml);
    ck_diag(&d, want);
    ck_assert_uint_eq(d.n, 4);
    conf_free(c);
    cfg_diag_free(&d);
}
END_TEST

START_TEST(check_reports_all)
{
    cfg_diag d = {0};
    rk_conf *c = load(g_plugins,
                      "  a:\n    plugin: nope_one\n"
                      "  b:\n    plugin: good_cache\n    config: {max_entries: x}\n"
                      "  c:\n    plugin: bad_null_slot\n", &d);
    ck_assert_int_eq(registry_check(c, hostapi_table(), hostgen_set_starting, &d), -1);
    ck_assert_uint_eq(d.n, 3);
    ck_diag(&d, "instance 'a': plugin 'nope_one' not found");
    ck_diag(&d, "max_entries");
    ck_diag(&d, "instance 'c':");
    ck_diag(&d, "llm vtable slot 'cancel' is NULL");
    conf_free(c);
    cfg_diag_free(&d);
}
END_TEST

START_TEST(env_dir_first)
{
    cfg_diag d = {0};
    setenv("RK_PLUGIN_DIR", g_plugins, 1);
    rk_conf *c = load("/nonexistent/plugins", "  m:\n    plugin: good_cache\n", &d);
    registry *r = registry_build(c, hostapi_table(), &d);
    unsetenv("RK_PLUGIN_DIR");
    if (!r) diag_dump(&d);
    ck_assert_ptr_nonnull(r);
    char want[1024];
    snprintf(want, sizeof want, "%s/good_cache.so", g_plugins);
    ck_assert_str_eq(registry_get(r, "m")->lp->path, want);
    registry_unref(r);

    c = load("/nonexistent/plugins", "  m:\n    plugin: good_cache\n", &d);
    ck_assert_ptr_null(registry_build(c, hostapi_table(), &d));
    ck_diag(&d, "not found in /nonexistent/plugins");
    cfg_diag_free(&d);
}
END_TEST

START_TEST(empty_instances)
{
    cfg_diag d = {0};
    registry *r = registry_build(load(g_plugins, "", &d), hostapi_table(), &d);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->n, 0);
    rk_err err = {{0}};
    ck_assert_int_eq(registry_start(r, &err), RK_OK);
    registry_stop(r, 0);
    registry_unref(r);
    cfg_diag_free(&d);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("registry");
    TCase *tc = tcase_create("registry");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, build_two_instances);
    tcase_add_test(tc, generations_differ);
    tcase_add_test(tc, missing_plugin);
    tcase_add_test(tc, refused_plugin);
    tcase_add_test(tc, bad_config);
    tcase_add_test(tc, create_fails);
    tcase_add_test(tc, check_reports_all);
    tcase_add_test(tc, check_kinds_and_plugin_check);
    tcase_add_test(tc, env_dir_first);
    tcase_add_test(tc, empty_instances);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
