/*
 * test_llm_call — the LLM plugins' retry engine (llm_call, llm_client) with
 * the OpenAI response reader, compiled in directly and driven through a
 * fake host whose HTTP calls and timers the tests complete by hand:
 * streams, retries on 5xx and timeouts, Retry-After against the deadline,
 * no retry once a delta went out, cancels from inside and outside the
 * callbacks, malformed and refused answers, embeddings.
 */
#define _GNU_SOURCE /* before any libc header: llm_common.c needs strptime */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../../plugins/lib/llm/llm_common.c"
#include "../../../plugins/lib/llm/llm_sse.c"
#include "../../../plugins/lib/llm/llm_client.c"
#include "../../../plugins/lib/llm/llm_call.c"
#include "../../../plugins/llm_openai/openai_stream.c"
#include "testenv.h"

/* ---------------------------------------------------------------- fake host */

typedef struct ftimer { void (*fn)(void *); void *ud; int64_t delay; int live; } ftimer;
typedef struct fhttp { const rk_http_handler *h; void *ud; int64_t deadline; int live; } fhttp;

static int64_t now_ms_v = 100000;
static ftimer timers[16];
static int n_timers;
static fhttp calls[16];
static int n_calls, n_http_cancel;

static int64_t f_now(void) { return now_ms_v; }
static int64_t f_wall(void) { return 1700000000000LL; }
static void f_log(const rk_instance *s, rk_log_level l, const char *fmt, ...) { (void)s, (void)l, (void)fmt; }
static rk_metric *f_metric(rk_metric_type t, const char *n, const char *h, const char *l)
{
    (void)t, (void)n, (void)h, (void)l;
    return NULL;
}
static rk_timer *f_timer_start(int64_t d, void (*fn)(void *), void *ud)
{
    timers[n_timers] = (ftimer){fn, ud, d, 1};
    return (rk_timer *)&timers[n_timers++];
}
static void f_timer_cancel(rk_timer *t) { ((ftimer *)t)->live = 0; }
static rk_http_call *f_http_start(const rk_http_request *r, const rk_http_handler *h, void *ud,
                                  rk_err *err)
{
    (void)err;
    calls[n_calls] = (fhttp){h, ud, r->deadline_ms, 1};
    return (rk_http_call *)&calls[n_calls++];
}
static void f_http_cancel(rk_http_call *c)
{
    ((fhttp *)c)->live = 0;
    n_http_cancel++;
}

static rk_host fake_host;
static llm_client client;

typedef struct rec {
    char text[512];
    int done, status, cancel_in_delta;
    char msg[RK_ERR_MSG_MAX], finish[32];
    int64_t retry_after, prompt, completion;
    rk_llm_call *call;
} rec;
static rec R;

static void s_delta(void *ud, const char *t, size_t n)
{
    rec *r = ud;
    strncat(r->text, t, n);
    if (r->cancel_in_delta)
        llm_call_cancel(r->call);
}
static void s_done(void *ud, int st, const rk_llm_result *res, const char *m)
{
    rec *r = ud;
    r->done++;
    r->status = st;
    snprintf(r->msg, sizeof r->msg, "%s", m ? m : "");
    snprintf(r->finish, sizeof r->finish, "%s", res->finish_reason ? res->finish_reason : "");
    r->retry_after = res->retry_after_ms;
    r->prompt = res->usage.prompt_tokens;
    r->completion = res->usage.completion_tokens;
}

static void setup(void)
{
    memset(&fake_host, 0, sizeof fake_host);
    fake_host.struct_size = sizeof fake_host;
    fake_host.log = f_log;
    fake_host.now_ms = f_now;
    fake_host.wall_ms = f_wall;
    fake_host.metric = f_metric;
    fake_host.timer_start = f_timer_start;
    fake_host.timer_cancel = f_timer_cancel;
    fake_host.http_start = f_http_start;
    fake_host.http_cancel = f_http_cancel;
    client = (llm_client){.host = &fake_host, .name = "t", .timeout_ms = 60000,
                          .connect_timeout_ms = 5000, .backoff_base_ms = 250,
                          .backoff_max_ms = 8000, .max_retries = 2};
    memset(&R, 0, sizeof R);
    n_timers = n_calls = n_http_cancel = 0;
}

static rk_llm_call *start(int64_t deadline)
{
    llm_call_spec sp = {.url = "http://127.0.0.1:1/v1/chat/completions",
                        .body = llm_strdup("{}"), .body_len = 2, .model = "m",
                        .deadline_ms = deadline, .on_delta = s_delta, .on_done = s_done,
                        .ud = &R, .proto = &oai_chat_stream_proto,
                        .state = oai_chat_state_new()};
    rk_err err;
    ck_assert_int_eq(llm_call_start(&client, &sp, &R.call, &err), RK_OK);
    return R.call;
}

