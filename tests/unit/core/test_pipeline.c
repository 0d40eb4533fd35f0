/*
 * test_pipeline — the chat pipeline end to end on a real loop thread and
 * worker pool, with registries built from YAML and real test plugins from
 * $BUILD/test-plugins: llm_scripted (behaviour chosen per request by
 * markers such as "[fail@primary]"), retriever_fixed, good_cache and
 * good_history. Sink callbacks run on the loop thread and only record;
 * assertions run on the test thread. Timeouts are a few hundred ms so the
 * suite stays fast; timing bounds leave room for valgrind.
 */
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

static loop *L;
static pool *P;
static registry *R;
static pipeline *PL;
static char g_yaml[256];

static void msleep(long ms)
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

static void ev(rec *r, char e)
{
    if (r->n_done) r->late++;
    if (r->n_events + 1 < sizeof r->events) r->events[r->n_events++] = e;
}

static void s_meta(void *ud, const rk_chat_meta *m)
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

static void s_delta(void *ud, const char *t, size_t n)
{
    rec *r = ud;
    pthread_mutex_lock(&r->mu);
    ev(r, 'D');
    strncat(r->deltas, t, n < sizeof r->deltas - strlen(r->deltas) - 1 ? n : 0);
    pthread_mutex_unlock(&r->mu);
}

static void s_done(void *ud, const rk_chat_result *res)
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

static rec *rec_new(void)
{
    rec *r = calloc(1, sizeof *r);
    ck_assert_ptr_nonnull(r);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->t0 = clock_now_ms();
    return r;
}

static void rec_free(rec *r)
{
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}

static int wait_done(rec *r, int timeout_ms)
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

static rk_chat_input input(const rk_message *m, size_t n)
{
    return (rk_chat_input){.struct_size = sizeof(rk_chat_input), .messages = m,
                           .n_messages = n, .temperature = -1};
}

/* Start through the host table, as a transport does. */
static rk_chat *start(const rk_chat_input *in, rec *r)
{
    rk_chat *chat = NULL;
    rk_err err = {{0}};
    int rc = hostapi_table()->chat_start(NULL, in, &SINK, r, &chat, &err);
    ck_assert_msg(rc == RK_OK, "chat_start: %s", err.msg);
    return chat;
}

static rec *ask_in(const rk_chat_input *in)
{
    rec *r = rec_new();
    start(in, r);
    ck_assert_msg(wait_done(r, 10000), "no on_done");
    return r;
}

static rec *ask(const char *q)
{
    rk_message m = {"user", q};
    rk_chat_input in = input(&m, 1);
    return ask_in(&in);
}

static double counter(const char *name, const char *labels)
{
    return metrics_value(metrics_get(RK_METRIC_COUNTER, name, "test", labels));
}

static double calls(const char *label)
{
    char l[64];
    snprintf(l, sizeof l, "label=\"%s\"", label);
    return counter("llm_scripted_calls_total", l);
}

/* Wait until background work (cache store, history append) is done. */
static void idle(void)
{
    for (int i = 0; i < 500 && pipeline_inflight(PL) > 0; i++) msleep(10);
    ck_assert_int_eq(pipeline_inflight(PL), 0);
}

/* ---- runtime and configuration ---------------------------------------------- */

static const char *LLMS = "  primary:\n    plugin: llm_scripted\n    config: {label: primary}\n"
                          "  backup:\n    plugin: llm_scripted\n    config: {label: backup}\n";

static void setup(void)
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
static void retire(void)
{
    generation none = {0};
    hostapi_swap(none);
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

static void teardown(void)
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
static int boot_err(const char *pipe, const char *instances, rk_err *err)
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
    hostapi_swap(g);
    return RK_OK;
}

static void boot(const char *pipe, const char *instances)
{
    rk_err err = {{0}};
    ck_assert_msg(boot_err(pipe, instances, &err) == RK_OK, "pipeline_new: %s", err.msg);
}

#define BASIC "  llm: [primary, backup]\n  llm_timeout: 300ms\n  total_timeout: 3s\n" \
              "  system_prompt: SYS\n"

/* ---- answers and fallback ------------------------------------------------------ */

START_TEST(plain_answer)
{
    boot(BASIC, LLMS);
    rec *r = ask("hello there");
    ck_assert_int_eq(r->status, RK_OK);
    ck_assert_int_eq(r->http, 200);
    ck_assert_str_eq(r->events, "MDDDX");
    ck_assert_str_eq(r->answer, "primary: hello there");
    ck_assert_str_eq(r->deltas, r->answer);
    ck_assert_str_eq(r->model, "primary");
    ck_assert_str_eq(r->finish, "stop");
    ck_assert_int_eq(r->cache_hit, 0);
    ck_assert_int_eq(r->prompt_tokens, 10);
    ck_assert_int_eq(r->completion_tokens, 3);
    ck_assert(calls("primary") == 1 && calls("backup") == 0);
    ck_assert(counter("ragkernel_chat_requests_total", NULL) == 1);
    idle();
    ck_assert(metrics_value(metrics_get(RK_METRIC_GAUGE, "ragkernel_active_chats", "", NULL)) == 0);
    rec_free(r);
}
END_TEST

