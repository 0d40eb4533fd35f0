/*
 * pipeline_fixture — what the chat pipeline tests share: a real loop
 * thread and worker pool, registries built from YAML with real test
 * plugins from $BUILD/test-plugins (llm_scripted, whose behaviour is chosen
 * per request by markers such as "[fail@primary]", retriever_fixed,
 * good_cache, good_history), a recording sink whose callbacks run on the
 * loop thread and only record, and the metrics a test reads back.
 * Header-only: each test program compiles its own copy.
 */
#ifndef RK_TEST_PIPELINE_FIXTURE_H
#define RK_TEST_PIPELINE_FIXTURE_H

#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hostapi.h"
#include "metrics.h"
#include "pipeline.h"
#include "registry.h"
#include "upstream.h"
#include "testenv.h"

static loop *L;
static pool *P;
static registry *R;
static pipeline *PL;
static char g_yaml[256];

static inline void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- a recording sink ----------------------------------------------------- */

typedef struct rec {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char events[64];  /* M = meta, D = delta, X = done */
    size_t n_events;
    int n_done, late; /* late: callbacks after on_done */
    char deltas[4096];
    int cache_hit, res_cache_hit, status, http;
    size_t n_sources;
    char model[64], conv[160], res_conv[160], src0[160];
    char type[64], msg[1024], answer[4096], finish[32];
    int64_t retry_after, prompt_tokens, completion_tokens, t0, t_done;
} rec;

static inline void ev(rec *r, char e)
{
    if (r->n_done) r->late++;
    if (r->n_events + 1 < sizeof r->events) r->events[r->n_events++] = e;
}

static inline void s_meta(void *ud, const rk_chat_meta *m)
{
    rec *r = ud;
    pthread_mutex_lock(&r->mu);
    ev(r, 'M');
    r->cache_hit = m->cache_hit;
    r->n_sources = m->n_sources;
    snprintf(r->model, sizeof r->model, "%s", m->model ? m->model : "");
    snprintf(r->conv, sizeof r->conv, "%s", m->conversation_id ? m->conversation_id : "");
    if (m->n_sources)
        snprintf(r->src0, sizeof r->src0, "%s|%s", m->sources[0].doc_id, m->sources[0].title);
    pthread_mutex_unlock(&r->mu);
}

static inline void s_delta(void *ud, const char *t, size_t n)
{
    rec *r = ud;
    pthread_mutex_lock(&r->mu);
    ev(r, 'D');
    strncat(r->deltas, t, n < sizeof r->deltas - strlen(r->deltas) - 1 ? n : 0);
    pthread_mutex_unlock(&r->mu);
}

static inline void s_done(void *ud, const rk_chat_result *res)
{
    rec *r = ud;
    pthread_mutex_lock(&r->mu);
    ev(r, 'X');
    r->n_done++;
    r->t_done = clock_now_ms();
    r->status = res->status;
    r->http = res->http_status;
    r->res_cache_hit = res->cache_hit;
    r->retry_after = res->retry_after_ms;
    r->prompt_tokens = res->usage.prompt_tokens;
    r->completion_tokens = res->usage.completion_tokens;
    snprintf(r->type, sizeof r->type, "%s", res->error_type ? res->error_type : "");
    snprintf(r->msg, sizeof r->msg, "%s", res->message ? res->message : "");
    snprintf(r->answer, sizeof r->answer, "%s", res->answer ? res->answer : "");
    snprintf(r->finish, sizeof r->finish, "%s", res->finish_reason ? res->finish_reason : "");
    snprintf(r->res_conv, sizeof r->res_conv, "%s", res->conversation_id ? res->conversation_id : "");
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static const rk_chat_sink SINK = {sizeof SINK, s_meta, s_delta, s_done};

static inline rec *rec_new(void)
{
    rec *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->t0 = clock_now_ms();
    return r;
}

static inline void rec_free(rec *r)
{
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}

static inline int wait_done(rec *r, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&r->mu);
    while (!r->n_done && pthread_cond_timedwait(&r->cv, &r->mu, &ts) != ETIMEDOUT) {
    }
    int ok = r->n_done > 0;
    pthread_mutex_unlock(&r->mu);
    return ok;
}

static inline rk_chat_input input(const rk_message *m, size_t n)
{
    return (rk_chat_input){.struct_size = sizeof(rk_chat_input), .messages = m,
                           .n_messages = n, .temperature = -1};
}

/* Start through the host table, as a transport does. */
static inline rk_chat *start(const rk_chat_input *in, rec *r)
{
    rk_chat *chat = NULL;
    rk_err err = {{0}};
    int rc = hostapi_table()->chat_start(NULL, in, &SINK, r, &chat, &err);
    ck_assert_msg(rc == RK_OK, "chat_start: %s", err.msg);
    return chat;
}

