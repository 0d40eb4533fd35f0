/* test_auth — API keys (hashing, wiping, scopes, errors) and rate limits. */
#define _GNU_SOURCE
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cfg.h"
#include "ratelimit.h"

static const char *YAML =
    "auth:\n"
    "  keys:\n"
    "    alice:\n"
    "      key: alice-secret-123\n"
    "      tenant: acme\n"
    "      scopes: [chat, documents:read]\n"
    "      requests_per_min: 60\n"
    "    bob:\n"
    /* sha256("bob-secret-456") */
    "      key_sha256: 6a4d8dfc4bcd0ba1b7b8e6e76fa7d58d9f7aaf8af8a37dc6a4e7a5e1b4b0b0f0\n"
    "      tenant: beta\n";

static cfg_doc *load(const char *text, cfg_diag *d)
{
    return cfg_load_string(text, strlen(text), "t.yaml", d);
}

START_TEST(keys_are_hashed_and_wiped)
{
    cfg_diag d = {0};
    cfg_doc *doc = load(YAML, &d);
    ck_assert_ptr_nonnull(doc);
    cfg_node *sec = (cfg_node *)cfg_map_get(cfg_root(doc), "auth");
    auth *a = auth_new(sec, &d);
    ck_assert_ptr_nonnull(a);
    const cfg_node *k = cfg_map_get(cfg_map_get(cfg_map_get(sec, "keys"), "alice"), "key");
    ck_assert_int_eq(k->str[0], 0); /* the plaintext is gone from the tree */
    ck_assert_int_eq(auth_required(a), 1);

    rk_principal who;
    rk_err err = {{0}};
    ck_assert_int_eq(auth_check(a, "alice-secret-123", &who, &err), RK_OK);
    ck_assert_str_eq(who.tenant, "acme");
    ck_assert_str_eq(who.key_id, "alice");
    ck_assert_uint_eq(who.scopes, RK_SCOPE_CHAT | RK_SCOPE_DOCS_READ);
    ck_assert_int_eq(auth_check(a, "alice-secret-124", &who, &err), RK_ERR_AUTH);
    ck_assert_str_eq(err.msg, "invalid API key");
    ck_assert_int_eq(auth_check(a, NULL, &who, &err), RK_ERR_AUTH);
    ck_assert_ptr_nonnull(strstr(err.msg, "missing API key"));
    int64_t rpm, tpm;
    ck_assert_int_eq(auth_limits(a, "alice", &rpm, &tpm), 0);
    ck_assert_int_eq(rpm, 60);
    ck_assert_int_eq(tpm, 0);
    auth_free(a);
    cfg_free(doc);
    cfg_diag_free(&d);
}
END_TEST

START_TEST(no_keys_means_default_tenant)
{
    rk_principal who;
    rk_err err = {{0}};
    ck_assert_int_eq(auth_check(NULL, NULL, &who, &err), RK_OK);
    ck_assert_str_eq(who.tenant, "default");
    ck_assert_uint_eq(who.scopes, RK_SCOPE_ALL);
}
END_TEST

START_TEST(errors_name_line_and_column)
{
    cfg_diag d = {0};
    cfg_doc *doc = load("auth:\n  keys:\n    x:\n      key: short\n      scopes: [chat, root]\n"
                        "    y:\n      tenant: ok\n  colour: red\n",
                        &d);
    ck_assert_ptr_nonnull(doc);
    auth *a = auth_new((cfg_node *)cfg_map_get(cfg_root(doc), "auth"), &d);
    ck_assert_ptr_null(a);
    ck_assert_uint_ge(d.n, 3);
    int seen_scope = 0, seen_both = 0, seen_unknown = 0;
    for (size_t i = 0; i < d.n; i++) {
        seen_scope |= strstr(d.lines[i], "unknown scope 'root'") != NULL;
        seen_both |= strstr(d.lines[i], "t.yaml:7:7: auth key 'y': give exactly one of key or key_sha256") != NULL;
        seen_unknown |= strstr(d.lines[i], "t.yaml:8:3: auth: unknown key 'colour'") != NULL;
    }
    ck_assert(seen_scope && seen_both && seen_unknown);
    cfg_free(doc);
    cfg_diag_free(&d);
}
END_TEST

/* auth.refresh: a duration, checked with its position, default 2 s. */
START_TEST(refresh_is_checked)
{
    cfg_diag d = {0};
    cfg_doc *doc = load("auth:\n  refresh: 500ms\n", &d);
    auth *a = auth_new((cfg_node *)cfg_map_get(cfg_root(doc), "auth"), &d);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(auth_refresh_ms(a), 500);
    auth_free(a);
    cfg_free(doc);
    ck_assert_int_eq(auth_refresh_ms(NULL), 2000);
    static const char *const bad[] = {"auth:\n  refresh: 5\n", "auth:\n  refresh: 2h\n",
                                      "auth:\n  refresh: soon\n", "auth:\n  refresh: [1s]\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        doc = load(bad[i], &d);
        ck_assert_ptr_null(auth_new((cfg_node *)cfg_map_get(cfg_root(doc), "auth"), &d));
        ck_assert_uint_eq(d.n, 1);
        ck_assert_ptr_nonnull(strstr(d.lines[0], "t.yaml:2:12: auth.refresh: expected a duration"));
        cfg_diag_free(&d);
        cfg_free(doc);
    }
}
END_TEST

START_TEST(local_limits_refuse_then_recover)
{
    ratelimit_reset();
    int64_t retry = 0;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(ratelimit_take(NULL, "req:k", 3, 1, 0, &retry), RK_OK);
    ck_assert_int_eq(ratelimit_take(NULL, "req:k", 3, 1, 0, &retry), RK_ERR_RATE_LIMITED);
    ck_assert(retry > 15000 && retry <= 20000);
    ck_assert_int_eq(ratelimit_take(NULL, "req:other", 3, 1, 0, &retry), RK_OK);
    ck_assert_int_eq(ratelimit_take(NULL, "req:k", 0, 1, 0, &retry), RK_OK); /* 0 = unlimited */
    ratelimit_reset();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("auth");
    tcase_add_test(tc, keys_are_hashed_and_wiped);
    tcase_add_test(tc, no_keys_means_default_tenant);
    tcase_add_test(tc, errors_name_line_and_column);
    tcase_add_test(tc, refresh_is_checked);
    tcase_add_test(tc, local_limits_refuse_then_recover);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