START_TEST(requested_model_goes_first)
{
    boot(BASIC, LLMS);
    rk_message m = {"user", "hi"};
    rk_chat_input in = input(&m, 1);
    in.model = "backup";
    rec *r = ask_in(&in);
    ck_assert_int_eq(r->status, RK_OK);
    ck_assert_str_eq(r->answer, "backup: hi");
    ck_assert_str_eq(r->model, "backup");
    ck_assert(calls("primary") == 0);
    rec_free(r);
}
END_TEST

START_TEST(fallback_when_primary_fails)
{
    boot(BASIC, LLMS);
    rec *r = ask("[fail@primary] hi");
    ck_assert_int_eq(r->status, RK_OK);
    ck_assert_str_eq(r->events, "MDDDX");
    ck_assert_str_eq(r->answer, "backup: hi");
    ck_assert_str_eq(r->model, "backup");
    ck_assert(calls("primary") == 1 && calls("backup") == 1);
    ck_assert(counter("ragkernel_llm_fallbacks_total", NULL) == 1);
    ck_assert(counter("ragkernel_llm_requests_total", "provider=\"primary\",outcome=\"error\"") == 1);
    ck_assert(counter("ragkernel_llm_requests_total", "provider=\"backup\",outcome=\"ok\"") == 1);
    rec_free(r);
}
END_TEST

START_TEST(fallback_when_primary_hangs)
{
    boot(BASIC, LLMS);
    rec *r = ask("[hang@primary] hi");
    int64_t took = r->t_done - r->t0;
    ck_assert_int_eq(r->status, RK_OK);
    ck_assert_str_eq(r->answer, "backup: hi");
    ck_assert_msg(took >= 290 && took < 2500, "took %lld ms", (long long)took);
    ck_assert(counter("ragkernel_llm_requests_total", "provider=\"primary\",outcome=\"timeout\"") == 1);
    rec_free(r);
}
END_TEST

START_TEST(cut_stream_continues_on_backup)
{
    boot(BASIC, LLMS);
    const char *full = "primary: hello world";
    rec *r = ask("[cut:2@primary] hello world");
    size_t part = 2 * (strlen(full) / 3);
    char want[256];
    snprintf(want, sizeof want, "%.*sbackup continues after %zu bytes", (int)part, full, part);
    ck_assert_int_eq(r->status, RK_OK);
    ck_assert_str_eq(r->answer, want);
    ck_assert_str_eq(r->deltas, want);
    ck_assert_int_eq(r->events[0], 'M');
    ck_assert_ptr_null(strchr(r->events + 1, 'M'));
    ck_assert_int_eq(r->events[strlen(r->events) - 1], 'X');
    ck_assert_int_eq(r->late, 0);
    rec_free(r);
}
END_TEST

START_TEST(cut_stream_without_backup_is_an_error)
{
    boot("  llm: [primary]\n  llm_timeout: 300ms\n", LLMS);
    rec *r = ask("[cut:2] hello world");
    ck_assert_int_eq(r->status, RK_ERR_UPSTREAM);
    ck_assert_int_eq(r->http, 502);
    ck_assert_str_eq(r->type, "upstream_error");
    ck_assert_msg(strstr(r->msg, "cut off"), "message: %s", r->msg);
    ck_assert_str_eq(r->events, "MDDX");
    rec_free(r);
}
END_TEST

START_TEST(all_fail_is_502)
{
    boot(BASIC, LLMS);
    rec *r = ask("[fail] hi");
    ck_assert_int_eq(r->status, RK_ERR_UPSTREAM);
    ck_assert_int_eq(r->http, 502);
    ck_assert_str_eq(r->type, "upstream_error");
    ck_assert_str_eq(r->events, "X"); /* no meta: the transport can still send a 502 */
    /* the host's words and the request id; the plugins' text is logged only */
    ck_assert_str_eq(r->msg, "all LLM providers failed: primary: unreachable; "
                             "backup: unreachable (request -)");
    rec_free(r);
    r = ask("[upstream] hi");
    ck_assert_int_eq(r->http, 502);
    ck_assert_msg(strstr(r->msg, "primary: upstream HTTP 500; backup: upstream HTTP 500"),
                  "message: %s", r->msg);
    ck_assert(counter("ragkernel_chat_errors_total", "type=\"upstream_error\"") == 2);
    rec_free(r);
}
END_TEST

