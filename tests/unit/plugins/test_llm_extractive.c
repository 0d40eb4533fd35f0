/*
 * test_llm_extractive — the built llm_extractive.so through the real
 * loader, host table and config validation, run on a real event loop (the
 * calls are made on the loop thread, as the pipeline does, and the test
 * waits on a condition variable with a timeout). Checks that the answer
 * quotes the sentence that contains the answer with its [n], that a
 * Russian question finds a Russian sentence through inflection, the fixed
 * messages for no passages and no overlap, cancel (before the first delta
 * and from inside one) with no callback after it, streaming in several
 * deltas never from inside complete(), max_sentences, max_tokens, models()
 * and determinism. Run from the repository root (BUILD defaults to "build").
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_harness.h"

#include <ragkernel/ragkernel.h>

#define NONE_EN "I could not find this in the uploaded documents."
#define NONE_RU "Не нашёл этого в загруженных документах."

static void h_open(ph *h, const char *yaml)
{
    ph_open(h, "llm_extractive", RK_KIND_LLM, "extractive", yaml);
}

/* ---- one completion, run on the loop ------------------------------------ */

typedef enum { CANCEL_NEVER, CANCEL_AT_ONCE, CANCEL_IN_DELTA } cancel_mode;

typedef struct run {
    ph_cond sync; /* guards what the callbacks record */
    ph *h;
    rk_llm_request req;
    rk_message msgs[2];
    cancel_mode cancel;
    rk_llm_call *call;
    int in_complete;    /* set while complete() runs */
    int start_rc;
    int deltas, done, status, off_loop, reentrant, after_done;
    char answer[4096];
    size_t len;
    char splits[256];   /* delta lengths, "12,7,9," */
    char finish[32], model[64];
    rk_usage usage;
} run;

static void on_delta(void *ud, const char *text, size_t len)
{
    run *r = ud;
    pthread_mutex_lock(&r->sync.mu);
    r->off_loop |= loop_current() != ph_loop();
    r->reentrant |= r->in_complete;
    r->after_done |= r->done;
    r->deltas++;
    if (r->len + len < sizeof r->answer) {
        memcpy(r->answer + r->len, text, len);
        r->len += len;
        r->answer[r->len] = '\0';
    }
    size_t sl = strlen(r->splits);
    snprintf(r->splits + sl, sizeof r->splits - sl, "%zu,", len);
    cancel_mode cm = r->cancel;
    pthread_mutex_unlock(&r->sync.mu);
    if (cm == CANCEL_IN_DELTA)
        r->h->llm->cancel(r->h->ctx, r->call);
}

static void on_done(void *ud, int status, const rk_llm_result *res, const char *msg)
{
    run *r = ud;
    (void)msg;
    pthread_mutex_lock(&r->sync.mu);
    r->off_loop |= loop_current() != ph_loop();
    r->reentrant |= r->in_complete;
    r->after_done |= r->done;
    r->done++;
    r->status = status;
    if (res) {
        snprintf(r->finish, sizeof r->finish, "%s", res->finish_reason ? res->finish_reason : "");
        snprintf(r->model, sizeof r->model, "%s", res->model ? res->model : "");
        r->usage = res->usage;
    }
    ph_cond_broadcast(&r->sync);
    pthread_mutex_unlock(&r->sync.mu);
}

static const rk_llm_sink sink = {sizeof(rk_llm_sink), on_delta, on_done};

static void start_on_loop(void *ud)
{
    run *r = ud;
    rk_err err = {{0}};
    r->in_complete = 1;
    r->start_rc = r->h->llm->complete(r->h->ctx, &r->req, &sink, r, &r->call, &err);
    r->in_complete = 0;
    if (r->start_rc == RK_OK && r->cancel == CANCEL_AT_ONCE)
        r->h->llm->cancel(r->h->ctx, r->call);
}

/* Wait until pred(r) or ms pass; returns pred(r). */
static int wait_for(run *r, int (*pred)(const void *arg), long ms)
{
    return ph_cond_wait(&r->sync, pred, r, ms);
}

static int is_done(const void *r) { return ((const run *)r)->done > 0; }

