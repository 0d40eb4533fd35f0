/*
 * test_cfg — the YAML tree (positions, interpolation, aliases and their
 * limits, syntax errors), the scalar parsers and cfg_values validation.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"

static cfg_diag diag;

static void setup(void) { memset(&diag, 0, sizeof diag); }
static void teardown(void) { cfg_diag_free(&diag); }

static cfg_doc *load(const char *text)
{
    return cfg_load_string(text, strlen(text), "t.yaml", &diag);
}

static const char *scalar(const cfg_doc *doc, const char *key)
{
    const cfg_node *n = cfg_map_get(cfg_root(doc), key);
    return n && n->kind == CFG_SCALAR ? n->str : NULL;
}

/* The only diagnostic, which must be exactly `want`. */
#define ASSERT_ONE_DIAG(want)                                                  \
    do {                                                                       \
        ck_assert_uint_eq(diag.n, 1);                                          \
        ck_assert_str_eq(diag.lines[0], want);                                 \
    } while (0)

/* ---- diagnostics for --check-config ------------------------------------- */
START_TEST(test_tab_hint)
{
    ck_assert_ptr_null(load("a:\n\tb: 1\n"));
    ck_assert_uint_eq(diag.n, 1);
    ck_assert_msg(strstr(diag.lines[0], "t.yaml:2:1: ") == diag.lines[0], "%s", diag.lines[0]);
    ck_assert_msg(strstr(diag.lines[0], "tab"), "no hint about tabs: %s", diag.lines[0]);
    cfg_diag_free(&diag);
    ck_assert_ptr_null(load("a: 1\n  b: 2\n"));
    ck_assert_msg(!strstr(diag.lines[0], "tab"), "a hint without a tab: %s", diag.lines[0]);
}
END_TEST

START_TEST(test_diag_sort_and_located)
{
    cfg_diag_add(&diag, "c.yaml", 12, 3, "third");
    cfg_diag_add(&diag, "c.yaml", 2, 9, "second");
    cfg_diag_add(&diag, "c.yaml", 2, 1, "first");
    ck_assert_int_eq(cfg_diag_located(&diag, "c.yaml", "pipeline: ", "no position"), -1);
    ck_assert_int_eq(cfg_diag_located(&diag, "c.yaml", "instance 'h': ",
                                      "c.yaml:5:10: listen: bad port"), 0);
    ck_assert_int_eq(cfg_diag_located(&diag, "c.yaml", "", "other.yaml:5:10: x"), -1);
    ck_assert_uint_eq(diag.n, 4);
    cfg_diag_sort(&diag);
    ck_assert_str_eq(diag.lines[0], "c.yaml:2:1: first");
    ck_assert_str_eq(diag.lines[1], "c.yaml:2:9: second");
    ck_assert_str_eq(diag.lines[2], "c.yaml:5:10: instance 'h': listen: bad port");
    ck_assert_str_eq(diag.lines[3], "c.yaml:12:3: third");
    ck_assert_uint_eq(cfg_location_len("c.yaml:5:10: x", "c.yaml"), 11);
    ck_assert_uint_eq(cfg_location_len("c.yaml:5: x", "c.yaml"), 0);
}
END_TEST

/* ---- tree and positions ------------------------------------------------- */
START_TEST(test_positions)
{
    cfg_doc *doc = load("# comment\nserver:\n  workers: 4\n  name: 'x y'\n"
                        "list: [a, \"b\", c]\nblock: |\n  line1\n  line2\n");
    ck_assert_ptr_nonnull(doc);
    const cfg_node *root = cfg_root(doc);
    ck_assert_int_eq(root->kind, CFG_MAP);
    const cfg_node *srv = cfg_map_get(root, "server");
    ck_assert_int_eq(srv->kind, CFG_MAP);
    const cfg_node *w = cfg_map_get(srv, "workers");
    ck_assert_str_eq(w->str, "4");
    ck_assert_int_eq(w->line, 3);
    ck_assert_int_eq(w->col, 12);
    ck_assert_str_eq(w->file, "t.yaml");
    ck_assert_str_eq(cfg_map_get(srv, "name")->str, "x y");
    const cfg_node *l = cfg_map_get(root, "list");
    ck_assert_int_eq(l->kind, CFG_SEQ);
    ck_assert_uint_eq(l->n, 3);
    ck_assert_str_eq(l->items[1]->str, "b");
    ck_assert_int_eq(l->items[1]->line, 5);
    ck_assert_int_eq(l->items[1]->col, 11);
    ck_assert_str_eq(scalar(doc, "block"), "line1\nline2\n");
    ck_assert_ptr_null(cfg_map_get(root, "nope"));
    ck_assert_ptr_null(cfg_map_get(l, "a"));
    ck_assert_str_eq(cfg_file(doc), "t.yaml");
    cfg_free(doc);
}
END_TEST