static inline rec *ask_in(const rk_chat_input *in)
{
    rec *r = rec_new();
    start(in, r);
    ck_assert_msg(wait_done(r, 10000), "no on_done");
    return r;
}

static inline rec *ask(const char *q)
{
    rk_message m = {"user", q};
    rk_chat_input in = input(&m, 1);
    return ask_in(&in);
}

static inline double counter(const char *name, const char *labels)
{
    return metrics_value(metrics_get(RK_METRIC_COUNTER, name, "test", labels));
}

static inline double calls(const char *label)
{
    char l[64];
    snprintf(l, sizeof l, "label=\"%s\"", label);
    return counter("llm_scripted_calls_total", l);
}

/* Wait until background work (cache store, history append) is done. */
static inline void idle(void)
{
    for (int i = 0; i < 500 && pipeline_inflight(PL) > 0; i++) msleep(10);
    ck_assert_int_eq(pipeline_inflight(PL), 0);
}

/* ---- runtime and configuration ---------------------------------------------- */

static const char *LLMS = "  primary:\n    plugin: llm_scripted\n    config: {label: primary}\n"
                          "  backup:\n    plugin: llm_scripted\n    config: {label: backup}\n";

static inline void setup(void)
{
    rk_err err = {{0}};
    metrics_reset_all(); /* counters start at 0 also with CK_FORK=no */
    L = upstream_loop_new(&err);
    ck_assert_msg(L && loop_start(L, &err) == RK_OK, "loop: %s", err.msg);
    P = pool_new(4, &err);
    ck_assert_msg(P != NULL, "pool: %s", err.msg);
    hostapi_set_runtime(L, P);
    snprintf(g_yaml, sizeof g_yaml, "/tmp/rk_pipeline_XXXXXX.yaml");
    int fd = mkstemps(g_yaml, 5);
    ck_assert_int_ge(fd, 0);
    close(fd);
}

/* Uninstall and free the current generation, as server.c does on reload. */
static inline void retire(void)
{
    generation none = {0};
    hostgen_swap(none);
    if (PL) {
        for (int i = 0; i < 500 && pipeline_inflight(PL) > 0; i++) msleep(10);
        pipeline_free(PL);
    }
    if (R) {
        registry_stop(R, clock_now_ms() + 1000);
        registry_unref(R);
    }
    PL = NULL;
    R = NULL;
}

static inline void teardown(void)
{
    retire();
    pool_free(P);
    loop_stop(L);
    loop_free(L);
    hostapi_set_runtime(NULL, NULL);
    unlink(g_yaml);
}

/* Build a generation from `pipeline:` and `instances:` bodies. Returns the
 * pipeline_new error (RK_OK when installed). */
static inline int boot_err(const char *pipe, const char *instances, rk_err *err)
{
    const char *b = getenv("BUILD");
    FILE *f = fopen(g_yaml, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "server:\n  plugin_path: [\"%s/test-plugins\"]\npipeline:\n%sinstances:\n%s",
            b && *b ? b : "build", pipe, instances);
    fclose(f);
    cfg_diag d = {0};
    rk_conf *c = conf_load(g_yaml, &d);
    ck_assert_msg(c != NULL, "conf_load: %s", d.n ? d.lines[0] : "?");
    R = registry_build(c, hostapi_table(), &d);
    ck_assert_msg(R != NULL, "registry_build: %s", d.n ? d.lines[0] : "?");
    cfg_diag_free(&d);
    ck_assert_int_eq(registry_start(R, err), RK_OK);
    PL = pipeline_new(R, L, P, err);
    if (!PL) return RK_ERR_CONFIG;
    generation g = {.reg = R, .pl = PL};
    hostgen_swap(g);
    return RK_OK;
}

static inline void boot(const char *pipe, const char *instances)
{
    rk_err err = {{0}};
    ck_assert_msg(boot_err(pipe, instances, &err) == RK_OK, "pipeline_new: %s", err.msg);
}

#define BASIC "  llm: [primary, backup]\n  llm_timeout: 300ms\n  total_timeout: 3s\n" \
              "  system_prompt: SYS\n"

static const char *const DOCS =
    "  docs:\n    plugin: retriever_fixed\n    config:\n      passages:\n"
    "        - Paris is the capital of France.\n"
    "        - Berlin is the capital of Germany.\n"
    "        - Bananas are yellow.\n";

static inline char *instances_with(const char *extra)
{
    char *s = NULL;
    ck_assert_int_ge(asprintf(&s, "%s%s", LLMS, extra), 0);
    return s;
}

#endif
