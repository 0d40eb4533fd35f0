/*
 * test_pipeline — the chat pipeline end to end (pipeline_fixture.h):
 * answers and the fallback chain (a primary that fails, hangs or cuts its
 * stream; everything failing, timing out or rate limited), the requested
 * model first, and the circuit breaker. Assertions run on the test thread;
 * timeouts are a few hundred ms so the suite stays fast, and timing bounds
 * leave room for valgrind. Retrieval, cache and history are
 * test_pipeline_context; cancels, limits and the host table
 * test_pipeline_calls.
 */
#include "pipeline_fixture.h"

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

static Suite *suite(void)
{
    Suite *s = suite_create("pipeline");
    ph_add_tcase(s, "pipeline", 30, setup, teardown,
                 PH_TESTS(plain_answer,
                          requested_model_goes_first,
                          fallback_when_primary_fails,
                          fallback_when_primary_hangs,
                          cut_stream_continues_on_backup,
                          cut_stream_without_backup_is_an_error,
                          all_fail_is_502,
                          all_time_out_is_504,
                          rate_limited_by_all_is_429,
                          breaker_opens_and_closes,
                          breaker_ignores_invalid_and_tries_all_when_open));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
