/*
 * test_pipeline_context — what the chat pipeline (pipeline_fixture.h)
 * puts around the question: retrieval grounding the prompt (and answering
 * without sources when it times out), the answer cache (a hit makes no LLM
 * call, a broken cache is a miss), and conversation history loaded,
 * appended, compacted and summarised (or trimmed when the summary fails).
 */
#include "pipeline_fixture.h"

/* ---- retrieval ---------------------------------------------------------------- */

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

static Suite *suite(void)
{
    Suite *s = suite_create("pipeline_context");
    ph_add_tcase(s, "pipeline", 30, setup, teardown,
                 PH_TESTS(retrieval_grounds_the_prompt,
                          retrieval_timeout_answers_without_sources,
                          cache_hit_makes_no_llm_call,
                          broken_cache_is_a_miss,
                          history_loaded_appended_compacted,
                          history_summarized_by_llm,
                          history_summary_failure_trims));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