START_TEST(all_time_out_is_504)
{
    boot("  llm: [primary, backup]\n  llm_timeout: 300ms\n  total_timeout: 500ms\n", LLMS);
    rec *r = ask("[hang] hi");
    int64_t took = r->t_done - r->t0;
    ck_assert_int_eq(r->status, RK_ERR_TIMEOUT);
    ck_assert_int_eq(r->http, 504);
    ck_assert_str_eq(r->type, "upstream_timeout");
    ck_assert_msg(took >= 490 && took < 2500, "took %lld ms", (long long)took);
    ck_assert_msg(strstr(r->msg, "primary: timed out") && strstr(r->msg, "backup: timed out"),
                  "message: %s", r->msg);
    rec_free(r);
}
END_TEST

START_TEST(rate_limited_by_all_is_429)
{
    boot(BASIC, LLMS);
    rec *r = ask("[ratelimit:1500] hi");
    ck_assert_int_eq(r->status, RK_ERR_RATE_LIMITED);
    ck_assert_int_eq(r->http, 429);
    ck_assert_int_eq(r->retry_after, 1500);
    rec_free(r);
}
END_TEST

START_TEST(breaker_opens_and_closes)
{
    boot("  llm: [primary, backup]\n  llm_timeout: 300ms\n  breaker_failures: 2\n"
         "  breaker_cooldown: 400ms\n", LLMS);
    for (int i = 0; i < 2; i++) {
        rec *r = ask("[fail@primary] q");
        ck_assert_str_eq(r->answer, "backup: q");
        rec_free(r);
    }
    ck_assert(calls("primary") == 2);
    rec *r = ask("q"); /* open: primary is not called */
    ck_assert_str_eq(r->answer, "backup: q");
    ck_assert(calls("primary") == 2);
    rec_free(r);
    msleep(450);
    r = ask("q"); /* half-open: the probe succeeds and closes it */
    ck_assert_str_eq(r->answer, "primary: q");
    ck_assert(calls("primary") == 3);
    rec_free(r);
    r = ask("q");
    ck_assert_str_eq(r->answer, "primary: q");
    rec_free(r);
}
END_TEST

START_TEST(breaker_ignores_invalid_and_tries_all_when_open)
{
    boot("  llm: [primary, backup]\n  breaker_failures: 1\n  breaker_cooldown: 10s\n", LLMS);
    rec *r = ask("[invalid@primary] q");
    ck_assert_str_eq(r->answer, "backup: q");
    rec_free(r);
    r = ask("q"); /* RK_ERR_INVALID did not open the circuit */
    ck_assert_str_eq(r->answer, "primary: q");
    rec_free(r);
    r = ask("[fail] q"); /* opens both */
    ck_assert_int_eq(r->http, 502);
    rec_free(r);
    r = ask("q"); /* all open: tried anyway */
    ck_assert_int_eq(r->status, RK_OK);
    ck_assert_str_eq(r->answer, "primary: q");
    rec_free(r);
}
END_TEST

/* ---- retrieval ---------------------------------------------------------------- */

static const char *DOCS =
    "  docs:\n    plugin: retriever_fixed\n    config:\n      passages:\n"
    "        - Paris is the capital of France.\n"
    "        - Berlin is the capital of Germany.\n"
    "        - Bananas are yellow.\n";

static char *instances_with(const char *extra)
{
    char *s = NULL;
    ck_assert_int_ge(asprintf(&s, "%s%s", LLMS, extra), 0);
    return s;
}

START_TEST(retrieval_grounds_the_prompt)
{
    char *inst = instances_with(DOCS);
    boot(BASIC "  retriever: docs\n  retrieval_timeout: 2s\n", inst);
    rk_message m = {"user", "[echo] capital of France?"};
    rk_chat_input in = input(&m, 1);
    in.retrieve = 1;
    rec *r = ask_in(&in);
    ck_assert_int_eq(r->status, RK_OK);
    ck_assert_int_eq(r->n_sources, 2);
    ck_assert_str_eq(r->src0, "doc1|Fixed facts");
    ck_assert_str_eq(r->answer, "n=2|system:SYS\n\nContext:\n"
                                "[1] Fixed facts: Paris is the capital of France.\n"
                                "[2] Fixed facts: Berlin is the capital of Germany."
                                "|user:[echo] capital of France?");
    ck_assert(counter("retriever_fixed_searches_total", "fast=\"1\"") == 1);
    rec_free(r);
    /* two clauses: full retrieval; retrieve = 0: none */
    m.content = "Compare the capital of France and the capital of Germany";
    r = ask_in(&in);
    ck_assert_int_eq(r->n_sources, 2);
    ck_assert(counter("retriever_fixed_searches_total", "fast=\"0\"") == 1);
    rec_free(r);
    in.retrieve = 0;
    r = ask_in(&in);
    ck_assert_int_eq(r->n_sources, 0);
    ck_assert(counter("retriever_fixed_searches_total", "fast=\"0\"") == 1);
    rec_free(r);
    free(inst);
}
END_TEST