static void run_init(run *r, ph *h, const char *question, const rk_passage *ps,
                     size_t n)
{
    memset(r, 0, sizeof *r);
    ph_cond_init(&r->sync);
    r->h = h;
    r->msgs[0] = (rk_message){"system", "Answer from the numbered context passages."};
    r->msgs[1] = (rk_message){"user", question};
    r->req = (rk_llm_request){
        .struct_size = sizeof r->req,
        .request_id = "test",
        .messages = r->msgs,
        .n_messages = 2,
        .passages = ps,
        .n_passages = n,
        .temperature = -1,
        .deadline_ms = clock_now_ms() + 10000,
    };
}

static void run_start(run *r)
{
    ck_assert_msg(ph_on_loop(start_on_loop, r, 5000), "complete() never ran");
    ck_assert_int_eq(r->start_rc, RK_OK);
}

/* Run to completion and check the contract every answer must meet. */
static void run_answer(run *r)
{
    run_start(r);
    ck_assert_msg(wait_for(r, is_done, 5000), "no on_done within 5 s");
    /* let a stray extra callback show up if there is one */
    ph_sleep_ms(50);
    pthread_mutex_lock(&r->sync.mu);
    ck_assert_int_eq(r->done, 1);
    ck_assert_int_eq(r->status, RK_OK);
    ck_assert_int_eq(r->off_loop, 0);
    ck_assert_int_eq(r->reentrant, 0);
    ck_assert_int_eq(r->after_done, 0);
    ck_assert_int_ge(r->deltas, 1);
    pthread_mutex_unlock(&r->sync.mu);
}

static void run_fini(run *r) { ph_cond_destroy(&r->sync); }

static rk_passage passage(const char *doc, const char *text)
{
    return (rk_passage){.struct_size = sizeof(rk_passage), .doc_id = doc, .title = doc,
                        .text = text, .snippet = NULL, .score = 1.0, .chunk_index = 0};
}

static void setup(void) { ph_runtime_start(1); }

/* ---- tests ---------------------------------------------------------------- */

START_TEST(english_answer_with_citation)
{
    ph h;
    h_open(&h, "{}");
    rk_passage ps[] = {
        passage("paris", "The Eiffel Tower is in Paris. It opened in 1889 for the "
                         "World's Fair and is 330 metres tall."),
        passage("berlin", "Berlin is the capital of Germany. The Reichstag building "
                          "hosts the Bundestag, the federal parliament."),
        passage("states", "Germany has sixteen federal states."),
    };
    run r;
    run_init(&r, &h, "What is the capital city of Germany?", ps, 3);
    run_answer(&r);
    ck_assert_msg(strstr(r.answer, "Berlin is the capital of Germany [2].") != NULL,
                  "answer: %s", r.answer);
    ck_assert_msg(strstr(r.answer, "Eiffel") == NULL, "answer: %s", r.answer);
    ck_assert_msg(strstr(r.answer, "[1]") == NULL, "answer: %s", r.answer);
    ck_assert_str_eq(r.finish, "stop");
    ck_assert_str_eq(r.model, "extractive");
    ck_assert_int_ge(r.deltas, 2); /* streamed, not one blob */
    ck_assert_int_gt(r.usage.completion_tokens, 0);
    ck_assert_int_gt(r.usage.prompt_tokens, 0);
    run_fini(&r);
    ph_close(&h);
}
END_TEST

START_TEST(russian_inflection)
{
    ph h;
    h_open(&h, "{}");
    rk_passage ps[] = {
        passage("ru1", "Россия — самая большая страна мира.\n\n"
                       "Москва является столицей России. В городе много музеев."),
        passage("ru2", "Санкт-Петербург был основан в 1703 году."),
    };
    run r;
    /* "столица" in the question, only "столицей" in the text */
    run_init(&r, &h, "Какая столица у России?", ps, 2);
    run_answer(&r);
    ck_assert_msg(strstr(r.answer, "Москва является столицей России [1].") != NULL,
                  "answer: %s", r.answer);
    ck_assert_msg(strstr(r.answer, NONE_RU) == NULL, "answer: %s", r.answer);
    ck_assert_msg(strstr(r.answer, "1703") == NULL, "answer: %s", r.answer);
    run_fini(&r);
    ph_close(&h);
}
END_TEST

/* A name that matches guides in both languages: the answer comes from the
 * one in the question's language, whichever ranked first; the other
 * language is still used when it is all there is. */