START_TEST(test_syntax_error_position)
{
    ck_assert_ptr_null(load("a: 1\n  b: 2\n"));
    ASSERT_ONE_DIAG("t.yaml:2:4: mapping values are not allowed in this context");
    cfg_diag_free(&diag);
    ck_assert_ptr_null(load("a:\n  - x\n - y\n"));
    ASSERT_ONE_DIAG("t.yaml:3:2: did not find expected key (while parsing a block mapping)");
}
END_TEST

START_TEST(test_duplicate_key)
{
    ck_assert_ptr_null(load("a: 1\nb:\n  c: 1\n  d: 2\n  c: 3\n"));
    ASSERT_ONE_DIAG("t.yaml:5:3: duplicate key 'c' (first at line 3, column 3)");
}
END_TEST

START_TEST(test_non_scalar_key)
{
    ck_assert_ptr_null(load("ok: 1\n? [a, b]\n: 1\n"));
    ASSERT_ONE_DIAG("t.yaml:2:3: mapping keys must be scalars");
}
END_TEST

START_TEST(test_single_document)
{
    ck_assert_ptr_null(load("a: 1\n---\nb: 2\n"));
    ASSERT_ONE_DIAG("t.yaml:2:1: expected a single YAML document, found another");
    cfg_diag_free(&diag);
    cfg_doc *doc = load("# only a comment\n");
    ck_assert_ptr_nonnull(doc);
    ck_assert_ptr_null(cfg_root(doc));
    cfg_free(doc);
}
END_TEST

START_TEST(test_missing_file)
{
    ck_assert_ptr_null(cfg_load_file("/nonexistent/dir/x.yaml", &diag));
    ASSERT_ONE_DIAG("/nonexistent/dir/x.yaml: cannot open: No such file or directory");
}
END_TEST

START_TEST(test_size_cap)
{
    size_t len = 1024 * 1024 + 1;
    char *big = malloc(len + 1);
    ck_assert_ptr_nonnull(big);
    memset(big, '#', len);
    big[len] = '\0';
    ck_assert_ptr_null(cfg_load_string(big, len, "big.yaml", &diag));
    ck_assert_uint_eq(diag.n, 1);
    ck_assert_ptr_nonnull(strstr(diag.lines[0], "big.yaml:1:1: file is larger than 1 MiB"));
    free(big);
}
END_TEST

/* ---- interpolation ------------------------------------------------------ */
START_TEST(test_interp_set)
{
    setenv("RKT_SET", "hello", 1);
    setenv("RKT_NESTED", "${RKT_SET}", 1);
    cfg_doc *doc = load("a: ${RKT_SET}\nb: \"x-${RKT_SET}-y\"\nc: ${RKT_NESTED}\n"
                        "d: 'single ${RKT_SET}'\n");
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(scalar(doc, "a"), "hello");
    ck_assert_str_eq(scalar(doc, "b"), "x-hello-y");
    ck_assert_str_eq(scalar(doc, "c"), "${RKT_SET}"); /* not re-interpolated */
    ck_assert_str_eq(scalar(doc, "d"), "single hello");
    cfg_free(doc);
}
END_TEST

START_TEST(test_interp_unset)
{
    unsetenv("RKT_UNSET");
    ck_assert_ptr_null(load("ok: 1\nkey:\n  inner: \"pre ${RKT_UNSET}\"\n"));
    ASSERT_ONE_DIAG("t.yaml:3:10: environment variable 'RKT_UNSET' is not set");
}
END_TEST