START_TEST(retrieval_timeout_answers_without_sources)
{
    char *inst = instances_with(DOCS);
    boot(BASIC "  retriever: docs\n  fast_retrieval_timeout: 200ms\n  retrieval_timeout: 5s\n",
         inst);
    rk_message m = {"user", "[slowretr] capital of France?"};
    rk_chat_input in = input(&m, 1);
    in.retrieve = 1;
    rec *r = ask_in(&in);
    int64_t took = r->t_done - r->t0;
    ck_assert_int_eq(r->status, RK_OK);
    ck_assert_int_eq(r->n_sources, 0);
    ck_assert_str_eq(r->answer, "primary: capital of France?");
    ck_assert_msg(took >= 190 && took < 2000, "took %lld ms", (long long)took);
    ck_assert(counter("ragkernel_retrieval_timeouts_total", NULL) == 1);
    rec_free(r);
    free(inst);
}
END_TEST

/* ---- cache and history ----------------------------------------------------------- */

START_TEST(cache_hit_makes_no_llm_call)
{
    char *inst = instances_with(DOCS);
    char *inst2 = NULL;
    ck_assert_int_ge(asprintf(&inst2, "%s  c:\n    plugin: good_cache\n", inst), 0);
    boot(BASIC "  retriever: docs\n  cache: c\n", inst2);
    rk_message m = {"user", "capital of France?"};
    rk_chat_input in = input(&m, 1);
    in.retrieve = 1;
    rec *r = ask_in(&in);
    ck_assert_int_eq(r->cache_hit, 0);
    ck_assert_str_eq(r->answer, "primary: capital of France?");
    rec_free(r);
    idle(); /* the store runs after on_done */
    m.content = "  capital of France?\n"; /* same after trimming */
    r = ask_in(&in);
    ck_assert_int_eq(r->status, RK_OK);
    ck_assert_int_eq(r->cache_hit, 1);
    ck_assert_int_eq(r->res_cache_hit, 1);
    ck_assert_str_eq(r->events, "MDX");
    ck_assert_str_eq(r->answer, "primary: capital of France?");
    ck_assert_str_eq(r->deltas, r->answer);
    ck_assert_int_eq(r->n_sources, 2);
    ck_assert_str_eq(r->src0, "doc1|Fixed facts");
    ck_assert(calls("primary") == 1);
    ck_assert(counter("ragkernel_cache_hits_total", NULL) == 1);
    rec_free(r);
    in.temperature = 0.5; /* another answer key, same retrieval key */
    r = ask_in(&in);
    ck_assert_int_eq(r->cache_hit, 0);
    ck_assert(calls("primary") == 2);
    ck_assert_int_eq(r->n_sources, 2); /* from the retrieval cache: */
    ck_assert(counter("retriever_fixed_searches_total", "fast=\"1\"") == 1);
    rec_free(r);
    free(inst);
    free(inst2);
}
END_TEST

START_TEST(broken_cache_is_a_miss)
{
    char *inst = instances_with("  c:\n    plugin: cache_test\n    config: {mode: down}\n"
                                "  g:\n    plugin: cache_test\n    config: {mode: garbage}\n");
    boot(BASIC "  cache: c\n", inst);
    for (int i = 0; i < 2; i++) {
        rec *r = ask("hi");
        ck_assert_int_eq(r->status, RK_OK);
        ck_assert_int_eq(r->cache_hit, 0);
        ck_assert_str_eq(r->answer, "primary: hi");
        rec_free(r);
        idle();
    }
    ck_assert(calls("primary") == 2);
    /* per request: the tenant's documents version, then the answer */
    ck_assert(counter("cache_test_calls_total", "op=\"get\"") == 4);
    ck_assert(counter("cache_test_calls_total", "op=\"set\"") == 2);
    ck_assert(counter("ragkernel_cache_errors_total", NULL) == 4);
    retire();
    boot(BASIC "  cache: g\n", inst);
    rec *r = ask("hi");
    ck_assert_int_eq(r->status, RK_OK);
    ck_assert_int_eq(r->cache_hit, 0);
    ck_assert(counter("ragkernel_cache_misses_total", NULL) == 3);
    rec_free(r);
    free(inst);
}
END_TEST

