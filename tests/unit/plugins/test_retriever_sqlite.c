/*
 * test_retriever_sqlite — the retriever_sqlite plugin through its vtable
 * (rs_fixture.h): what it finds. Stemming and languages (English, Russian,
 * mixed scripts, the query's language, others), tokens and stopwords,
 * tenants and filters, snippets, deadlines and fast mode. What it keeps
 * (replacement, removal, persistence, healing, concurrency) is
 * test_retriever_sqlite_store. Run from the repository root (BUILD
 * defaults to "build").
 */
#include "rs_fixture.h"

/* ---- cases --------------------------------------------------------------- */

START_TEST(english_stemming)
{
    void *c = open_rs();
    hits h;
    put1(c, "default", "e1", "Running documents through the indexer.");
    put1(c, "default", "e2", "Completely unrelated words about gardens.");
    ck_assert_int_eq(search(c, "default", "run document", &h), 1);
    ck_assert_str_eq(h.doc[0], "e1");
    ck_has(h.snippet[0], "**Running**");
    ck_has(h.snippet[0], "**documents**");
    ck_assert_ptr_null(strstr(h.snippet[0], "**indexer**"));
    g_desc->destroy(c);
}
END_TEST

START_TEST(russian_inflections)
{
    void *c = open_rs();
    hits h;
    put1(c, "default", "r1", "Этот документ описывает устройство системы.");
    put1(c, "default", "r2", "Дети играли с книгами во дворе.");
    put1(c, "default", "r3", "ЁЛКИ растут в лесу.");
    ck_assert_int_eq(search(c, "default", "Сколько документов?", &h), 1);
    ck_assert_str_eq(h.doc[0], "r1");
    ck_has(h.snippet[0], "**документ**");
    ck_assert_int_eq(search(c, "default", "книга", &h), 1);
    ck_assert_str_eq(h.doc[0], "r2");
    ck_has(h.snippet[0], "**книгами**");
    ck_assert_int_eq(search(c, "default", "ёлка", &h), 1); /* ё folds to е */
    ck_assert_str_eq(h.doc[0], "r3");
    g_desc->destroy(c);
}
END_TEST

START_TEST(mixed_scripts)
{
    void *c = open_rs();
    hits h;
    /* Latin words inside Russian text are stemmed as English */
    put1(c, "default", "m1", "Сервер поддерживает running queries и streaming.");
    ck_assert_int_eq(search(c, "default", "run query", &h), 1);
    ck_assert_int_eq(search(c, "default", "серверы", &h), 1);
    g_desc->destroy(c);
}
END_TEST

/* A guide and its translation both name the product: the question's
 * language decides which ranks first. */
START_TEST(query_language_breaks_ties)
{
    void *c = open_rs();
    hits h;
    put1(c, "default", "en", "Ragkernel answers from your documents and cites them.");
    put1(c, "default", "ru", "Ragkernel отвечает по вашим документам и ссылается на них.");
    ck_assert_int_eq(search(c, "default", "what is ragkernel", &h), 2);
    ck_assert_str_eq(h.doc[0], "en");
    ck_assert_int_eq(search(c, "default", "что такое ragkernel", &h), 2);
    ck_assert_str_eq(h.doc[0], "ru");
    g_desc->destroy(c);
}
END_TEST

/* Identifiers like RAGKERNEL_DATA are one word: a search for one of their
 * parts does not find them, a search for the whole does. */
START_TEST(snake_case_is_one_word)
{
    void *c = open_rs();
    hits h;
    put1(c, "default", "env", "Set RAGKERNEL_DATA to move the data directory.");
    put1(c, "default", "name", "The server is called ragkernel.");
    ck_assert_int_eq(search(c, "default", "ragkernel", &h), 1);
    ck_assert_str_eq(h.doc[0], "name");
    ck_assert_int_eq(search(c, "default", "RAGKERNEL_DATA", &h), 1);
    ck_assert_str_eq(h.doc[0], "env");
    g_desc->destroy(c);
}
END_TEST

START_TEST(stopword_only_query)
{
    void *c = open_rs();
    hits h;
    put1(c, "default", "w1", "The Who played in London.");
    put1(c, "default", "w2", "A band from Liverpool.");
    ck_assert_int_ge(search(c, "default", "the who", &h), 1);
    ck_assert_str_eq(h.doc[0], "w1");
    ck_assert_int_eq(search(c, "default", "  ...  ", &h), 0);
    g_desc->destroy(c);
}
END_TEST

START_TEST(empty_and_title_only)
{
    void *c = open_rs();
    hits h;
    const char *empty = "", *punct = "—!?";
    put(c, "default", "t", "Orbital mechanics", &empty, 1);
    put(c, "default", "p", "", &punct, 1);
    ck_assert_int_eq(chunks_of(c, "default", "t"), 1);
    ck_assert_int_eq(chunks_of(c, "default", "p"), 1);
    ck_assert_int_eq(search(c, "default", "orbital", &h), 1);
    ck_assert_str_eq(h.doc[0], "t");
    ck_assert_str_eq(h.snippet[0], "");
    rk_err err = {{0}};
    ck_assert_int_eq(g_vt->remove(c, "default", "p", &err), RK_OK);
    put(c, "default", "t", "Orbital", &punct, 1);
    ck_assert_int_eq(search(c, "default", "orbital", &h), 1);
    g_desc->destroy(c);
}
END_TEST