static fhttp *last(void) { return &calls[n_calls - 1]; }
static int respond(int status, const char *retry_after)
{
    rk_http_header h = {"Retry-After", retry_after};
    return last()->h->on_response(last()->ud, status, &h, retry_after ? 1 : 0);
}
static int body(const char *s) { return last()->h->on_body(last()->ud, s, strlen(s)); }
static void done(int st)
{
    fhttp *c = last();
    c->live = 0;
    c->h->on_done(c->ud, st, st ? "connection reset" : NULL);
}
static ftimer *fire(void)
{
    ftimer *t = &timers[n_timers - 1];
    ck_assert(t->live);
    t->live = 0;
    t->fn(t->ud);
    return t;
}

#define CHUNK(s) "data: {\"model\":\"up\",\"choices\":[{\"delta\":{\"content\":\"" s "\"}}]}\n\n"
#define FINISH "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
#define USAGE "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n"

START_TEST(call_stream_ok)
{
    start(0);
    ck_assert_int_eq(respond(200, NULL), 0);
    ck_assert_int_eq(body(": ping\n\n" CHUNK("Hel")), 0);
    ck_assert_int_eq(body(CHUNK("lo") FINISH USAGE "data: [DO"), 0);
    ck_assert_int_eq(R.done, 0); /* nothing final before the transfer ends */
    ck_assert_int_eq(body("NE]\n\n"), 0);
    done(RK_OK);
    ck_assert_int_eq(R.done, 1);
    ck_assert_int_eq(R.status, RK_OK);
    ck_assert_str_eq(R.text, "Hello");
    ck_assert_str_eq(R.finish, "stop");
    ck_assert_int_eq(R.prompt, 5);
    ck_assert_int_eq(R.completion, 2);
}
END_TEST

START_TEST(call_retry_5xx_then_ok)
{
    start(0);
    respond(500, NULL);
    body("{\"error\":{\"message\":\"boom\"}}");
    done(RK_OK);
    ck_assert_int_eq(R.done, 0);
    ck_assert_int_eq(n_timers, 1);
    ck_assert_int_le(timers[0].delay, 250);
    fire();
    ck_assert_int_eq(n_calls, 2);
    respond(200, NULL);
    body(CHUNK("ok") "data: [DONE]\n\n");
    done(RK_OK);
    ck_assert_int_eq(R.done, 1);
    ck_assert_int_eq(R.status, RK_OK);
    ck_assert_str_eq(R.text, "ok");
}
END_TEST

START_TEST(call_retries_exhausted)
{
    start(0);
    for (int i = 0; i < 3; i++) {
        respond(503, NULL);
        done(RK_OK);
        if (i < 2)
            fire();
    }
    ck_assert_int_eq(n_calls, 3);
    ck_assert_int_eq(R.done, 1);
    ck_assert_int_eq(R.status, RK_ERR_UNAVAILABLE);
    ck_assert(strstr(R.msg, "503") != NULL);
}
END_TEST

START_TEST(call_retry_after_and_deadline)
{
    start(now_ms_v + 5000);
    respond(429, "1");
    done(RK_OK);
    ck_assert_int_eq(timers[0].delay, 1000); /* Retry-After wins over backoff */
    now_ms_v += 1000;
    fire();
    respond(429, "10"); /* would wake after the deadline: give up now */
    done(RK_OK);
    ck_assert_int_eq(R.done, 1);
    ck_assert_int_eq(R.status, RK_ERR_RATE_LIMITED);
    ck_assert_int_eq(R.retry_after, 10000);
    ck_assert_int_le(calls[1].deadline, 100000 + 5000); /* attempt capped by the deadline */
}
END_TEST

START_TEST(call_no_retry_after_delta)
{
    start(0);
    respond(200, NULL);
    body(CHUNK("par"));
    done(RK_ERR_UNAVAILABLE); /* cut mid-stream */
    ck_assert_int_eq(n_timers, 0);
    ck_assert_int_eq(R.done, 1);
    ck_assert_int_eq(R.status, RK_ERR_UNAVAILABLE);
    ck_assert(strstr(R.msg, "connection reset") != NULL); /* the transport's reason */
    ck_assert_str_eq(R.text, "par");
}
END_TEST

START_TEST(call_reset_after_done_marker)
{
    start(0); /* the connection breaks after [DONE]: the answer is whole */
    respond(200, NULL);
    body(CHUNK("all") "data: [DONE]\n\n");
    done(RK_ERR_UNAVAILABLE);
    ck_assert_int_eq(R.status, RK_OK);
    ck_assert_str_eq(R.text, "all");
}
END_TEST

START_TEST(call_eof_before_done)
{
    client.max_retries = 0;
    start(0);
    respond(200, NULL);
    body(": only a comment\n\n");
    done(RK_OK);
    ck_assert_int_eq(R.status, RK_ERR_UNAVAILABLE);
    ck_assert(strstr(R.msg, "[DONE]") != NULL);
}
END_TEST