START_TEST(test_interp_default)
{
    unsetenv("RKT_UNSET");
    setenv("RKT_EMPTY", "", 1);
    setenv("RKT_SET", "v", 1);
    cfg_doc *doc = load("a: ${RKT_UNSET:-fallback}\nb: ${RKT_EMPTY:-e}\n"
                        "c: ${RKT_SET:-unused}\nd: ${RKT_UNSET:-}\ne: ${RKT_EMPTY}\n");
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(scalar(doc, "a"), "fallback");
    ck_assert_str_eq(scalar(doc, "b"), "e");
    ck_assert_str_eq(scalar(doc, "c"), "v");
    ck_assert_str_eq(scalar(doc, "d"), "");
    ck_assert_str_eq(scalar(doc, "e"), "");
    cfg_free(doc);
}
END_TEST

START_TEST(test_interp_dollar)
{
    cfg_doc *doc = load("a: cost $$5\nb: $${NOT_A_VAR}\nc: a$b\nd: end$\n");
    ck_assert_ptr_nonnull(doc);
    ck_assert_str_eq(scalar(doc, "a"), "cost $5");
    ck_assert_str_eq(scalar(doc, "b"), "${NOT_A_VAR}");
    ck_assert_str_eq(scalar(doc, "c"), "a$b");
    ck_assert_str_eq(scalar(doc, "d"), "end$");
    cfg_free(doc);
}
END_TEST

START_TEST(test_interp_unterminated)
{
    ck_assert_ptr_null(load("a: 1\nb: x${RKT_SET\n"));
    ASSERT_ONE_DIAG("t.yaml:2:4: unterminated '${' (missing '}')");
    cfg_diag_free(&diag);
    ck_assert_ptr_null(load("a: ${}\n"));
    ASSERT_ONE_DIAG("t.yaml:1:4: invalid variable name in '${}'");
}
END_TEST

START_TEST(test_interp_collects_errors)
{
    unsetenv("RKT_U1");
    unsetenv("RKT_U2");
    ck_assert_ptr_null(load("a: ${RKT_U1}\nb: [\"${RKT_U2}\"]\n"));
    ck_assert_uint_eq(diag.n, 2);
    ck_assert_str_eq(diag.lines[0], "t.yaml:1:4: environment variable 'RKT_U1' is not set");
    ck_assert_str_eq(diag.lines[1], "t.yaml:2:5: environment variable 'RKT_U2' is not set");
}
END_TEST

/* ---- aliases ------------------------------------------------------------ */
START_TEST(test_alias_copy)
{
    cfg_doc *doc = load("base: &b\n  x: 1\n  y: [p, q]\nother: *b\nname: &n hi\n"
                        "again: *n\n");
    ck_assert_ptr_nonnull(doc);
    const cfg_node *o = cfg_map_get(cfg_root(doc), "other");
    ck_assert_int_eq(o->kind, CFG_MAP);
    ck_assert_str_eq(cfg_map_get(o, "x")->str, "1");
    ck_assert_str_eq(cfg_map_get(o, "y")->items[1]->str, "q");
    ck_assert_ptr_ne(o, cfg_map_get(cfg_root(doc), "base")); /* a copy */
    ck_assert_str_eq(scalar(doc, "again"), "hi");
    cfg_free(doc);
}
END_TEST

START_TEST(test_alias_unknown)
{
    ck_assert_ptr_null(load("a: *nope\n"));
    ASSERT_ONE_DIAG("t.yaml:1:4: alias '*nope' does not refer to an anchor defined earlier");
    cfg_diag_free(&diag);
    ck_assert_ptr_null(load("a: &self [1, *self]\n"));
    ck_assert_uint_eq(diag.n, 1);
}
END_TEST

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(test_alias_bomb)
{
    /* nine levels of nine aliases each: 9^9 (387M) scalars if expanded */
    char text[4096];
    size_t off = (size_t)snprintf(text, sizeof text, "l0: &l0 [lol, lol, lol, lol, lol, "
                                                     "lol, lol, lol, lol]\n");
    for (int i = 1; i <= 9; i++) {
        off += (size_t)snprintf(text + off, sizeof text - off, "l%d: &l%d [", i, i);
        for (int j = 0; j < 9; j++)
            off += (size_t)snprintf(text + off, sizeof text - off, "%s*l%d",
                                    j ? ", " : "", i - 1);
        off += (size_t)snprintf(text + off, sizeof text - off, "]\n");
    }
    ck_assert_uint_lt(off, sizeof text);
    double t0 = now_s();
    cfg_doc *doc = load(text);
    double elapsed = now_s() - t0;
    ck_assert_ptr_null(doc);
    ck_assert_uint_eq(diag.n, 1);
    /* l0..l4 hold about 75k nodes; copying l4 (66k) again, at l5's first
     * alias (line 6, column 10), would pass 100k */
    ck_assert_msg(strncmp(diag.lines[0], "t.yaml:6:10: ", 13) == 0, "%s", diag.lines[0]);
    ck_assert_ptr_nonnull(strstr(diag.lines[0], "alias '*l4' would expand the document "
                                                "beyond 100000 nodes"));
    ck_assert_msg(elapsed < 1.0, "took %.3fs", elapsed);
}
END_TEST

