/*
 * test_cfg_values — the config scalar parsers (bool, int, double,
 * duration, size) and cfg_values: defaults and typed getters, unknown keys,
 * type errors, required keys, list forms, and the diagnostics' format
 * (cfg_fixture.h).
 */
#include "cfg_fixture.h"

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

static Suite *suite(void)
{
    Suite *s = suite_create("cfg_values");
    ph_add_tcase(s, "values", 4, setup, teardown,
                 PH_TESTS(test_parse_bool, test_parse_int_double, test_parse_duration,
                          test_parse_size, test_values_defaults_and_getters,
                          test_values_null_map, test_values_unknown_key,
                          test_values_type_errors, test_values_missing_required,
                          test_values_list_forms, test_values_not_a_map, test_diag_format));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
