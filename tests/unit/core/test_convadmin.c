/*
 * test_convadmin — the "conversations" service's core (convadmin.h) on a
 * real registry: history_sqlite in a temp directory, and the test plugin
 * good_history (no 1.1 list/remove slots), with a real worker pool.
 * Covers list pages with a cursor, get, delete then 404, tenants kept
 * apart, input limits (400), a plugin lacking a slot (501 naming it), no
 * and no history configured (501).
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convadmin.h"
#include "hostapi.h"
#include "log.h"
#include "pool.h"
#include "registry.h"
#include "testenv.h"
#include "tmpdir.h"
#include "waiter.h"

#define WAIT_MS 20000

static char g_dir[128];

typedef struct result {
    ph_latch latch;
    int done, status, http, n_convs, n_msgs;
    char msg[512], next[160], ids[8][160], contents[8][64];
} result;

static void on_conv(void *ud, const rk_conv_info *c)
{
    result *r = ud;
    if (r->n_convs < 8) snprintf(r->ids[r->n_convs], sizeof r->ids[0], "%s", c->id);
    r->n_convs++;
}

static void on_message(void *ud, const rk_history_entry *e)
{
    result *r = ud;
    if (r->n_msgs < 8) snprintf(r->contents[r->n_msgs], sizeof r->contents[0], "%s", e->content);
    r->n_msgs++;
}

static void on_done(void *ud, int status, int http, const char *msg, const char *next)
{
    result *r = ud;
    r->status = status;
    r->http = http;
    snprintf(r->msg, sizeof r->msg, "%s", msg ? msg : "");
    snprintf(r->next, sizeof r->next, "%s", next ? next : "");
    r->done++;
    ph_latch_fire(&r->latch);
}

static const rk_conv_sink SINK = {sizeof SINK, on_conv, on_message, on_done};

typedef struct env {
    registry *reg;
    pool *pool;
    rk_instance *hist;
} env;

static void setup(void)
{
    ph_tmpdir(g_dir, sizeof g_dir);
    log_configure(RK_LOG_ERROR, LOG_LOGFMT);
}

static void teardown(void) { ph_rmtree(g_dir); }

static env env_open(const char *plugin)
{
    char yaml[256], text[1024];
    snprintf(yaml, sizeof yaml, "%s/rk.yaml", g_dir);
    snprintf(text, sizeof text,
             "server:\n  plugin_path: [\"%s/plugins\", \"%s/test-plugins\"]\n"
             "instances:\n  talk:\n    plugin: %s\n%s%s%s",
             ph_build_dir(), ph_build_dir(), plugin,
             strcmp(plugin, "history_sqlite") == 0 ? "    config: {path: \"" : "",
             strcmp(plugin, "history_sqlite") == 0 ? g_dir : "",
             strcmp(plugin, "history_sqlite") == 0 ? "/h.sqlite\"}\n" : "");
    FILE *f = fopen(yaml, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    cfg_diag d = {0};
    rk_conf *c = conf_load(yaml, &d);
    ck_assert_msg(c != NULL, "conf: %s", d.n ? d.lines[0] : "?");
    env e = {0};
    e.reg = registry_build(c, hostapi_table(), &d);
    ck_assert_msg(e.reg != NULL, "registry: %s", d.n ? d.lines[0] : "?");
    cfg_diag_free(&d);
    rk_err err = {{0}};
    ck_assert_msg(registry_start(e.reg, &err) == RK_OK, "start: %s", err.msg);
    e.pool = pool_new(2, &err);
    e.hist = registry_get(e.reg, "talk");
    return e;
}

static void env_close(env *e)
{
    pool_free(e->pool); /* waits for the jobs, which drop their pins */
    registry_stop(e->reg, 0);
    registry_unref(e->reg);
}

static void call(env *e, rk_instance *hist, convadmin_op op, const char *tenant,
                 const char *arg, size_t limit, result *r)
{
    rk_err err = {{0}};
    memset(r, 0, sizeof *r);
    ph_latch_init(&r->latch);
    int rc = convadmin_start(e->reg, hist, e->pool, op, tenant, arg, limit, &SINK, r, &err);
    ck_assert_msg(rc == RK_OK, "convadmin_start: %s", err.msg);
    ph_latch_wait(&r->latch, WAIT_MS);
    ck_assert_int_eq(r->done, 1);
    ph_latch_destroy(&r->latch);
}

static void append(env *e, const char *tenant, const char *conv, const char *text)
{
    const rk_history_vtable *vt = e->hist->plugin->vtable;
    rk_message m = {"user", text};
    rk_err err = {{0}};
    ck_assert_int_eq(vt->append(e->hist->ctx, tenant, conv, &m, 1, &err), RK_OK);
}

