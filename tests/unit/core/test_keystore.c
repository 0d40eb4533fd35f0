/* test_keystore — API keys stored in the history store (keystore, keyadmin,
 * auth_check_with): config and stored keys merged, a revocation made by
 * another host seen at the next refresh (the snapshot answers until then,
 * the refresh thread brings it within its interval), rotation with a
 * grace, expiry, auth turned on by the first stored key, a history plugin
 * without the slots, and nothing but digests in the store. Runs the real
 * history_sqlite plugin through a registry. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "conf.h"
#include "hostapi.h"
#include "keyadmin.h"
#include "keystore.h"
#include "loop.h"
#include "registry.h"
#include "tmpdir.h"

static registry *reg;
static char dir[256], path[300];

static void setup(void)
{
    const char *b = getenv("BUILD");
    ph_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/c.yaml", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "server: {plugin_path: [\"%s/plugins\", \"%s/test-plugins\"], log_level: error}\n"
               "pipeline: {history: h}\n"
               "instances:\n  h: {plugin: history_sqlite, config: {path: \"%s/h.sqlite\"}}\n"
               "  old: {plugin: good_history}\n", b ? b : "build", b ? b : "build", dir);
    fclose(f);
    cfg_diag d = {0};
    rk_conf *c = conf_load(path, &d);
    ck_assert_ptr_nonnull(c);
    reg = registry_build(c, hostapi_table(), &d);
    for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.lines[i]);
    ck_assert_ptr_nonnull(reg);
    cfg_diag_free(&d);
}

static void teardown(void) { registry_unref(reg); }

typedef struct made {
    char id[65], secret[128];
    int64_t grace_until;
} made;

static void on_made(void *ud, const rk_api_key *k, const char *secret)
{
    made *m = ud;
    snprintf(m->id, sizeof m->id, "%s", k->id);
    snprintf(m->secret, sizeof m->secret, "%s", secret);
    m->grace_until = k->grace_until_ms;
}

static made create(keystore *ks, const char *tenant, uint32_t scopes, int64_t expires_in_ms)
{
    rk_api_key_spec s = {.struct_size = sizeof s, .name = "bot", .tenant = tenant,
                         .scopes = scopes, .expires_in_ms = expires_in_ms};
    made m;
    memset(&m, 0, sizeof m);
    rk_err err = {{0}};
    ck_assert_int_eq(keyadmin_create(ks, &s, on_made, &m, &err), RK_OK);
    return m;
}

static auth *yaml_auth(cfg_doc **doc, const char *text)
{
    cfg_diag d = {0};
    *doc = cfg_load_string(text, strlen(text), "a.yaml", &d);
    ck_assert_ptr_nonnull(*doc);
    auth *a = auth_new((cfg_node *)cfg_map_get(cfg_root(*doc), "auth"), &d);
    ck_assert_ptr_nonnull(a);
    cfg_diag_free(&d);
    return a;
}

static int check_key(const auth *a, keystore *ks, const char *key, rk_principal *who)
{
    rk_err err = {{0}};
    return auth_check_with(a, ks, key, who, &err);
}

START_TEST(config_and_stored_keys_merge)
{
    cfg_doc *doc;
    auth *a = yaml_auth(&doc, "auth:\n  keys:\n    alice: {key: alice-secret-1, tenant: acme}\n");
    keystore *ks = keystore_new(registry_get(reg, "h"), 60000, NULL);
    ck_assert_ptr_nonnull(ks);
    made m = create(ks, "beta", RK_SCOPE_CHAT, 0);
    ck_assert_int_eq(strncmp(m.secret, "rk_", 3), 0);
    ck_assert_int_eq(strncmp(m.id, "key_", 4), 0);
    rk_principal who;
    ck_assert_int_eq(check_key(a, ks, "alice-secret-1", &who), RK_OK);
    ck_assert_str_eq(who.key_id, "alice");
    ck_assert_str_eq(who.tenant, "acme");
    /* the store's key works on the host that made it at once */
    ck_assert_int_eq(check_key(a, ks, m.secret, &who), RK_OK);
    ck_assert_str_eq(who.key_id, m.id);
    ck_assert_str_eq(who.tenant, "beta");
    ck_assert_uint_eq(who.scopes, RK_SCOPE_CHAT);
    ck_assert_int_eq(check_key(a, ks, "rk_0000", &who), RK_ERR_AUTH);
    /* without the store only the config key is known */
    ck_assert_int_eq(check_key(a, NULL, m.secret, &who), RK_ERR_AUTH);
    keystore_unref(ks);
    auth_free(a);
    cfg_free(doc);
}
END_TEST