START_TEST(tenant_isolation)
{
    void *c = open_rs();
    hits h;
    put1(c, "acme", "d1", "quarterly revenue report for acme");
    put1(c, "globex", "d1", "quarterly revenue forecast for globex");
    ck_assert_int_eq(search(c, "acme", "revenue", &h), 1);
    ck_has(h.snippet[0], "acme");
    ck_assert_int_eq(search(c, "globex", "revenue", &h), 1);
    ck_has(h.snippet[0], "globex");
    ck_assert_int_eq(search(c, "initech", "revenue", &h), 0);
    ck_assert_int_eq(chunks_of(c, "initech", "d1"), 0);
    ck_assert_int_eq(chunks_of(c, "acme", "d1"), 1);
    g_desc->destroy(c);
}
END_TEST

START_TEST(doc_filter_and_k)
{
    void *c = open_rs();
    hits h;
    char id[16];
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "d%d", i);
        put1(c, "default", id, i % 2 ? "apple pie recipe" : "apple orchard apple harvest");
    }
    ck_assert_int_eq(search_f(c, "default", "apple", 5, NULL, 0, &h), 5);
    for (int i = 1; i < h.n; i++)
        ck_assert(h.score[i - 1] >= h.score[i]);
    const char *only[] = {"d3", "d8", "missing"};
    ck_assert_int_eq(search_f(c, "default", "apple", 10, only, 3, &h), 2);
    ck_assert(has_doc(&h, "d3") && has_doc(&h, "d8"));
    const char *none[] = {"missing"};
    ck_assert_int_eq(search_f(c, "default", "apple", 10, none, 1, &h), 0);
    ck_assert_int_eq(search_f(c, "default", "apple", 0, NULL, 0, &h), 0);
    g_desc->destroy(c);
}
END_TEST

START_TEST(snippet_window)
{
    void *c = open_rs();
    hits h;
    char text[4096];
    size_t o = 0;
    for (int i = 0; i < 60; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "filler%d ", i);
    snprintf(text + o, sizeof text - o, "the zebra crossing near filler words end");
    put1(c, "default", "s", text);
    ck_assert_int_eq(search(c, "default", "zebras crossings", &h), 1);
    ck_has(h.snippet[0], "**zebra** **crossing**");
    ck_has(h.snippet[0], "…");
    ck_assert_ptr_null(strstr(h.snippet[0], "filler1 "));
    ck_assert_ptr_null(strchr(h.snippet[0], '\n'));
    g_desc->destroy(c);
}
END_TEST

START_TEST(deadline_and_fast)
{
    void *c = open_rs();
    hits h = {0};
    rk_err err = {{0}};
    put1(c, "default", "a", "red green blue yellow");
    put1(c, "default", "b", "red green");
    /* a deadline already past: stop early, but never fail */
    rk_query q = {.struct_size = sizeof q, .tenant = "default", .text = "red green blue",
                  .k = 5, .deadline_ms = h_now() - 1000};
    int rc = g_vt->search(c, &q, on_hit, &h, &err);
    ck_assert_msg(rc >= 0, "%s", err.msg);
    ck_assert_int_le(rc, 2);
    q.deadline_ms = 0;
    q.fast = 1;
    memset(&h, 0, sizeof h);
    ck_assert_int_eq(g_vt->search(c, &q, on_hit, &h, &err), 2);
    ck_assert_str_eq(h.doc[0], "a");
    ck_assert_int_ge(g_search_metric.observations, 2);
    g_desc->destroy(c);
}
END_TEST

START_TEST(other_languages)
{
    void *c;
    hits h;
    set_cfg("languages", "auto");
    c = open_rs();
    put1(c, "default", "fr", "Les chats dorment dans la maison avec les enfants.");
    put1(c, "default", "en", "Cats sleep in the house with the children.");
    /* French stopwords make the query French: "chat" matches "chats" */
    ck_assert_int_eq(search(c, "default", "le chat de la maison", &h), 1);
    ck_assert_str_eq(h.doc[0], "fr");
    ck_assert_int_eq(search(c, "default", "the cat", &h), 1);
    ck_assert_str_eq(h.doc[0], "en");
    g_desc->destroy(c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("retriever_sqlite");
    ph_add_tcase(s, "core", 60, setup, teardown,
                 PH_TESTS(english_stemming, russian_inflections, mixed_scripts,
                          query_language_breaks_ties, snake_case_is_one_word,
                          stopword_only_query, empty_and_title_only, tenant_isolation,
                          doc_filter_and_k, snippet_window, deadline_and_fast,
                          other_languages));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
