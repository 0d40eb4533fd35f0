/*
 * test_gate — the one door for blocking core->plugin calls: a slot beyond
 * an older plugin's vtable, or NULL, yields the caller's default without a
 * call; RK_PLUGIN_SERIALIZE instances are never entered by two threads at
 * once (and others are); every call is timed into
 * ragkernel_plugin_call_seconds{instance}; label values are escaped by the
 * metrics module.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "gate.h"
#include "metrics.h"
#include "registry.h"

typedef struct fake {
    atomic_int calls, inside, max_inside;
} fake;

static int fake_get(void *ctx, const void *key, size_t klen,
                    void (*on_value)(void *ud, const void *data, size_t len), void *ud,
                    rk_err *err)
{
    fake *f = ctx;
    atomic_fetch_add(&f->calls, 1);
    int now = atomic_fetch_add(&f->inside, 1) + 1;
    int seen = atomic_load(&f->max_inside);
    while (now > seen && !atomic_compare_exchange_weak(&f->max_inside, &seen, now)) {
    }
    usleep(2000); /* long enough for the other threads to pile up */
    atomic_fetch_sub(&f->inside, 1);
    return RK_ERR_NOT_FOUND;
}

static int fake_del(void *ctx, const void *key, size_t klen, rk_err *err)
{
    atomic_fetch_add(&((fake *)ctx)->calls, 1);
    return RK_OK;
}

static rk_cache_vtable VT = {.struct_size = sizeof VT, .get = fake_get, .del = fake_del};
static rk_plugin PLUG = {.struct_size = sizeof PLUG, .kind = RK_KIND_CACHE, .name = "fake",
                         .vtable = &VT};

static void inst_init(rk_instance *in, rk_plugin *p, const char *name, fake *f)
{
    memset(in, 0, sizeof *in);
    in->name = (char *)name;
    in->plugin = p;
    in->ctx = f;
    pthread_mutex_init(&in->serial, NULL);
}

START_TEST(absent_slot_gives_default)
{
    fake f = {0};
    rk_instance in;
    inst_init(&in, &PLUG, "c1", &f);
    rk_err err = {{0}};
    /* set is NULL: the default, no call */
    int rc = GATE_CALL(&in, rk_cache_vtable, set, RK_ERR_UNSUPPORTED, "k", 1, "v", 1, 0, &err);
    ck_assert_int_eq(rc, RK_ERR_UNSUPPORTED);
    /* an older plugin whose table ends before rate_take: not read at all */
    rk_cache_vtable old = VT;
    old.struct_size = offsetof(rk_cache_vtable, rate_take);
    old.rate_take = (void *)1; /* would crash if called */
    rk_plugin p_old = PLUG;
    p_old.vtable = &old;
    in.plugin = &p_old;
    int64_t retry = 0;
    rc = GATE_CALL(&in, rk_cache_vtable, rate_take, RK_ERR_UNSUPPORTED, "k", 1, 1.0, 1.0, 1.0, 0,
                   &retry, &err);
    ck_assert_int_eq(rc, RK_ERR_UNSUPPORTED);
    rc = GATE_CALL(&in, rk_cache_vtable, del, RK_ERR_UNSUPPORTED, "k", 1, &err);
    ck_assert_int_eq(rc, RK_OK);
    ck_assert_int_eq(atomic_load(&f.calls), 1);
    pthread_mutex_destroy(&in.serial);
}
END_TEST

typedef struct hammer_arg {
    rk_instance *in;
} hammer_arg;

static void *hammer(void *arg)
{
    rk_instance *in = ((hammer_arg *)arg)->in;
    for (int i = 0; i < 5; i++) {
        rk_err err = {{0}};
        int rc = GATE_CALL(in, rk_cache_vtable, get, RK_ERR_UNSUPPORTED, "k", 1, NULL, NULL, &err);
        ck_assert_int_eq(rc, RK_ERR_NOT_FOUND);
    }
    return NULL;
}

static int max_parallel(uint32_t flags, const char *name)
{
    fake f = {0};
    rk_plugin p = PLUG;
    p.flags = flags;
    rk_instance in;
    inst_init(&in, &p, name, &f);
    hammer_arg a = {&in};
    pthread_t th[4];
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, hammer, &a);
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    ck_assert_int_eq(atomic_load(&f.calls), 20);
    pthread_mutex_destroy(&in.serial);
    return atomic_load(&f.max_inside);
}

START_TEST(serialize_flag_is_honoured)
{
    ck_assert_int_eq(max_parallel(RK_PLUGIN_SERIALIZE, "serial"), 1);
    /* without the flag the gate adds no lock: 4 threads sleeping 2 ms x5
     * overlap at least once even on a loaded machine */
    ck_assert_int_gt(max_parallel(0, "free"), 1);
}
END_TEST

static double series_count(const char *name)
{
    char labels[64];
    snprintf(labels, sizeof labels, "instance=\"%s\"", name);
    return metrics_value(metrics_get(RK_METRIC_HISTOGRAM, "ragkernel_plugin_call_seconds", "",
                                     labels));
}

START_TEST(calls_are_timed_per_instance)
{
    metrics_reset_all();
    fake f = {0};
    rk_instance in;
    inst_init(&in, &PLUG, "timed", &f);
    rk_err err = {{0}};
    for (int i = 0; i < 3; i++) GATE_CALL(&in, rk_cache_vtable, del, RK_ERR_UNSUPPORTED, "k", 1, &err);
    /* an absent slot is not a call */
    GATE_CALL(&in, rk_cache_vtable, set, RK_ERR_UNSUPPORTED, "k", 1, "v", 1, 0, &err);
    ck_assert_double_eq(series_count("timed"), 3);
    pthread_mutex_destroy(&in.serial);
    metrics_reset_all();
}
END_TEST

START_TEST(label_escape)
{
    char buf[16];
    ck_assert_str_eq(metrics_label_escape("a\"b\\c\nd", buf, sizeof buf), "a\\\"b\\\\c\\nd");
    ck_assert_str_eq(metrics_label_escape(NULL, buf, sizeof buf), "");
    char tiny[6];
    metrics_label_escape("abcdefgh", tiny, sizeof tiny);
    ck_assert_uint_lt(strlen(tiny), sizeof tiny);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gate");
    TCase *tc = tcase_create("gate");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, absent_slot_gives_default);
    tcase_add_test(tc, serialize_flag_is_honoured);
    tcase_add_test(tc, calls_are_timed_per_instance);
    tcase_add_test(tc, label_escape);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