START_TEST(question_language_preferred)
{
    ph h;
    h_open(&h, "{}");
    rk_passage ps[] = {
        passage("ru", "Ragkernel — сервер чата с поиском по документам."),
        passage("en", "Ragkernel is a chat server that answers from your documents."),
    };
    run r;
    run_init(&r, &h, "What is ragkernel?", ps, 2);
    run_answer(&r);
    ck_assert_msg(strstr(r.answer, "Ragkernel is a chat server") != NULL, "answer: %s", r.answer);
    ck_assert_msg(strstr(r.answer, "сервер") == NULL, "answer: %s", r.answer);
    run_fini(&r);
    run_init(&r, &h, "Что такое ragkernel?", ps + 1, 1);
    run_answer(&r);
    ck_assert_msg(strstr(r.answer, "Ragkernel is a chat server") != NULL, "answer: %s", r.answer);
    run_fini(&r);
    ph_close(&h);
}
END_TEST

/* A short line alone between blank lines is a heading whose "#" the ingest
 * step removed: it names the topic but answers nothing. */
START_TEST(headings_are_not_answers)
{
    ph h;
    h_open(&h, "{}");
    rk_passage ps[] = {
        passage("guide", "Uploading documents\n\nYou upload documents with POST /documents. "
                         "Each one is indexed at once.\n\nDeleting documents\n\nA delete "
                         "removes documents from the index too."),
    };
    run r;
    run_init(&r, &h, "How do I upload documents?", ps, 1);
    run_answer(&r);
    ck_assert_msg(strstr(r.answer, "You upload documents with POST /documents [1].") != NULL,
                  "answer: %s", r.answer);
    ck_assert_msg(strstr(r.answer, "Uploading documents") == NULL, "answer: %s", r.answer);
    ck_assert_msg(strstr(r.answer, "Deleting documents") == NULL, "answer: %s", r.answer);
    run_fini(&r);
    ph_close(&h);
}
END_TEST

START_TEST(no_passages_fixed_message)
{
    ph h;
    h_open(&h, "{}");
    run r;
    run_init(&r, &h, "How do I reset the router password?", NULL, 0);
    run_answer(&r);
    ck_assert_str_eq(r.answer, NONE_EN);
    ck_assert_str_eq(r.finish, "stop");
    ck_assert_int_ge(r.deltas, 2);
    run_fini(&r);
    run_init(&r, &h, "Как сбросить пароль роутера?", NULL, 0);
    run_answer(&r);
    ck_assert_str_eq(r.answer, NONE_RU);
    run_fini(&r);
    ph_close(&h);
}
END_TEST

START_TEST(no_overlap_fixed_message)
{
    ph h;
    h_open(&h, "{}");
    rk_passage ps[] = {
        passage("soup", "Simmer the onions for ten minutes. Add salt to taste."),
    };
    run r;
    run_init(&r, &h, "Which rocket engine did Apollo use?", ps, 1);
    run_answer(&r);
    ck_assert_str_eq(r.answer, NONE_EN);
    run_fini(&r);
    /* a question made only of stopwords matches nothing either */
    run_init(&r, &h, "What is it?", ps, 1);
    run_answer(&r);
    ck_assert_str_eq(r.answer, NONE_EN);
    run_fini(&r);
    ph_close(&h);
}
END_TEST

static int never(const void *p)
{
    const run *r = p;
    return r->done > 0 || r->deltas > 0;
}

START_TEST(cancel_before_first_delta)
{
    ph h;
    h_open(&h, "{}");
    rk_passage ps[] = {passage("a", "Berlin is the capital of Germany.")};
    run r;
    run_init(&r, &h, "What is the capital of Germany?", ps, 1);
    r.cancel = CANCEL_AT_ONCE;
    run_start(&r);
    ck_assert_msg(!wait_for(&r, never, 300), "callback after cancel");
    ck_assert_int_eq(r.deltas, 0);
    ck_assert_int_eq(r.done, 0);
    run_fini(&r);
    ph_close(&h);
}
END_TEST

static int two_deltas(const void *p)
{
    const run *r = p;
    return r->deltas >= 2 || r->done > 0;
}

START_TEST(cancel_inside_delta)
{
    ph h;
    h_open(&h, "{}");
    run r;
    run_init(&r, &h, "Where are the documents about tax returns?", NULL, 0);
    r.cancel = CANCEL_IN_DELTA;
    run_start(&r);
    ck_assert_msg(!wait_for(&r, two_deltas, 300), "callback after cancel");
    ck_assert_int_eq(r.deltas, 1);
    ck_assert_int_eq(r.done, 0);
    run_fini(&r);
    ph_close(&h);
}
END_TEST

