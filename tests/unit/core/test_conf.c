/*
 * test_conf — conf_load on real files: a valid document, documents with
 * several mistakes (all reported in one pass, at exact positions), the
 * shipped config/default.yaml and config/broken-example.yaml.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

/* A file of the repository, found from this source file's path as the
 * compiler saw it (relative to the repository root when built by make). */
static const char *repo_file(const char *rel, char *buf, size_t cap)
{
    const char *self = __FILE__, *tail = "tests/unit/core/test_conf.c";
    size_t root = strlen(self) >= strlen(tail) ? strlen(self) - strlen(tail) : 0;
    snprintf(buf, cap, "%.*s%s", (int)root, self, rel);
    return buf;
}

static cfg_diag diag;
static char dir[64], path[128];

static void setup(void)
{
    memset(&diag, 0, sizeof diag);
    snprintf(dir, sizeof dir, "/tmp/test_conf.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/c.yaml", dir);
}

static void teardown(void)
{
    cfg_diag_free(&diag);
    unlink(path);
    rmdir(dir);
}

static rk_conf *load(const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, strlen(text), f), strlen(text));
    ck_assert_int_eq(fclose(f), 0);
    return conf_load(path, &diag);
}

/* diag line i must be "<path>:<rest>" */
static void expect_line(size_t i, const char *rest)
{
    char want[512];
    snprintf(want, sizeof want, "%s:%s", path, rest);
    ck_assert_msg(i < diag.n, "only %zu diagnostics, wanted '%s'", diag.n, want);
    ck_assert_str_eq(diag.lines[i], want);
}

static const char *valid =
    "server:\n"
    "  log_level: debug\n"
    "  workers: 8\n"
    "  plugin_path: [/opt/a, /opt/b]\n"
    "pipeline:\n"
    "  llm: [primary, backup]\n"
    "  retriever: docs\n"
    "  llm_timeout: 2.5s\n"
    "instances:\n"
    "  primary:\n"
    "    plugin: llm_openai\n"
    "    config:\n"
    "      model: gpt\n"
    "  backup:\n"
    "    plugin: llm_extractive\n"
    "  docs:\n"
    "    plugin: retriever_sqlite\n"
    "    config: {path: /tmp/x}\n";

START_TEST(test_valid)
{
    rk_conf *c = load(valid);
    ck_assert_msg(c != NULL, "%s", diag.n ? diag.lines[0] : "no diagnostics");
    ck_assert_uint_eq(diag.n, 0);
    ck_assert_str_eq(cfg_values_string(c->server, "log_level"), "debug");
    ck_assert_int_eq(cfg_values_int(c->server, "workers"), 8);
    ck_assert_str_eq(cfg_values_string(c->server, "log_format"), "logfmt");
    ck_assert_int_eq(cfg_values_int(c->server, "shutdown_grace"), 10000);
    ck_assert_uint_eq(cfg_values_count(c->server, "plugin_path"), 2);
    ck_assert_str_eq(cfg_values_item(c->server, "plugin_path", 1), "/opt/b");
    ck_assert_uint_eq(cfg_values_count(c->pipeline, "llm"), 2);
    ck_assert_str_eq(cfg_values_item(c->pipeline, "llm", 0), "primary");
    ck_assert_int_eq(cfg_values_int(c->pipeline, "llm_timeout"), 2500);
    ck_assert_int_eq(cfg_values_int(c->pipeline, "total_timeout"), 120000);
    ck_assert_int_eq(cfg_values_int(c->pipeline, "max_input_bytes"), 256 * 1024);
    ck_assert_ptr_null(cfg_values_string(c->pipeline, "cache"));
    ck_assert_uint_eq(c->n_instances, 3);
    const conf_instance *p = conf_find(c, "primary");
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->plugin, "llm_openai");
    ck_assert_str_eq(cfg_map_get(p->config, "model")->str, "gpt");
    ck_assert_int_eq(p->where->line, 10);
    ck_assert_int_eq(p->where->col, 3);
    ck_assert_ptr_null(conf_find(c, "backup")->config);
    ck_assert_str_eq(conf_find(c, "docs")->plugin, "retriever_sqlite");
    ck_assert_ptr_null(conf_find(c, "nope"));
    ck_assert_ptr_null(conf_find(c, NULL));
    conf_free(c);
}
END_TEST

START_TEST(test_all_defaults)
{
    rk_conf *c = load("instances:\n  a:\n    plugin: transport_http\n");
    ck_assert_ptr_nonnull(c);
    /* none: the registry searches beside the binary and the installed dir */
    ck_assert_uint_eq(cfg_values_count(c->server, "plugin_path"), 0);
    ck_assert_int_eq(cfg_values_int(c->pipeline, "top_k"), 5);
    ck_assert_uint_eq(cfg_values_count(c->pipeline, "llm"), 0);
    ck_assert_ptr_nonnull(cfg_values_string(c->pipeline, "system_prompt"));
    conf_free(c);
}
END_TEST