START_TEST(test_depth_limit)
{
    char text[512] = "a: ";
    for (int i = 0; i < 70; i++) strcat(text, "[");
    for (int i = 0; i < 70; i++) strcat(text, "]");
    ck_assert_ptr_null(load(text));
    ck_assert_uint_eq(diag.n, 1);
    ck_assert_ptr_nonnull(strstr(diag.lines[0], "nesting deeper than 64 levels"));
    cfg_diag_free(&diag);
    /* 40 levels behind an anchor, used 30 levels deep: over 64 after expansion */
    char deep[1024] = "a: &d ";
    for (int i = 0; i < 40; i++) strcat(deep, "[");
    for (int i = 0; i < 40; i++) strcat(deep, "]");
    strcat(deep, "\nb: ");
    for (int i = 0; i < 30; i++) strcat(deep, "[");
    strcat(deep, "*d");
    for (int i = 0; i < 30; i++) strcat(deep, "]");
    ck_assert_ptr_null(load(deep));
    ck_assert_uint_eq(diag.n, 1);
    ck_assert_ptr_nonnull(strstr(diag.lines[0], "alias '*d' would nest deeper than 64"));
}
END_TEST

/* ---- scalar parsers ----------------------------------------------------- */
START_TEST(test_parse_bool)
{
    const char *t[] = {"true", "TRUE", "yes", "On"}, *f[] = {"false", "No", "off", "OFF"};
    int v = -1;
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(cfg_parse_bool(t[i], &v), 0);
        ck_assert_int_eq(v, 1);
        ck_assert_int_eq(cfg_parse_bool(f[i], &v), 0);
        ck_assert_int_eq(v, 0);
    }
    ck_assert_int_eq(cfg_parse_bool("1", &v), -1);
    ck_assert_int_eq(cfg_parse_bool("", &v), -1);
    ck_assert_int_eq(cfg_parse_bool("yess", &v), -1);
}
END_TEST

START_TEST(test_parse_int_double)
{
    int64_t i;
    double d;
    ck_assert_int_eq(cfg_parse_int("42", &i), 0);
    ck_assert_int_eq(i, 42);
    ck_assert_int_eq(cfg_parse_int("-7", &i), 0);
    ck_assert_int_eq(i, -7);
    ck_assert_int_eq(cfg_parse_int("+9223372036854775807", &i), 0);
    ck_assert_int_eq(i, INT64_MAX);
    ck_assert_int_eq(cfg_parse_int("9223372036854775808", &i), -1);
    ck_assert_int_eq(cfg_parse_int("-9223372036854775809", &i), -1);
    ck_assert_int_eq(cfg_parse_int("12a", &i), -1);
    ck_assert_int_eq(cfg_parse_int(" 1", &i), -1);
    ck_assert_int_eq(cfg_parse_int("", &i), -1);
    ck_assert_int_eq(cfg_parse_int("-", &i), -1);
    ck_assert_int_eq(cfg_parse_double("0.25", &d), 0);
    ck_assert_double_eq(d, 0.25);
    ck_assert_int_eq(cfg_parse_double("-1e3", &d), 0);
    ck_assert_double_eq(d, -1000.0);
    ck_assert_int_eq(cfg_parse_double("nan", &d), -1);
    ck_assert_int_eq(cfg_parse_double("1e999", &d), -1);
    ck_assert_int_eq(cfg_parse_double("1.5x", &d), -1);
}
END_TEST