static rec *turn(const char *conv, const char *q)
{
    rk_message m = {"user", q};
    rk_chat_input in = input(&m, 1);
    in.conversation_id = conv;
    in.new_conversation = conv == NULL;
    rec *r = ask_in(&in);
    ck_assert_int_eq(r->status, RK_OK);
    idle(); /* the append (and any compaction) runs after on_done */
    return r;
}

START_TEST(history_loaded_appended_compacted)
{
    char *inst = instances_with("  h:\n    plugin: good_history\n  c:\n    plugin: good_cache\n");
    boot(BASIC "  history: h\n  cache: c\n  history_max_messages: 4\n", inst);
    rec *r1 = turn(NULL, "first");
    ck_assert_int_eq(strlen(r1->conv), 32);
    ck_assert_str_eq(r1->conv, r1->res_conv);
    rec *r = turn(r1->conv, "[echo] second");
    ck_assert_str_eq(r->answer, "n=4|system:SYS|user:first|assistant:primary: first"
                                "|user:[echo] second");
    rec_free(r);
    r = turn(r1->conv, "first"); /* a conversation is never answered from the cache */
    ck_assert_int_eq(r->cache_hit, 0);
    rec_free(r);
    /* 6 messages > 4: compacted to a summary + the last 3 */
    r = turn(r1->conv, "[echo] fourth");
    const char *pfx = "n=6|system:SYS|system:Summary of earlier conversation: "
                      "user: first assistant: primary: first user: [echo] second|";
    ck_assert_msg(strncmp(r->answer, pfx, strlen(pfx)) == 0, "answer: %s", r->answer);
    ck_assert_msg(strstr(r->answer, "|user:first|assistant:primary: first|user:[echo] fourth"),
                  "answer: %s", r->answer);
    ck_assert(calls("primary") == 4);
    rec_free(r);
    rec_free(r1);
    free(inst);
}
END_TEST

START_TEST(history_summarized_by_llm)
{
    char *inst = instances_with("  h:\n    plugin: good_history\n"
                                "  s:\n    plugin: llm_scripted\n    config: {label: sum}\n");
    boot(BASIC "  history: h\n  history_max_messages: 4\n  history_summarizer: s\n", inst);
    rec *r1 = turn(NULL, "first");
    rec_free(turn(r1->conv, "second"));
    rec_free(turn(r1->conv, "third")); /* 6 messages > 4: the summarizer is asked */
    rec *r = turn(r1->conv, "[echo] fourth");
    /* llm_scripted answers "<label>: <last user message>": the transcript */
    const char *pfx = "n=6|system:SYS|system:Summary of earlier conversation: sum: "
                      "user: first\nassistant: primary: first\nuser: second\n|";
    ck_assert_msg(strncmp(r->answer, pfx, strlen(pfx)) == 0, "answer: %s", r->answer);
    ck_assert(calls("sum") == 2); /* after the 3rd turn, and again after the 4th */
    rec_free(r);
    rec_free(r1);
    free(inst);
}
END_TEST

START_TEST(history_summary_failure_trims)
{
    /* a summarizer that never answers: the guard (llm_timeout) ends the call
     * and the older messages are trimmed instead */
    char *inst = instances_with("  h:\n    plugin: good_history\n"
                                "  s:\n    plugin: llm_scripted\n    config: {label: sum, mode: hang}\n");
    boot(BASIC "  history: h\n  history_max_messages: 4\n  history_summarizer: s\n", inst);
    rec *r1 = turn(NULL, "first");
    rec_free(turn(r1->conv, "second"));
    rec_free(turn(r1->conv, "third"));
    rec *r = turn(r1->conv, "[echo] fourth");
    const char *pfx = "n=6|system:SYS|system:Summary of earlier conversation: "
                      "user: first assistant: primary: first user: second|";
    ck_assert_msg(strncmp(r->answer, pfx, strlen(pfx)) == 0, "answer: %s", r->answer);
    rec_free(r);
    rec_free(r1);
    free(inst);
}
END_TEST

/* ---- cancel -------------------------------------------------------------------- */

/* As a transport must: a handle is valid until on_done, so cancel under the
 * lock that on_done takes, and only while it has not come. */
static void cancel_if_running(rec *r, rk_chat *chat)
{
    pthread_mutex_lock(&r->mu);
    if (!r->n_done) hostapi_table()->chat_cancel(chat);
    pthread_mutex_unlock(&r->mu);
}