START_TEST(test_errors_collected)
{
    rk_conf *c = load("server:\n"
                      "  workers: many\n"
                      "pipeline:\n"
                      "  llm: [a, ghost]\n"
                      "  retriever: missing\n"
                      "  cache_ttl: 5 minutes\n"
                      "  colour: blue\n"
                      "instances:\n"
                      "  a:\n"
                      "    plugin: llm_extractive\n"
                      "    extra: 1\n"
                      "  bad name:\n"
                      "    plugin: cache_memory\n"
                      "  noplugin:\n"
                      "    config: {x: 1}\n"
                      "  cfgscalar:\n"
                      "    plugin: cache_memory\n"
                      "    config: nope\n"
                      "extras: 1\n");
    ck_assert_ptr_null(c);
    expect_line(0, "19:1: unknown top-level key 'extras' (known: server, pipeline, "
                   "instances, auth)");
    expect_line(1, "2:12: key 'workers': expected an integer, got 'many'");
    expect_line(2, "6:14: key 'cache_ttl': expected a duration like 30s or 250ms, "
                   "got '5 minutes'");
    ck_assert_ptr_nonnull(strstr(diag.lines[3], ":7:3: unknown key 'colour' (known keys: "
                                                "llm, retriever, cache, "));
    expect_line(4, "11:5: instance 'a': unknown key 'extra' (known: plugin, config)");
    expect_line(5, "12:3: instance name 'bad name' must match [A-Za-z0-9_-]+");
    expect_line(6, "14:3: instance 'noplugin': missing required key 'plugin'");
    expect_line(7, "18:13: instance 'cfgscalar': 'config' must be a mapping");
    expect_line(8, "4:12: pipeline.llm: no instance named 'ghost'");
    expect_line(9, "5:14: pipeline.retriever: no instance named 'missing'");
    ck_assert_uint_eq(diag.n, 10);
}
END_TEST

START_TEST(test_top_level_not_map)
{
    ck_assert_ptr_null(load("- a\n- b\n"));
    ck_assert_uint_eq(diag.n, 1);
    expect_line(0, "1:1: the top level must be a mapping with server, pipeline and "
                   "instances");
    cfg_diag_free(&diag);
    ck_assert_ptr_null(load("# nothing\n"));
    expect_line(0, "1:1: the top level must be a mapping with server, pipeline and "
                   "instances");
}
END_TEST

START_TEST(test_server_values)
{
    ck_assert_ptr_null(load("server:\n  log_level: loud\n  log_format: xml\n  workers: 0\n"
                            "  http_client: wget\n"));
    ck_assert_uint_eq(diag.n, 4);
    expect_line(0, "2:14: server.log_level: expected debug, info, warn or error, got 'loud'");
    expect_line(1, "3:15: server.log_format: expected logfmt or json, got 'xml'");
    expect_line(2, "5:16: server.http_client: expected builtin or libcurl, got 'wget'");
    expect_line(3, "4:12: server.workers: must be between 1 and 256");
}
END_TEST

START_TEST(test_ingest_values)
{
    rk_conf *c = load("instances:\n  a:\n    plugin: transport_http\n");
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(cfg_values_int(c->pipeline, "ingest_timeout"), 30000);
    ck_assert_uint_eq(cfg_values_count(c->pipeline, "extractors"), 0);
    conf_free(c);
    cfg_diag_free(&diag);
    memset(&diag, 0, sizeof diag);
    /* the pdftotext keys moved to extract_pdf: each is named with its new
     * place, and not also reported as unknown */
    ck_assert_ptr_null(load("pipeline:\n  pdftotext: pdftotext\n  ingest_timeout: 0\n"
                            "  pdftotext_max_memory: 1MB\n  pdftotext_max_parallel: 0\n"));
    ck_assert_uint_eq(diag.n, 4);
    expect_line(0, "2:3: pipeline.pdftotext moved: set `program` in an extract_pdf instance "
                   "(instances: {pdf: {plugin: extract_pdf, config: {program: ...}}})");
    expect_line(3, "3:19: pipeline.ingest_timeout: must be at least 1ms");
    expect_line(1, "4:3: pipeline.pdftotext_max_memory moved: set `max_memory` in an "
                   "extract_pdf instance (instances: {pdf: {plugin: extract_pdf, config: "
                   "{max_memory: ...}}})");
    expect_line(2, "5:3: pipeline.pdftotext_max_parallel moved: set `max_parallel` in an "
                   "extract_pdf instance (instances: {pdf: {plugin: extract_pdf, config: "
                   "{max_parallel: ...}}})");
}
END_TEST