START_TEST(test_parse_duration)
{
    struct { const char *s; int64_t ms; } ok[] = {
        {"250ms", 250}, {"30s", 30000}, {"2m", 120000}, {"1h", 3600000},
        {"1500", 1500}, {"1.5s", 1500}, {"0", 0}, {"0.5m", 30000}};
    const char *bad[] = {"abc", "", "-5s", "10x", "1.5", "s", "1.s", "30 s", "5M",
                         "99999999999999999999ms", "9223372036854775807h"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        int64_t ms = -1;
        ck_assert_msg(cfg_parse_duration(ok[i].s, &ms) == 0, "%s", ok[i].s);
        ck_assert_int_eq(ms, ok[i].ms);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t ms;
        ck_assert_msg(cfg_parse_duration(bad[i], &ms) == -1, "accepted %s", bad[i]);
    }
}
END_TEST

START_TEST(test_parse_size)
{
    struct { const char *s; int64_t b; } ok[] = {
        {"512", 512}, {"64k", 65536}, {"64KB", 65536}, {"64KiB", 65536},
        {"10MB", 10485760}, {"1G", 1073741824}, {"1GiB", 1073741824},
        {"1.5k", 1536}, {"100b", 100}, {"2t", 2199023255552LL}};
    const char *bad[] = {"abc", "", "-1k", "1.5", "10XB", "k", "16777216TB"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        int64_t b = -1;
        ck_assert_msg(cfg_parse_size(ok[i].s, &b) == 0, "%s", ok[i].s);
        ck_assert_int_eq(b, ok[i].b);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t b;
        ck_assert_msg(cfg_parse_size(bad[i], &b) == -1, "accepted %s", bad[i]);
    }
}
END_TEST

/* ---- cfg_values --------------------------------------------------------- */
static const rk_config_key schema[] = {
    {"url", RK_CFG_STRING, NULL, 1, "required"},
    {"timeout", RK_CFG_DURATION, "30s", 0, ""},
    {"retries", RK_CFG_INT, "3", 0, ""},
    {"ratio", RK_CFG_DOUBLE, "0.5", 0, ""},
    {"verbose", RK_CFG_BOOL, "false", 0, ""},
    {"max_body", RK_CFG_SIZE, "1MB", 0, ""},
    {"hosts", RK_CFG_LIST, "a, b,c", 0, ""},
    {"headers", RK_CFG_MAP, NULL, 0, ""},
    {NULL, 0, NULL, 0, NULL}};

START_TEST(test_values_defaults_and_getters)
{
    cfg_doc *doc = load("inst:\n  url: http://x\n  retries: 7\n  verbose: yes\n"
                        "  headers: {A: '1', B: two}\n");
    ck_assert_ptr_nonnull(doc);
    const cfg_node *at = cfg_map_get(cfg_root(doc), "inst");
    cfg_values *v = cfg_values_build(at, schema, at, &diag);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(diag.n, 0);
    ck_assert_str_eq(cfg_values_string(v, "url"), "http://x");
    ck_assert_int_eq(cfg_values_int(v, "timeout"), 30000);
    ck_assert_str_eq(cfg_values_string(v, "timeout"), "30s");
    ck_assert_int_eq(cfg_values_int(v, "retries"), 7);
    ck_assert_double_eq(cfg_values_double(v, "ratio"), 0.5);
    ck_assert_int_eq(cfg_values_bool(v, "verbose"), 1);
    ck_assert_int_eq(cfg_values_int(v, "max_body"), 1048576);
    ck_assert_uint_eq(cfg_values_count(v, "hosts"), 3);
    ck_assert_str_eq(cfg_values_item(v, "hosts", 0), "a");
    ck_assert_str_eq(cfg_values_item(v, "hosts", 1), "b");
    ck_assert_str_eq(cfg_values_item(v, "hosts", 2), "c");
    ck_assert_ptr_null(cfg_values_item(v, "hosts", 3));
    ck_assert_uint_eq(cfg_values_count(v, "headers"), 2);
    ck_assert_str_eq(cfg_values_item_key(v, "headers", 1), "B");
    ck_assert_str_eq(cfg_values_item(v, "headers", 1), "two");
    /* keys outside the schema: NULL / 0, never a crash */
    ck_assert_ptr_null(cfg_values_string(v, "nope"));
    ck_assert_int_eq(cfg_values_int(v, "nope"), 0);
    ck_assert_int_eq(cfg_values_bool(v, "nope"), 0);
    ck_assert_uint_eq(cfg_values_count(v, "nope"), 0);
    ck_assert_ptr_null(cfg_values_item(v, "nope", 0));
    ck_assert_ptr_null(cfg_values_string(v, NULL));
    char buf[64];
    ck_assert_str_eq(cfg_values_where(v, "retries", buf, sizeof buf), "t.yaml:3:12");
    ck_assert_str_eq(cfg_values_where(v, "timeout", buf, sizeof buf), "t.yaml:2:3");
    ck_assert_str_eq(cfg_values_where(v, NULL, buf, sizeof buf), "t.yaml:2:3");
    cfg_values_free(v);
    cfg_free(doc);
}
END_TEST