START_TEST(call_plain_json_to_stream)
{
    start(0); /* a server that ignores stream:true */
    respond(200, NULL);
    body("{\"model\":\"up\",\"choices\":[{\"message\":{\"content\":\"whole\"},");
    body("\"finish_reason\":\"length\"}]}");
    done(RK_OK);
    ck_assert_int_eq(R.status, RK_OK);
    ck_assert_str_eq(R.text, "whole");
    ck_assert_str_eq(R.finish, "length");
}
END_TEST

START_TEST(call_malformed)
{
    start(0);
    respond(200, NULL);
    ck_assert_int_ne(body("data: {not json\n\n"), 0); /* transfer aborted */
    done(RK_ERR_CANCELLED);
    ck_assert_int_eq(n_timers, 0); /* garbage is not worth a retry */
    ck_assert_int_eq(R.status, RK_ERR_UPSTREAM);
    ck_assert(strncmp(R.msg, "malformed upstream response", 27) == 0);
}
END_TEST

START_TEST(call_auth_error)
{
    start(0);
    respond(401, NULL);
    body("{\"error\":{\"message\":\"Incorrect API key provided\"}}");
    done(RK_OK);
    ck_assert_int_eq(n_timers, 0);
    ck_assert_int_eq(R.status, RK_ERR_AUTH);
    ck_assert(strstr(R.msg, "Incorrect API key provided") != NULL);
}
END_TEST

START_TEST(call_cancel_in_delta)
{
    start(0);
    R.cancel_in_delta = 1;
    respond(200, NULL);
    ck_assert_int_ne(body(CHUNK("a") CHUNK("b")), 0); /* abort, no second delta */
    ck_assert_str_eq(R.text, "a");
    ck_assert_int_eq(n_http_cancel, 0); /* not from inside the transfer */
    done(RK_ERR_CANCELLED);             /* frees; no callback */
    ck_assert_int_eq(R.done, 0);
}
END_TEST

START_TEST(call_cancel_while_waiting)
{
    start(0);
    respond(502, NULL);
    done(RK_OK);
    ck_assert(timers[0].live);
    llm_call_cancel(R.call);
    ck_assert(!timers[0].live);
    ck_assert_int_eq(R.done, 0);
    start(0); /* and while the HTTP call runs */
    llm_call_cancel(R.call);
    ck_assert_int_eq(n_http_cancel, 1);
    ck_assert_int_eq(R.done, 0);
}
END_TEST

START_TEST(call_timeout_retried)
{
    start(now_ms_v + 10000);
    done(RK_ERR_TIMEOUT);
    ck_assert_int_eq(n_timers, 1);
    fire();
    done(RK_ERR_TIMEOUT);
    fire();
    done(RK_ERR_TIMEOUT);
    ck_assert_int_eq(R.status, RK_ERR_TIMEOUT);
}
END_TEST

static void v_on(void *ud, const rk_embedding *e)
{
    rec *r = ud;
    size_t used = strlen(r->text);
    snprintf(r->text + used, sizeof r->text - used, "%zu:%zu:%.2f|", e->index, e->dim,
             (double)e->values[e->dim - 1]);
}

START_TEST(call_embeddings)
{
    rk_embed_sink sink = {sizeof sink, v_on, s_done};
    llm_call_spec sp = {.url = "http://127.0.0.1:1/v1/embeddings", .body = llm_strdup("{}"),
                        .body_len = 2, .on_done = s_done, .ud = &R, .proto = &oai_embed_proto,
                        .state = oai_embed_state_new(&sink, &R, 2)};
    rk_err err;
    ck_assert_int_eq(llm_call_start(&client, &sp, &R.call, &err), RK_OK);
    respond(200, NULL);
    body("{\"data\":[{\"index\":0,\"embedding\":[0.5,0.25]},");
    body("{\"index\":1,\"embedding\":[1,2]}],\"usage\":{\"prompt_tokens\":3}}");
    done(RK_OK);
    ck_assert_int_eq(R.status, RK_OK);
    ck_assert_str_eq(R.text, "0:2:0.25|1:2:2.00|");
    ck_assert_int_eq(R.prompt, 3);
}
END_TEST

/* oj_plain_run against the byte-by-byte definition: every special byte
 * at every offset of every length up to 40, at every alignment. */

static Suite *suite(void)
{
    Suite *s = suite_create("llm_call");
    ph_add_tcase(s, "call", 4, setup, NULL,
                 PH_TESTS(call_stream_ok, call_retry_5xx_then_ok, call_retries_exhausted,
                          call_retry_after_and_deadline, call_no_retry_after_delta,
                          call_reset_after_done_marker, call_eof_before_done,
                          call_plain_json_to_stream, call_malformed, call_auth_error,
                          call_cancel_in_delta, call_cancel_while_waiting,
                          call_timeout_retried, call_embeddings));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
