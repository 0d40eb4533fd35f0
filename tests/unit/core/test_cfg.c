/*
 * test_cfg — the YAML tree: diagnostics for --check-config, positions,
 * syntax errors, interpolation, aliases and their limits. The scalar
 * parsers and cfg_values validation are test_cfg_values.
 */
#include "cfg_fixture.h"

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

static Suite *suite(void)
{
    Suite *s = suite_create("cfg");
    ph_add_tcase(s, "core", 4, setup, teardown,
                 PH_TESTS(test_positions, test_syntax_error_position, test_duplicate_key,
                          test_non_scalar_key, test_single_document, test_missing_file,
                          test_size_cap, test_interp_set, test_interp_unset,
                          test_interp_default, test_interp_dollar, test_interp_unterminated,
                          test_interp_collects_errors, test_alias_copy, test_alias_unknown,
                          test_alias_bomb, test_depth_limit, test_tab_hint,
                          test_diag_sort_and_located));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