/* Another host revokes: this host's snapshot answers until it reloads. */
START_TEST(revocation_by_another_host_at_refresh)
{
    keystore *ks = keystore_new(registry_get(reg, "h"), 60000, NULL); /* no timed refresh here */
    made m = create(ks, "acme", RK_SCOPE_CHAT, 0);
    rk_instance *h = registry_get(reg, "h");
    const rk_history_vtable *vt = h->plugin->vtable;
    rk_err err = {{0}};
    ck_assert_int_eq(vt->key_revoke(h->ctx, m.id, clock_wall_ms(), &err), RK_OK);
    rk_principal who;
    ck_assert_int_eq(check_key(NULL, ks, m.secret, &who), RK_OK); /* not reloaded yet */
    ck_assert_int_eq(keystore_refresh(ks, &err), RK_OK);
    ck_assert_int_eq(check_key(NULL, ks, m.secret, &who), RK_ERR_AUTH);
    keystore_unref(ks);

    /* with a 100 ms refresh the thread alone brings the revocation */
    ks = keystore_new(h, 100, NULL);
    m = create(ks, "acme", RK_SCOPE_CHAT, 0);
    ck_assert_int_eq(vt->key_revoke(h->ctx, m.id, clock_wall_ms(), &err), RK_OK);
    int64_t end = clock_now_ms() + 5000;
    while (check_key(NULL, ks, m.secret, &who) == RK_OK && clock_now_ms() < end) usleep(20000);
    ck_assert_int_eq(check_key(NULL, ks, m.secret, &who), RK_ERR_AUTH);
    keystore_unref(ks);
}
END_TEST

START_TEST(rotation_grace_and_expiry)
{
    keystore *ks = keystore_new(registry_get(reg, "h"), 60000, NULL);
    made m = create(ks, "acme", RK_SCOPE_CHAT, 0);
    made r, g;
    memset(&r, 0, sizeof r);
    memset(&g, 0, sizeof g);
    rk_err err = {{0}};
    ck_assert_int_eq(keyadmin_rotate(ks, m.id, 0, on_made, &r, &err), RK_OK);
    rk_principal who;
    ck_assert_int_eq(check_key(NULL, ks, m.secret, &who), RK_ERR_AUTH);
    ck_assert_int_eq(check_key(NULL, ks, r.secret, &who), RK_OK);

    /* 1.5 s: a loaded machine (sanitizers, make check) may stall a while
     * between the rotation and the checks inside the grace */
    ck_assert_int_eq(keyadmin_rotate(ks, m.id, 1500, on_made, &g, &err), RK_OK);
    ck_assert_int_gt(g.grace_until, 0);
    ck_assert_int_eq(check_key(NULL, ks, r.secret, &who), RK_OK); /* within the grace */
    ck_assert_int_eq(check_key(NULL, ks, g.secret, &who), RK_OK);
    usleep(1700 * 1000);
    ck_assert_int_eq(check_key(NULL, ks, r.secret, &who), RK_ERR_AUTH); /* grace over */
    ck_assert_int_eq(check_key(NULL, ks, g.secret, &who), RK_OK);
    /* expiry is checked at match time, not only at load */
    made e = create(ks, "acme", RK_SCOPE_CHAT, 1500);
    ck_assert_int_eq(check_key(NULL, ks, e.secret, &who), RK_OK);
    usleep(1700 * 1000);
    ck_assert_int_eq(check_key(NULL, ks, e.secret, &who), RK_ERR_AUTH);
    ck_assert_int_eq(keyadmin_rotate(ks, "key_none", 0, on_made, &g, &err), RK_ERR_NOT_FOUND);
    ck_assert_int_eq(keyadmin_revoke(ks, m.id, &err), RK_OK);
    ck_assert_int_eq(keyadmin_rotate(ks, m.id, 0, on_made, &g, &err), RK_ERR_EXISTS);
    keystore_unref(ks);
}
END_TEST

/* Many keys: each secret finds its own record (the lookup is a binary
 * search over digests, current and previous), limits are found by id. */
START_TEST(many_keys_each_found)
{
    enum { N = 60 };
    keystore *ks = keystore_new(registry_get(reg, "h"), 60000, NULL);
    static made m[N];
    for (int i = 0; i < N; i++) {
        rk_api_key_spec s = {.struct_size = sizeof s, .name = "bot", .tenant = "acme",
                             .scopes = RK_SCOPE_CHAT, .requests_per_min = 100 + i};
        rk_err err = {{0}};
        ck_assert_int_eq(keyadmin_create(ks, &s, on_made, &m[i], &err), RK_OK);
    }
    made old = m[7], r;
    memset(&r, 0, sizeof r);
    rk_err err = {{0}};
    ck_assert_int_eq(keyadmin_rotate(ks, m[7].id, 60000, on_made, &r, &err), RK_OK);
    rk_principal who;
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(check_key(NULL, ks, i == 7 ? r.secret : m[i].secret, &who), RK_OK);
        ck_assert_str_eq(who.key_id, m[i].id);
        int64_t rpm = 0, tpm = -1;
        ck_assert_int_eq(keystore_limits(ks, m[i].id, &rpm, &tpm), 0);
        ck_assert_int_eq(rpm, 100 + i);
        ck_assert_int_eq(tpm, 0);
    }
    ck_assert_int_eq(check_key(NULL, ks, old.secret, &who), RK_OK); /* in its grace */
    ck_assert_str_eq(who.key_id, m[7].id);
    int64_t rpm, tpm;
    ck_assert_int_eq(keystore_limits(ks, "key_none", &rpm, &tpm), -1);
    ck_assert_int_eq(check_key(NULL, ks, "rk_not-a-key", &who), RK_ERR_AUTH);
    keystore_unref(ks);
}
END_TEST

