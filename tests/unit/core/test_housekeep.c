/* test_housekeep — idle conversations expire in batches, off the request path. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "hostapi.h"
#include "housekeep.h"
#include "loop.h"
#include "registry.h"

static registry *reg;
static char path[128];

static void setup(void)
{
    const char *b = getenv("BUILD");
    snprintf(path, sizeof path, "/tmp/rk-test-hk-%d.yaml", (int)getpid());
    FILE *f = fopen(path, "w");
    fprintf(f, "server: {plugin_path: [\"%s/test-plugins\"], log_level: error}\n"
               "pipeline: {history: h}\n"
               "instances:\n  h: {plugin: good_history}\n", b ? b : "build");
    fclose(f);
    cfg_diag d = {0};
    rk_conf *c = conf_load(path, &d);
    ck_assert_ptr_nonnull(c);
    reg = registry_build(c, hostapi_table(), &d);
    for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.lines[i]);
    ck_assert_ptr_nonnull(reg);
    cfg_diag_free(&d);
}

static void teardown(void)
{
    registry_unref(reg);
    unlink(path);
}

static void add(rk_instance *h, const char *id)
{
    const rk_history_vtable *vt = h->plugin->vtable;
    rk_message m = {"user", "hello"};
    rk_err err = {{0}};
    ck_assert_int_eq(vt->append(h->ctx, "t", id, &m, 1, &err), RK_OK);
}

static void on_msg(void *ud, const rk_history_entry *e) { (void)e, ++*(int *)ud; }

static int count(rk_instance *h, const char *id)
{
    const rk_history_vtable *vt = h->plugin->vtable;
    rk_err err = {{0}};
    int n = 0;
    return vt->load(h->ctx, "t", id, 0, on_msg, &n, &err) == RK_OK ? n : -1;
}

START_TEST(expires_idle_in_batches)
{
    rk_instance *h = registry_get_kind(reg, "h", RK_KIND_HISTORY);
    ck_assert_ptr_nonnull(h);
    for (int i = 0; i < 7; i++) {
        char id[16];
        snprintf(id, sizeof id, "c%d", i);
        add(h, id);
    }
    int64_t mid = clock_wall_ms() + 150; /* the cutoff: 150 ms after the old ones */
    usleep(300 * 1000);
    add(h, "fresh"); /* active after the cutoff: must survive */
    /* the TTL that puts the cutoff at `mid` now (slow runs, e.g. valgrind, keep
     * 150 ms of margin on either side) */
    housekeep *hk = housekeep_new(h, clock_wall_ms() - mid, 3600 * 1000, 3); /* batch 3 */
    ck_assert_ptr_nonnull(hk);
    ck_assert_int_eq(housekeep_run_once(hk), 7); /* 3 + 3 + 1: three batches */
    ck_assert_int_eq(count(h, "c0"), -1);
    ck_assert_int_eq(count(h, "fresh"), 1);
    ck_assert_int_eq(housekeep_run_once(hk), 0);
    housekeep_free(hk); /* the thread stops at once, not after an interval */
}
END_TEST

START_TEST(disabled_without_history_or_ttl)
{
    ck_assert_ptr_null(housekeep_new(NULL, 1000, 1000, 10));
    add(registry_get(reg, "h"), "old");
    /* without a TTL nothing expires, but the thread runs (it probes) */
    housekeep *hk = housekeep_new(registry_get(reg, "h"), 0, 1000, 10);
    ck_assert_ptr_nonnull(hk);
    ck_assert_int_eq(housekeep_run_once(hk), 0);
    ck_assert_int_eq(count(registry_get(reg, "h"), "old"), 1);
    /* a plugin without the probe slot: the mark stays until a write works */
    atomic_store(&registry_get(reg, "h")->write_failing, 1);
    ck_assert_int_eq(housekeep_probe(hk), RK_ERR_UNSUPPORTED);
    ck_assert_int_eq(atomic_load(&registry_get(reg, "h")->write_failing), 1);
    housekeep_free(hk);
    housekeep_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("housekeep");
    TCase *tc = tcase_create("expire");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, expires_idle_in_batches);
    tcase_add_test(tc, disabled_without_history_or_ttl);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