START_TEST(cancel_gives_one_done)
{
    boot("  llm: [primary, backup]\n  llm_timeout: 5s\n  total_timeout: 10s\n", LLMS);
    rk_message m = {"user", "[hang] hi"};
    rk_chat_input in = input(&m, 1);
    rec *r = rec_new();
    rk_chat *chat = start(&in, r);
    msleep(100);
    cancel_if_running(r, chat);
    ck_assert(wait_done(r, 2000));
    ck_assert_int_eq(r->status, RK_ERR_CANCELLED);
    ck_assert_int_eq(r->http, 499);
    msleep(200);
    ck_assert_int_eq(r->n_done, 1);
    ck_assert_str_eq(r->events, "X");
    idle();
    rec_free(r);
}
END_TEST

START_TEST(cancel_races_completion)
{
    boot(BASIC, LLMS);
    rk_message m = {"user", "hi"};
    rk_chat_input in = input(&m, 1);
    rec *rs[60];
    int ok = 0, cancelled = 0;
    for (int i = 0; i < 60; i++) {
        rs[i] = rec_new();
        rk_chat *chat = start(&in, rs[i]);
        if (i % 3 == 1) msleep(1);
        if (i % 3 == 2) msleep(3);
        cancel_if_running(rs[i], chat);
    }
    for (int i = 0; i < 60; i++) ck_assert(wait_done(rs[i], 5000));
    msleep(100);
    for (int i = 0; i < 60; i++) {
        ck_assert_int_eq(rs[i]->n_done, 1);
        ck_assert_int_eq(rs[i]->late, 0);
        ck_assert(rs[i]->status == RK_OK || rs[i]->status == RK_ERR_CANCELLED);
        ok += rs[i]->status == RK_OK;
        cancelled += rs[i]->status == RK_ERR_CANCELLED;
        rec_free(rs[i]);
    }
    ck_assert_int_eq(ok + cancelled, 60);
    ck_assert_int_gt(cancelled, 0);
    idle();
}
END_TEST

/* ---- input limits, models, embeddings, host table -------------------------------- */

static void rejected(const rk_chat_input *in, int want, const char *text)
{
    rec *r = rec_new();
    rk_chat *chat = NULL;
    rk_err err = {{0}};
    int rc = hostapi_table()->chat_start(NULL, in, &SINK, r, &chat, &err);
    ck_assert_int_eq(rc, want);
    ck_assert_msg(strstr(err.msg, text), "message: %s", err.msg);
    msleep(20);
    ck_assert_int_eq(r->n_events, 0); /* synchronous: no callback at all */
    rec_free(r);
}

START_TEST(input_limits_rejected_synchronously)
{
    boot("  llm: [primary]\n  max_messages: 3\n  max_input_bytes: 64\n", LLMS);
    rk_message m[4] = {{"user", "a"}, {"assistant", "b"}, {"user", "c"}, {"user", "d"}};
    rk_chat_input in = input(m, 4);
    rejected(&in, RK_ERR_TOO_LARGE, "too many messages: 4 (limit 3)");
    char big[100];
    memset(big, 'x', sizeof big - 1);
    big[99] = '\0';
    rk_message b = {"user", big};
    in = input(&b, 1);
    rejected(&in, RK_ERR_TOO_LARGE, "99 bytes (limit 64)");
    in = input(m, 0);
    rejected(&in, RK_ERR_INVALID, "must not be empty");
    rk_message bad = {"tool", "x"};
    in = input(&bad, 1);
    rejected(&in, RK_ERR_INVALID, "role");
    rk_message null_content = {"user", NULL};
    in = input(&null_content, 1);
    rejected(&in, RK_ERR_INVALID, "content");
    in = input(m, 3); /* at the limits: fine */
    rec *r = ask_in(&in);
    ck_assert_int_eq(r->status, RK_OK);
    ck_assert_str_eq(r->answer, "primary: c");
    rec_free(r);
    ck_assert(counter("ragkernel_chat_errors_total", "type=\"invalid_request_error\"") == 5);
}
END_TEST

static char g_models[256];

static void on_model(void *ud, const char *id, const char *owner)
{
    (void)ud;
    size_t n = strlen(g_models);
    snprintf(g_models + n, sizeof g_models - n, "%s/%s ", id, owner);
}

START_TEST(models_and_unsupported_embeddings)
{
    char *inst = instances_with("  echo:\n    plugin: good_llm\n");
    boot(BASIC, inst);
    g_models[0] = '\0';
    hostapi_table()->list_models(on_model, NULL);
    ck_assert_str_eq(g_models, "primary/primary scripted-shared/primary backup/backup ");
    retire();
    boot("  llm: [echo]\n", inst);
    const char *inputs[] = {"x"};
    rk_chat *call = NULL;
    rk_err err = {{0}};
    ck_assert_int_eq(hostapi_table()->embed_start(NULL, NULL, inputs, 1, NULL, NULL, &call, &err),
                     RK_ERR_INVALID);
    rk_embed_sink es = {sizeof es, NULL, NULL};
    es.on_done = (void (*)(void *, int, const rk_llm_result *, const char *))1;
    ck_assert_int_eq(hostapi_table()->embed_start(NULL, NULL, inputs, 1, &es, NULL, &call, &err),
                     RK_ERR_UNSUPPORTED);
    free(inst);
}
END_TEST