START_TEST(test_values_null_map)
{
    static const rk_config_key opt[] = {{"n", RK_CFG_INT, "5", 0, ""},
                                        {"s", RK_CFG_STRING, NULL, 0, ""},
                                        {NULL, 0, NULL, 0, NULL}};
    cfg_values *v = cfg_values_build(NULL, opt, NULL, &diag);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(cfg_values_int(v, "n"), 5);
    ck_assert_ptr_null(cfg_values_string(v, "s"));
    cfg_values_free(v);
    ck_assert_ptr_null(cfg_values_string(NULL, "n"));
}
END_TEST

START_TEST(test_values_unknown_key)
{
    static const rk_config_key small[] = {{"a", RK_CFG_STRING, NULL, 0, ""},
                                          {"b", RK_CFG_INT, NULL, 0, ""},
                                          {"c", RK_CFG_BOOL, NULL, 0, ""},
                                          {NULL, 0, NULL, 0, NULL}};
    cfg_doc *doc = load("x:\n  a: 1\n  foo: 2\n");
    const cfg_node *at = cfg_map_get(cfg_root(doc), "x");
    ck_assert_ptr_null(cfg_values_build(at, small, at, &diag));
    ASSERT_ONE_DIAG("t.yaml:3:3: unknown key 'foo' (known keys: a, b, c)");
    cfg_free(doc);
}
END_TEST

START_TEST(test_values_type_errors)
{
    cfg_doc *doc = load("x:\n  url: [a]\n  timeout: abc\n  retries: 1.5\n"
                        "  verbose: maybe\n  max_body: lots\n  ratio: high\n"
                        "  hosts: {a: b}\n  headers: [a]\n");
    ck_assert_ptr_nonnull(doc);
    const cfg_node *at = cfg_map_get(cfg_root(doc), "x");
    ck_assert_ptr_null(cfg_values_build(at, schema, at, &diag));
    const char *want[] = {
        "t.yaml:2:8: key 'url': expected a string, got a list",
        "t.yaml:3:12: key 'timeout': expected a duration like 30s or 250ms, got 'abc'",
        "t.yaml:4:12: key 'retries': expected an integer, got '1.5'",
        "t.yaml:5:12: key 'verbose': expected true or false, got 'maybe'",
        "t.yaml:6:13: key 'max_body': expected a size like 512, 64k or 10MB, got 'lots'",
        "t.yaml:7:10: key 'ratio': expected a number, got 'high'",
        "t.yaml:8:10: key 'hosts': expected a list of scalars, got a mapping",
        "t.yaml:9:12: key 'headers': expected a mapping of scalars, got a list"};
    ck_assert_uint_eq(diag.n, sizeof want / sizeof *want);
    for (size_t i = 0; i < diag.n; i++) ck_assert_str_eq(diag.lines[i], want[i]);
    cfg_free(doc);
}
END_TEST

START_TEST(test_values_missing_required)
{
    cfg_doc *doc = load("instances:\n  one:\n    timeout: 1s\n");
    const cfg_node *inst = cfg_map_get(cfg_root(doc), "instances");
    const cfg_node *at = inst->keys[0], *map = inst->items[0];
    ck_assert_ptr_null(cfg_values_build(map, schema, at, &diag));
    ASSERT_ONE_DIAG("t.yaml:2:3: missing required key 'url'");
    cfg_free(doc);
}
END_TEST