START_TEST(list_get_delete)
{
    env e = env_open("history_sqlite");
    result r;
    append(&e, "default", "c1", "one");
    append(&e, "default", "c1", "two");
    append(&e, "default", "c2", "three");
    append(&e, "other", "c3", "four");
    call(&e, e.hist, CONV_LIST, NULL, NULL, 0, &r); /* NULL tenant = "default" */
    ck_assert_int_eq(r.http, 200);
    ck_assert_int_eq(r.n_convs, 2);
    ck_assert_str_eq(r.next, ""); /* not a full page */
    call(&e, e.hist, CONV_LIST, "default", NULL, 1, &r);
    ck_assert_int_eq(r.n_convs, 1);
    ck_assert_str_eq(r.next, "c1");
    call(&e, e.hist, CONV_LIST, "default", "c1", 1, &r);
    ck_assert_str_eq(r.ids[0], "c2");
    call(&e, e.hist, CONV_GET, "default", "c1", 0, &r);
    ck_assert_int_eq(r.http, 200);
    ck_assert_int_eq(r.n_msgs, 2);
    ck_assert_str_eq(r.contents[1], "two");
    call(&e, e.hist, CONV_GET, "default", "c3", 0, &r); /* another tenant's */
    ck_assert_int_eq(r.http, 404);
    ck_assert_str_eq(r.msg, "no conversation 'c3'");
    call(&e, e.hist, CONV_DELETE, "default", "c3", 0, &r);
    ck_assert_int_eq(r.http, 404);
    call(&e, e.hist, CONV_DELETE, "other", "c3", 0, &r);
    ck_assert_int_eq(r.http, 204);
    call(&e, e.hist, CONV_GET, "other", "c3", 0, &r);
    ck_assert_int_eq(r.http, 404);
    env_close(&e);
}
END_TEST

START_TEST(input_limits)
{
    env e = env_open("history_sqlite");
    result r;
    char long_id[RK_CONV_ID_MAX + 2];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    call(&e, e.hist, CONV_GET, NULL, long_id, 0, &r);
    ck_assert_int_eq(r.http, 400);
    ck_assert_msg(strstr(r.msg, "conversation id"), "%s", r.msg);
    call(&e, e.hist, CONV_GET, NULL, "", 0, &r);
    ck_assert_int_eq(r.http, 400);
    call(&e, e.hist, CONV_DELETE, NULL, "a\nb", 0, &r);
    ck_assert_int_eq(r.http, 400);
    call(&e, e.hist, CONV_LIST, NULL, long_id, 10, &r);
    ck_assert_int_eq(r.http, 400);
    ck_assert_msg(strstr(r.msg, "'after'"), "%s", r.msg);
    long_id[RK_CONV_ID_MAX] = '\0'; /* exactly the maximum is fine */
    call(&e, e.hist, CONV_GET, NULL, long_id, 0, &r);
    ck_assert_int_eq(r.http, 404);
    ck_assert(convadmin_id_ok("conv a3 (\xC3\xBC)"));
    ck_assert(!convadmin_id_ok("a\x7f"));
    env_close(&e);
}
END_TEST

START_TEST(missing_slots_and_history)
{
    env e = env_open("good_history");
    result r;
    append(&e, "default", "c1", "one");
    call(&e, e.hist, CONV_LIST, NULL, NULL, 0, &r);
    ck_assert_int_eq(r.http, 501);
    ck_assert_int_eq(r.status, RK_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(r.msg, "'good_history' (instance 'talk')") && strstr(r.msg, "'list'"),
                  "%s", r.msg);
    call(&e, e.hist, CONV_DELETE, NULL, "c1", 0, &r);
    ck_assert_int_eq(r.http, 501);
    ck_assert_msg(strstr(r.msg, "'remove'"), "%s", r.msg);
    call(&e, e.hist, CONV_GET, NULL, "c1", 0, &r); /* load is enough for get */
    ck_assert_int_eq(r.http, 200);
    ck_assert_int_eq(r.n_msgs, 1);
    call(&e, NULL, CONV_LIST, NULL, NULL, 0, &r);
    ck_assert_int_eq(r.http, 501);
    ck_assert_msg(strstr(r.msg, "pipeline.history"), "%s", r.msg);
    rk_err err = {{0}};
    rk_conv_sink no_done = {sizeof no_done, on_conv, on_message, NULL};
    ck_assert_int_eq(convadmin_start(e.reg, e.hist, e.pool, CONV_LIST, NULL, NULL, 0, &no_done,
                                     NULL, &err),
                     RK_ERR_INVALID);
    env_close(&e);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("convadmin");
    ph_add_tcase(s, "conversations", 60, setup, teardown,
                 PH_TESTS(list_get_delete, input_limits, missing_slots_and_history));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