START_TEST(first_stored_key_turns_auth_on)
{
    keystore *ks = keystore_new(registry_get(reg, "h"), 60000, NULL);
    rk_principal who;
    ck_assert_int_eq(auth_required_with(NULL, ks), 0);
    ck_assert_int_eq(check_key(NULL, ks, NULL, &who), RK_OK);
    ck_assert_str_eq(who.key_id, "anonymous");
    made m = create(ks, "acme", RK_SCOPE_ADMIN, 0);
    ck_assert_int_eq(auth_required_with(NULL, ks), 1);
    ck_assert_int_eq(check_key(NULL, ks, NULL, &who), RK_ERR_AUTH);
    ck_assert_int_eq(check_key(NULL, ks, m.secret, &who), RK_OK);
    /* revoking the last key must not open the server again */
    rk_err err = {{0}};
    ck_assert_int_eq(keyadmin_revoke(ks, m.id, &err), RK_OK);
    ck_assert_int_eq(auth_required_with(NULL, ks), 1);
    ck_assert_int_eq(check_key(NULL, ks, NULL, &who), RK_ERR_AUTH);
    ck_assert_int_eq(check_key(NULL, ks, m.secret, &who), RK_ERR_AUTH);
    keystore_unref(ks);
}
END_TEST

static void on_listed(void *ud, const rk_api_key *k) { (void)k, ++*(int *)ud; }

START_TEST(store_without_slots_and_bad_input)
{
    keystore *old = keystore_new(registry_get(reg, "old"), 60000, NULL);
    rk_err err = {{0}};
    ck_assert_int_eq(keystore_supported(old, &err), RK_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.msg, "good_history"));
    rk_api_key_spec s = {.struct_size = sizeof s, .name = "x", .tenant = "t",
                         .scopes = RK_SCOPE_CHAT};
    ck_assert_int_eq(keyadmin_create(old, &s, on_made, NULL, &err), RK_ERR_UNSUPPORTED);
    ck_assert_int_eq(keyadmin_create(NULL, &s, on_made, NULL, &err), RK_ERR_UNSUPPORTED);
    keystore_unref(old);
    ck_assert_ptr_null(keystore_new(NULL, 1000, NULL));

    keystore *ks = keystore_new(registry_get(reg, "h"), 60000, NULL);
    rk_api_key_spec bad[] = {
        {sizeof s, "a b", "t", RK_SCOPE_CHAT, 0, 0, 0},
        {sizeof s, "x", "", RK_SCOPE_CHAT, 0, 0, 0},
        {sizeof s, "x", "t", 0, 0, 0, 0},
        {sizeof s, "x", "t", 0x100, 0, 0, 0},
        {sizeof s, "x", "t", RK_SCOPE_CHAT, -1, 0, 0},
        {sizeof s, "x", "t", RK_SCOPE_CHAT, 0, 0, -5},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_int_eq(keyadmin_create(ks, &bad[i], on_made, NULL, &err), RK_ERR_INVALID);
    int n = 0;
    ck_assert_int_eq(keyadmin_list(ks, NULL, on_listed, &n, &err), RK_OK);
    ck_assert_int_eq(n, 0); /* nothing half-made */
    keystore_unref(ks);
}
END_TEST

/* The store keeps digests: the secret's text is nowhere in the file. */
START_TEST(only_digests_are_stored)
{
    keystore *ks = keystore_new(registry_get(reg, "h"), 60000, NULL);
    made m = create(ks, "acme", RK_SCOPE_CHAT, 0);
    keystore_unref(ks);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "cat '%s'/h.sqlite* | grep -c -a -F '%s' >/dev/null", dir,
             m.secret);
    ck_assert_int_ne(system(cmd), 0); /* grep found nothing */
    snprintf(cmd, sizeof cmd, "cat '%s'/h.sqlite* | grep -c -a -F '%s' >/dev/null", dir, m.id);
    ck_assert_int_eq(system(cmd), 0); /* the record is there */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("keystore");
    TCase *tc = tcase_create("keys");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, config_and_stored_keys_merge);
    tcase_add_test(tc, revocation_by_another_host_at_refresh);
    tcase_add_test(tc, rotation_grace_and_expiry);
    tcase_add_test(tc, many_keys_each_found);
    tcase_add_test(tc, first_stored_key_turns_auth_on);
    tcase_add_test(tc, store_without_slots_and_bad_input);
    tcase_add_test(tc, only_digests_are_stored);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