typedef struct erec {
    pthread_mutex_t mu;
    int n_vec, n_done, status, late;
    float v0, v1;
    int64_t t0, t_done;
} erec;

static void e_vec(void *ud, const rk_embedding *e)
{
    erec *r = ud;
    pthread_mutex_lock(&r->mu);
    r->late += r->n_done;
    r->n_vec++;
    if (e->index == 1 && e->dim == 2) r->v0 = e->values[0], r->v1 = e->values[1];
    pthread_mutex_unlock(&r->mu);
}

static void e_done(void *ud, int status, const rk_llm_result *res, const char *msg)
{
    erec *r = ud;
    (void)res, (void)msg;
    pthread_mutex_lock(&r->mu);
    r->n_done++;
    r->status = status;
    r->t_done = clock_now_ms();
    pthread_mutex_unlock(&r->mu);
}

static const rk_embed_sink ESINK = {sizeof ESINK, e_vec, e_done};

static int e_finished(erec *r, int timeout_ms)
{
    for (int i = 0; i < timeout_ms / 5; i++) {
        pthread_mutex_lock(&r->mu);
        int d = r->n_done;
        pthread_mutex_unlock(&r->mu);
        if (d) return 1;
        msleep(5);
    }
    return 0;
}

static rk_chat *embed(erec *r, const char *const *inputs, size_t n)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->t0 = clock_now_ms();
    rk_chat *call = NULL;
    rk_err err = {{0}};
    int rc = hostapi_table()->embed_start(NULL, "m", inputs, n, &ESINK, r, &call, &err);
    ck_assert_msg(rc == RK_OK, "embed_start: %s", err.msg);
    return call;
}

START_TEST(embeddings_done_timeout_cancel)
{
    boot(BASIC, LLMS);
    erec r;
    const char *two[] = {"a", "hello"};
    embed(&r, two, 2);
    ck_assert(e_finished(&r, 2000));
    ck_assert_int_eq(r.status, RK_OK);
    ck_assert_int_eq(r.n_vec, 2);
    ck_assert(r.v0 == 5 && r.v1 == 1);
    const char *hang[] = {"[hang]"};
    embed(&r, hang, 1); /* the guard ends it at llm_timeout */
    ck_assert(e_finished(&r, 3000));
    ck_assert_int_eq(r.status, RK_ERR_TIMEOUT);
    ck_assert_msg(r.t_done - r.t0 >= 290 && r.t_done - r.t0 < 2500, "took %lld",
                  (long long)(r.t_done - r.t0));
    rk_chat *call = embed(&r, hang, 1);
    msleep(50);
    pthread_mutex_lock(&r.mu);
    if (!r.n_done) hostapi_table()->chat_cancel(call);
    pthread_mutex_unlock(&r.mu);
    ck_assert(e_finished(&r, 2000));
    ck_assert_int_eq(r.status, RK_ERR_CANCELLED);
    msleep(400); /* past the guard: still one on_done */
    ck_assert_int_eq(r.n_done, 1);
    ck_assert_int_eq(r.late, 0);
    idle();
}
END_TEST

START_TEST(host_table_and_readiness)
{
    const rk_host *h = hostapi_table();
    char why[128];
    ck_assert_int_eq(h->struct_size, sizeof(rk_host));
    ck_assert_int_eq(h->abi_major, RK_ABI_MAJOR);
    ck_assert_str_eq(h->version, RK_VERSION);
    ck_assert_int_eq(h->ready(why, sizeof why), 0);
    ck_assert_msg(strstr(why, "no configuration"), "why: %s", why);
    rk_message m = {"user", "hi"};
    rk_chat_input in = input(&m, 1);
    rk_chat *chat = NULL;
    rk_err err = {{0}};
    ck_assert_int_eq(h->chat_start(NULL, &in, &SINK, NULL, &chat, &err), RK_ERR_UNAVAILABLE);
    boot(BASIC, LLMS);
    ck_assert_int_eq(h->ready(why, sizeof why), 1);
    ck_assert_ptr_eq(hostapi_current().pl, PL);
    const rk_instance *p = registry_get(R, "primary");
    ck_assert_str_eq(h->instance_name(p), "primary");
    ck_assert_str_eq(h->instance_name(NULL), "core");
    ck_assert_str_eq(h->cfg_string(p, "label"), "primary");
    ck_assert(h->now_ms() > 0 && h->wall_ms() > 1600000000000LL);
    ck_assert_int_eq(h->doc_put(NULL, NULL, NULL, NULL, &err), RK_ERR_UNSUPPORTED);
}
END_TEST

