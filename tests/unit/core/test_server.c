/*
 * test_server — lifecycle and SIGHUP-style reload through server_reload():
 * a valid new file swaps instances in while a chat on the old generation
 * finishes; an invalid one is reported with file:line:col and the running
 * configuration keeps answering.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hostapi.h"
#include "server.h"

typedef struct chat_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, status;
    char model[64], answer[256];
} chat_wait;

static void on_meta(void *ud, const rk_chat_meta *m)
{
    chat_wait *w = ud;
    pthread_mutex_lock(&w->mu);
    snprintf(w->model, sizeof w->model, "%s", m->model ? m->model : "");
    pthread_mutex_unlock(&w->mu);
}
static void on_delta(void *ud, const char *t, size_t n) { (void)ud, (void)t, (void)n; }
static void on_done(void *ud, const rk_chat_result *r)
{
    chat_wait *w = ud;
    pthread_mutex_lock(&w->mu);
    w->status = r->status;
    snprintf(w->answer, sizeof w->answer, "%s", r->answer ? r->answer : "");
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}
static const rk_chat_sink sink = {sizeof sink, on_meta, on_delta, on_done};

static void chat_begin(chat_wait *w, const char *text)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    rk_message msg = {"user", text};
    rk_chat_input in = {.struct_size = sizeof in, .messages = &msg, .n_messages = 1,
                        .temperature = -1};
    rk_chat *chat = NULL;
    rk_err err = {{0}};
    ck_assert_int_eq(hostapi_table()->chat_start(NULL, &in, &sink, w, &chat, &err), RK_OK);
}

static void chat_end(chat_wait *w)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    pthread_mutex_lock(&w->mu);
    while (!w->done)
        ck_assert_int_eq(pthread_cond_timedwait(&w->cv, &w->mu, &ts), 0);
    pthread_mutex_unlock(&w->mu);
}

static char cfg_path[256];

static void write_config(const char *model, const char *extra)
{
    const char *b = getenv("BUILD");
    FILE *f = fopen(cfg_path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "server:\n  plugin_path: [\"%s/test-plugins\"]\n  log_level: error\n"
            "  shutdown_grace: 5s\n"
            "pipeline:\n  llm: [echo]\n%s"
            "instances:\n  echo:\n    plugin: good_llm\n    config:\n"
            "      model: %s\n      delta_delay: 100ms\n",
            b ? b : "build", extra, model);
    fclose(f);
}

START_TEST(reload_swaps_and_keeps_inflight)
{
    snprintf(cfg_path, sizeof cfg_path, "/tmp/rk-test-server-%d.yaml", (int)getpid());
    write_config("alpha", "");
    cfg_diag d = {0};
    server *s = server_new(cfg_path, &d);
    for (size_t i = 0; i < d.n; i++) fprintf(stderr, "%s\n", d.lines[i]);
    ck_assert_ptr_nonnull(s);

    chat_wait first;
    chat_begin(&first, "hello");
    chat_end(&first);
    ck_assert_int_eq(first.status, RK_OK);
    ck_assert_str_eq(first.model, "alpha");
    ck_assert_str_eq(first.answer, "echo: hello");

    chat_wait slow; /* in flight on generation 1 across the reload */
    chat_begin(&slow, "still here");
    write_config("beta", "");
    ck_assert_int_eq(server_reload(s, &d), 0);
    chat_end(&slow);
    ck_assert_int_eq(slow.status, RK_OK);
    ck_assert_str_eq(slow.answer, "echo: still here");
    ck_assert_str_eq(slow.model, "alpha");

    chat_wait after;
    chat_begin(&after, "new");
    chat_end(&after);
    ck_assert_str_eq(after.model, "beta");

    /* invalid file: reported at file:line:col, old generation keeps serving */
    write_config("gamma", "  bogus_key: 1\n");
    cfg_diag_free(&d);
    ck_assert_int_eq(server_reload(s, &d), -1);
    ck_assert_uint_ge(d.n, 1);
    char expect[300];
    snprintf(expect, sizeof expect, "%s:7:3: unknown key 'bogus_key'", cfg_path);
    ck_assert_msg(strstr(d.lines[0], expect) != NULL, "got: %s", d.lines[0]);
    chat_wait still;
    chat_begin(&still, "again");
    chat_end(&still);
    ck_assert_int_eq(still.status, RK_OK);
    ck_assert_str_eq(still.model, "beta");

    cfg_diag_free(&d);
    server_free(s);
    unlink(cfg_path);
}
END_TEST

START_TEST(bad_config_refuses_to_start)
{
    snprintf(cfg_path, sizeof cfg_path, "/tmp/rk-test-server-bad-%d.yaml", (int)getpid());
    FILE *f = fopen(cfg_path, "w");
    fputs("server:\n  workers: lots\n", f);
    fclose(f);
    cfg_diag d = {0};
    ck_assert_ptr_null(server_new(cfg_path, &d));
    ck_assert_uint_ge(d.n, 1);
    ck_assert_msg(strstr(d.lines[0], ":2:12:") != NULL, "got: %s", d.lines[0]);
    cfg_diag_free(&d);
    unlink(cfg_path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("server");
    TCase *tc = tcase_create("lifecycle");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, reload_swaps_and_keeps_inflight);
    tcase_add_test(tc, bad_config_refuses_to_start);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
