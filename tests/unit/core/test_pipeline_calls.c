/*
 * test_pipeline_calls — the chat pipeline's calls (pipeline_fixture.h)
 * beyond one answer: cancels (one done, racing completion), input limits
 * refused synchronously, models and embeddings (done, timeout, cancel), the
 * host table and readiness, freeing the pipeline with a chat in flight,
 * the kinds pipeline_new checks, and the simple-question table.
 */
#include "pipeline_fixture.h"

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
    ck_assert_ptr_eq(hostgen_current().pl, PL);
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
    generation old = hostgen_swap(none);
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
    Suite *s = suite_create("pipeline_calls");
    ph_add_tcase(s, "pipeline", 30, setup, teardown,
                 PH_TESTS(cancel_gives_one_done,
                          cancel_races_completion,
                          input_limits_rejected_synchronously,
                          models_and_unsupported_embeddings,
                          embeddings_done_timeout_cancel,
                          host_table_and_readiness,
                          pipeline_free_with_chat_in_flight,
                          pipeline_new_checks_kinds,
                          is_simple_table));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