START_TEST(test_values_list_forms)
{
    cfg_doc *doc = load("x:\n  url: u\n  hosts: [one, two]\ny:\n  url: u\n  hosts: solo\n"
                        "z:\n  url: u\n  hosts: [[nested]]\n");
    ck_assert_ptr_nonnull(doc);
    cfg_values *v = cfg_values_build(cfg_map_get(cfg_root(doc), "x"), schema, NULL, &diag);
    ck_assert_uint_eq(cfg_values_count(v, "hosts"), 2);
    ck_assert_str_eq(cfg_values_item(v, "hosts", 1), "two");
    ck_assert_ptr_null(cfg_values_item_key(v, "hosts", 1));
    cfg_values_free(v);
    v = cfg_values_build(cfg_map_get(cfg_root(doc), "y"), schema, NULL, &diag);
    ck_assert_uint_eq(cfg_values_count(v, "hosts"), 1);
    ck_assert_str_eq(cfg_values_item(v, "hosts", 0), "solo");
    cfg_values_free(v);
    ck_assert_ptr_null(cfg_values_build(cfg_map_get(cfg_root(doc), "z"), schema, NULL, &diag));
    ASSERT_ONE_DIAG("t.yaml:9:11: key 'hosts': expected a scalar here, got a list");
    cfg_free(doc);
}
END_TEST

START_TEST(test_values_not_a_map)
{
    cfg_doc *doc = load("x: [1, 2]\n");
    ck_assert_ptr_null(cfg_values_build(cfg_map_get(cfg_root(doc), "x"), schema, NULL,
                                        &diag));
    ck_assert_uint_ge(diag.n, 1);
    ck_assert_str_eq(diag.lines[0], "t.yaml:1:4: expected a mapping, got a list");
    cfg_free(doc);
}
END_TEST

START_TEST(test_diag_format)
{
    cfg_diag_add(&diag, "f.yaml", 3, 7, "bad %s", "thing");
    cfg_diag_add(&diag, "f.yaml", 0, 0, "cannot open: %s", "nope");
    ck_assert_uint_eq(diag.n, 2);
    ck_assert_str_eq(diag.lines[0], "f.yaml:3:7: bad thing");
    ck_assert_str_eq(diag.lines[1], "f.yaml: cannot open: nope");
}
END_TEST

static Suite *cfg_suite(void)
{
    Suite *s = suite_create("cfg");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 10);
    tcase_add_test(tc, test_positions);
    tcase_add_test(tc, test_syntax_error_position);
    tcase_add_test(tc, test_duplicate_key);
    tcase_add_test(tc, test_non_scalar_key);
    tcase_add_test(tc, test_single_document);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_size_cap);
    tcase_add_test(tc, test_interp_set);
    tcase_add_test(tc, test_interp_unset);
    tcase_add_test(tc, test_interp_default);
    tcase_add_test(tc, test_interp_dollar);
    tcase_add_test(tc, test_interp_unterminated);
    tcase_add_test(tc, test_interp_collects_errors);
    tcase_add_test(tc, test_alias_copy);
    tcase_add_test(tc, test_alias_unknown);
    tcase_add_test(tc, test_alias_bomb);
    tcase_add_test(tc, test_depth_limit);
    tcase_add_test(tc, test_parse_bool);
    tcase_add_test(tc, test_parse_int_double);
    tcase_add_test(tc, test_parse_duration);
    tcase_add_test(tc, test_parse_size);
    tcase_add_test(tc, test_values_defaults_and_getters);
    tcase_add_test(tc, test_values_null_map);
    tcase_add_test(tc, test_values_unknown_key);
    tcase_add_test(tc, test_values_type_errors);
    tcase_add_test(tc, test_values_missing_required);
    tcase_add_test(tc, test_values_list_forms);
    tcase_add_test(tc, test_values_not_a_map);
    tcase_add_test(tc, test_diag_format);
    tcase_add_test(tc, test_tab_hint);
    tcase_add_test(tc, test_diag_sort_and_located);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cfg_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