/* The floors pipeline_new refuses at start, refused by conf_load too (so
 * by --check-config); conf_load_all still hands the conf back. */
START_TEST(test_pipeline_floors)
{
    ck_assert_ptr_null(load("pipeline:\n  top_k: 0\n  fast_top_k: -3\n  max_messages: 0\n"));
    ck_assert_uint_eq(diag.n, 3);
    expect_line(0, "2:10: pipeline.top_k: must be at least 1, got 0");
    expect_line(1, "3:15: pipeline.fast_top_k: must be at least 1, got -3");
    expect_line(2, "4:17: pipeline.max_messages: must be at least 1, got 0");
    cfg_diag_free(&diag);
    int errs = 0;
    rk_conf *c = conf_load_all(path, &diag, &errs);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(errs, 3);
    conf_free(c);
}
END_TEST

START_TEST(test_bad_plugin_and_sections)
{
    ck_assert_ptr_null(load("pipeline: [a]\ninstances:\n  x:\n    plugin: ../evil\n"
                            "  y: just-a-string\n"));
    ck_assert_uint_eq(diag.n, 3);
    expect_line(0, "1:11: expected a mapping, got a list");
    expect_line(1, "4:13: instance 'x': 'plugin' must be a plugin name matching "
                   "[a-z0-9_]+");
    expect_line(2, "5:6: instance 'y': expected a mapping with 'plugin' and 'config', "
                   "got a scalar");
}
END_TEST

START_TEST(test_syntax_error)
{
    ck_assert_ptr_null(load("server:\n  workers: 4\n   log_level: info\n"));
    ck_assert_uint_eq(diag.n, 1);
    expect_line(0, "3:13: mapping values are not allowed in this context");
}
END_TEST

START_TEST(test_interpolation_error)
{
    unsetenv("RKT_CONF_UNSET");
    ck_assert_ptr_null(load("server:\n  log_level: ${RKT_CONF_UNSET}\n"));
    ck_assert_uint_eq(diag.n, 1);
    expect_line(0, "2:14: environment variable 'RKT_CONF_UNSET' is not set");
}
END_TEST

START_TEST(test_missing_file)
{
    ck_assert_ptr_null(conf_load("/nonexistent/ragkernel.yaml", &diag));
    ck_assert_uint_eq(diag.n, 1);
    ck_assert_str_eq(diag.lines[0],
                     "/nonexistent/ragkernel.yaml: cannot open: No such file or directory");
}
END_TEST

START_TEST(test_shipped_default)
{
    char buf[4096];
    rk_conf *c = conf_load(repo_file("config/default.yaml", buf, sizeof buf), &diag);
    ck_assert_msg(c != NULL, "%s", diag.n ? diag.lines[0] : "no diagnostics");
    ck_assert_uint_ge(c->n_instances, 1);
    conf_free(c);
}
END_TEST

START_TEST(test_shipped_broken_example)
{
    char buf[4096];
    const char *file = repo_file("config/broken-example.yaml", buf, sizeof buf);
    ck_assert_ptr_null(conf_load(file, &diag));
    ck_assert_uint_ge(diag.n, 3);
    const char *want[] = {"unknown key 'wokers'", "key 'llm_timeout': expected a duration",
                          "pipeline.llm: no instance named 'gpt4'"};
    for (size_t w = 0; w < 3; w++) {
        int found = 0;
        for (size_t i = 0; i < diag.n; i++) {
            /* every line is file:line:col: message */
            int line = 0, col = 0, off = 0;
            ck_assert_int_eq(strncmp(diag.lines[i], file, strlen(file)), 0);
            ck_assert_int_eq(sscanf(diag.lines[i] + strlen(file), ":%d:%d: %n", &line, &col,
                                    &off), 2);
            ck_assert_int_gt(off, 0);
            found |= strstr(diag.lines[i], want[w]) != NULL;
        }
        ck_assert_msg(found, "no diagnostic with '%s'", want[w]);
    }
}
END_TEST

static Suite *conf_suite(void)
{
    Suite *s = suite_create("conf");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_valid);
    tcase_add_test(tc, test_all_defaults);
    tcase_add_test(tc, test_errors_collected);
    tcase_add_test(tc, test_top_level_not_map);
    tcase_add_test(tc, test_server_values);
    tcase_add_test(tc, test_bad_plugin_and_sections);
    tcase_add_test(tc, test_syntax_error);
    tcase_add_test(tc, test_interpolation_error);
    tcase_add_test(tc, test_ingest_values);
    tcase_add_test(tc, test_pipeline_floors);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_shipped_default);
    tcase_add_test(tc, test_shipped_broken_example);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(conf_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