START_TEST(deterministic)
{
    ph h;
    h_open(&h, "{}");
    rk_passage ps[] = {
        passage("a", "Backups run every night at 02:00. They are kept for 30 days."),
        passage("b", "Restore a backup from the admin console. Restores take an hour."),
        passage("c", "The console shows each backup with its size and age."),
    };
    char first[4096] = "", first_splits[256] = "";
    for (int i = 0; i < 3; i++) {
        run r;
        run_init(&r, &h, "How long are backups kept, and how do I restore a backup?", ps, 3);
        run_answer(&r);
        if (i == 0) {
            snprintf(first, sizeof first, "%s", r.answer);
            snprintf(first_splits, sizeof first_splits, "%s", r.splits);
            ck_assert_msg(strstr(first, "[") != NULL, "not grounded: %s", first);
        } else {
            ck_assert_str_eq(r.answer, first);
            ck_assert_str_eq(r.splits, first_splits);
        }
        run_fini(&r);
    }
    /* a second instance (a restart) answers the same */
    ph h2;
    h_open(&h2, "{}");
    run r;
    run_init(&r, &h2, "How long are backups kept, and how do I restore a backup?", ps, 3);
    run_answer(&r);
    ck_assert_str_eq(r.answer, first);
    run_fini(&r);
    ph_close(&h2);
    ph_close(&h);
}
END_TEST

static int count_of(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

START_TEST(several_sentences_in_document_order)
{
    ph h;
    h_open(&h, "{}");
    rk_passage ps[] = {
        passage("a", "Invoices are issued monthly. Unrelated text about the office."),
        passage("b", "Nothing relevant here at all."),
        passage("c", "Monthly invoices are sent by email to the billing contact."),
    };
    run r;
    run_init(&r, &h, "When are invoices sent?", ps, 3);
    run_answer(&r);
    const char *a = strstr(r.answer, "Invoices are issued monthly [1].");
    const char *c = strstr(r.answer, "[3].");
    ck_assert_msg(a && c && a < c, "answer: %s", r.answer);
    ck_assert_int_eq(count_of(r.answer, "["), 2);
    run_fini(&r);
    ph_close(&h);
    /* max_sentences: 1 keeps the best one only */
    h_open(&h, "{max_sentences: 1}");
    run_init(&r, &h, "When are invoices sent?", ps, 3);
    run_answer(&r);
    ck_assert_int_eq(count_of(r.answer, "["), 1);
    ck_assert_msg(strstr(r.answer, "sent by email") != NULL, "answer: %s", r.answer);
    run_fini(&r);
    ph_close(&h);
}
END_TEST

START_TEST(max_tokens_cuts)
{
    ph h;
    h_open(&h, "{}");
    run r;
    run_init(&r, &h, "Anything about llamas?", NULL, 0);
    r.req.max_tokens = 3;
    run_answer(&r);
    ck_assert_str_eq(r.answer, "I could not");
    ck_assert_str_eq(r.finish, "length");
    ck_assert_int_eq(r.usage.completion_tokens, 3);
    run_fini(&r);
    ph_close(&h);
}
END_TEST

static void on_model(void *ud, const char *id)
{
    char *out = ud;
    size_t n = strlen(out);
    snprintf(out + n, 128 - n, "%s;", id);
}

START_TEST(models_reported)
{
    ph h;
    h_open(&h, "{}");
    char out[128] = "";
    h.llm->models(h.ctx, on_model, out);
    ck_assert_str_eq(out, "extractive;");
    ph_close(&h);
    h_open(&h, "{model: docs-bot}");
    out[0] = '\0';
    h.llm->models(h.ctx, on_model, out);
    ck_assert_str_eq(out, "docs-bot;");
    run r;
    run_init(&r, &h, "hello there friend", NULL, 0);
    run_answer(&r);
    ck_assert_str_eq(r.model, "docs-bot");
    run_fini(&r);
    ph_close(&h);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("llm_extractive");
    ph_add_tcase(s, "contract", 120, setup, ph_runtime_stop,
                 PH_TESTS(english_answer_with_citation, russian_inflection, question_language_preferred,
                          headings_are_not_answers,
                          no_passages_fixed_message, no_overlap_fixed_message,
                          cancel_before_first_delta, cancel_inside_delta, deterministic,
                          several_sentences_in_document_order, max_tokens_cuts,
                          models_reported));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