START_TEST(pipeline_free_with_chat_in_flight)
{
    boot("  llm: [primary]\n  llm_timeout: 5s\n", LLMS);
    rk_message m = {"user", "[hang] hi"};
    rk_chat_input in = input(&m, 1);
    rec *r = rec_new();
    rk_chat *chat = start(&in, r);
    msleep(50);
    ck_assert_int_eq(pipeline_inflight(PL), 1);
    generation none = {0};
    generation old = hostapi_swap(none);
    ck_assert_ptr_eq(old.pl, PL);
    pipeline_free(PL); /* drain gave up: the chat keeps what it needs alive */
    PL = NULL;
    cancel_if_running(r, chat);
    ck_assert(wait_done(r, 2000));
    ck_assert_int_eq(r->status, RK_ERR_CANCELLED);
    msleep(50);
    rec_free(r);
}
END_TEST

START_TEST(pipeline_new_checks_kinds)
{
    rk_err err = {{0}};
    char *inst = instances_with("  c:\n    plugin: good_cache\n");
    ck_assert_int_ne(boot_err("  llm: [primary, c]\n", inst, &err), RK_OK);
    ck_assert_msg(strstr(err.msg, "instance 'c' is a cache, not a llm"), "err: %s", err.msg);
    free(inst);
}
END_TEST

START_TEST(is_simple_table)
{
    static const struct {
        const char *q;
        int simple;
    } t[] = {
        {"What is the capital of France?", 1},
        {"capital of France", 1},
        {"  Who wrote War and Peace?  ", 0}, /* a conjunction: the safe side */
        {"What is RAG? How does it work?", 0},
        {"What is RAG and how does it work?", 0},
        {"Is it red or blue?", 0},
        {"Define entropy; give an example", 0},
        {"What is GPT-3.5?", 1},
        {"Explain this.\nThen that.", 0},
        {"Hello. What is RAG?", 0},
        {"Wow!", 1},
        {"one two three four five six seven eight nine ten eleven twelve", 1},
        {"one two three four five six seven eight nine ten eleven twelve thirteen", 0},
        {"Какая столица Франции?", 1},
        {"Что такое RAG и как он работает?", 0},
        {"Что лучше: чай или кофе?", 0},
        {"Что такое RAG? Как он работает?", 0},
        {"Столица Германии", 1},
        {"Кто написал «Войну И мир»", 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        ck_assert_msg(pipeline_is_simple(t[i].q, 12) == t[i].simple, "%s", t[i].q);
    ck_assert_int_eq(pipeline_is_simple("hi", 0), 0);
    ck_assert_int_eq(pipeline_is_simple(NULL, 12), 0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("pipeline");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, plain_answer);
    tcase_add_test(tc, requested_model_goes_first);
    tcase_add_test(tc, fallback_when_primary_fails);
    tcase_add_test(tc, fallback_when_primary_hangs);
    tcase_add_test(tc, cut_stream_continues_on_backup);
    tcase_add_test(tc, cut_stream_without_backup_is_an_error);
    tcase_add_test(tc, all_fail_is_502);
    tcase_add_test(tc, all_time_out_is_504);
    tcase_add_test(tc, rate_limited_by_all_is_429);
    tcase_add_test(tc, breaker_opens_and_closes);
    tcase_add_test(tc, breaker_ignores_invalid_and_tries_all_when_open);
    tcase_add_test(tc, retrieval_grounds_the_prompt);
    tcase_add_test(tc, retrieval_timeout_answers_without_sources);
    tcase_add_test(tc, cache_hit_makes_no_llm_call);
    tcase_add_test(tc, broken_cache_is_a_miss);
    tcase_add_test(tc, history_loaded_appended_compacted);
    tcase_add_test(tc, history_summarized_by_llm);
    tcase_add_test(tc, history_summary_failure_trims);
    tcase_add_test(tc, cancel_gives_one_done);
    tcase_add_test(tc, cancel_races_completion);
    tcase_add_test(tc, input_limits_rejected_synchronously);
    tcase_add_test(tc, models_and_unsupported_embeddings);
    tcase_add_test(tc, embeddings_done_timeout_cancel);
    tcase_add_test(tc, host_table_and_readiness);
    tcase_add_test(tc, pipeline_free_with_chat_in_flight);
    tcase_add_test(tc, pipeline_new_checks_kinds);
    tcase_add_test(tc, is_simple_table);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
