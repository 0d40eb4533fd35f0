/*
 * test_pcache — the cache entries' JSON: answers and retrieval results
 * survive a round trip byte for byte (escapes, Cyrillic, a NULL snippet,
 * scores to the last bit), entries written by other JSON writers (another
 * member order, spaces, extra members) read back, anything else is a miss,
 * and text that is not UTF-8 is not cached. Keys: stable, whitespace-
 * trimmed, and different for every input that matters.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pcache.h"
#include "testenv.h"

static rk_passage psg(const char *id, const char *title, const char *text, const char *snip,
                      double score, uint32_t idx)
{
    return (rk_passage){sizeof(rk_passage), id, title, text, snip, score, idx};
}

START_TEST(answer_round_trip)
{
    rk_passage src[] = {
        psg("guide-md", "Guide \"RU\"", "unused", "**маяк** горит\tночью", 7.25, 3),
        psg("notes", "", "unused", NULL, 0.1 + 0.2, 0),
    };
    const char *answer = "Line one\nline \\two\\ \"quoted\" [1]. Маяк — \u00e9 \U0001F600";
    size_t len = 0;
    char *e = pcache_answer_encode(answer, "gpt-x", "length", src, 2, &len);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(len, strlen(e));
    pcache_answer a;
    ck_assert_int_eq(pcache_answer_decode(e, len, &a), 0);
    ck_assert_str_eq(a.answer, answer);
    ck_assert_str_eq(a.model, "gpt-x");
    ck_assert_str_eq(a.finish_reason, "length");
    ck_assert_uint_eq(a.sources.n, 2);
    ck_assert_str_eq(a.sources.v[0].doc_id, "guide-md");
    ck_assert_str_eq(a.sources.v[0].title, "Guide \"RU\"");
    ck_assert_str_eq(a.sources.v[0].snippet, "**маяк** горит\tночью");
    ck_assert(a.sources.v[0].score == 7.25);
    ck_assert_uint_eq(a.sources.v[0].chunk_index, 3);
    ck_assert_ptr_null(a.sources.v[1].snippet);
    ck_assert(a.sources.v[1].score == 0.1 + 0.2); /* every bit of the double */
    pcache_answer_free(&a);
    free(e);
}
END_TEST

START_TEST(passages_round_trip_with_text)
{
    rk_passage src[] = {psg("d1", "T", "full text\nof the chunk", "snip", 1.5, 9),
                        psg("d2", "U", "second", NULL, -2, 1)};
    size_t len = 0;
    char *e = pcache_passages_encode(src, 2, &len);
    ck_assert_ptr_nonnull(e);
    passvec pv = {0};
    ck_assert_int_eq(pcache_passages_decode(e, len, &pv), 0);
    ck_assert_uint_eq(pv.n, 2);
    ck_assert_str_eq(pv.v[0].text, "full text\nof the chunk");
    ck_assert_str_eq(pv.v[1].text, "second");
    ck_assert(pv.v[1].score == -2);
    passvec_free(&pv);
    free(e);
}
END_TEST

START_TEST(foreign_writers_read_back)
{
    /* another member order, spaces, an unknown member, no snippet */
    const char *e = "{ \"sources\" : [ {\"chunk_index\": 2, \"score\": 1e0, \"title\": \"T\","
                    " \"doc_id\": \"x\", \"extra\": [1, {\"y\": null}]} ],"
                    " \"finish_reason\": \"stop\", \"model\": \"m\", \"answer\": \"a\\u00e9\" }";
    pcache_answer a;
    ck_assert_int_eq(pcache_answer_decode(e, strlen(e), &a), 0);
    ck_assert_str_eq(a.answer, "a\xc3\xa9");
    ck_assert_uint_eq(a.sources.n, 1);
    ck_assert_str_eq(a.sources.v[0].text, ""); /* neither text nor snippet */
    ck_assert_uint_eq(a.sources.v[0].chunk_index, 2);
    pcache_answer_free(&a);
}
END_TEST

START_TEST(everything_else_is_a_miss)
{
    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "{\"answer\":\"a\",\"model\":\"m\",\"finish_reason\":\"stop\"}",            /* no sources */
        "{\"answer\":1,\"model\":\"m\",\"finish_reason\":\"s\",\"sources\":[]}",    /* a number */
        "{\"answer\":\"a\",\"model\":\"m\",\"finish_reason\":\"s\",\"sources\":"
        "[{\"doc_id\":\"x\",\"title\":\"t\",\"score\":1,\"chunk_index\":-1}]}",  /* negative index */
        "{\"answer\":\"a\",\"model\":\"m\",\"finish_reason\":\"s\",\"sources\":"
        "[{\"doc_id\":\"x\",\"score\":1,\"chunk_index\":0}]}",                    /* no title */
        "{\"answer\":\"a\",\"model\":\"m\",\"finish_reason\":\"s\",\"sources\":[]} trailing",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pcache_answer a;
        ck_assert_msg(pcache_answer_decode(bad[i], strlen(bad[i]), &a) == -1, "entry %zu", i);
        ck_assert_ptr_null(a.answer);
        ck_assert_uint_eq(a.sources.n, 0);
    }
    passvec pv = {0};
    ck_assert_int_eq(pcache_passages_decode("{\"passages\":{}}", 15, &pv), -1);
    ck_assert_uint_eq(pv.n, 0);
}
END_TEST

START_TEST(not_utf8_not_cached)
{
    size_t len = 0;
    ck_assert_ptr_null(pcache_answer_encode("bad \xff byte", "m", "stop", NULL, 0, &len));
    rk_passage p = psg("d", "t\xc3", "x", NULL, 1, 0);
    ck_assert_ptr_null(pcache_answer_encode("ok", "m", "stop", &p, 1, &len));
    ck_assert_ptr_null(pcache_passages_encode(&p, 1, &len));
}
END_TEST

START_TEST(keys)
{
    rk_message m1[] = {{"user", "  What is BM25?\n"}}, m2[] = {{"user", "What is BM25?"}},
               m3[] = {{"user", "What is BM26?"}}, m4[] = {{"system", "What is BM25?"}};
    char k1[PCACHE_KEY_MAX], k2[PCACHE_KEY_MAX], k3[PCACHE_KEY_MAX];
    pcache_answer_key(k1, "t", "m", m1, 1, -1, 0, 1, "v1");
    pcache_answer_key(k2, "t", "m", m2, 1, -1, 0, 1, "v1");
    ck_assert_str_eq(k1, k2); /* trimmed */
    ck_assert_int_eq(strncmp(k1, "answer:", 7), 0);
    ck_assert_uint_eq(strlen(k1), 7 + 64);
    const char *other[][2] = {{"t2", "m"}, {"t", "m2"}};
    for (size_t i = 0; i < 2; i++) {
        pcache_answer_key(k3, other[i][0], other[i][1], m2, 1, -1, 0, 1, "v1");
        ck_assert_str_ne(k1, k3);
    }
    pcache_answer_key(k3, "t", "m", m3, 1, -1, 0, 1, "v1");
    ck_assert_str_ne(k1, k3);
    pcache_answer_key(k3, "t", "m", m4, 1, -1, 0, 1, "v1");
    ck_assert_str_ne(k1, k3);
    pcache_answer_key(k3, "t", "m", m2, 1, 0.5, 0, 1, "v1");
    ck_assert_str_ne(k1, k3);
    pcache_answer_key(k3, "t", "m", m2, 1, -1, 10, 1, "v1");
    ck_assert_str_ne(k1, k3);
    pcache_answer_key(k3, "t", "m", m2, 1, -1, 0, 0, "v1");
    ck_assert_str_ne(k1, k3);
    pcache_answer_key(k3, "t", "m", m2, 1, -1, 0, 1, "v2");
    ck_assert_str_ne(k1, k3);
    pcache_retrieve_key(k2, "t", " q ", 5, 0, "v1");
    pcache_retrieve_key(k3, "t", "q", 5, 0, "v1");
    ck_assert_str_eq(k2, k3);
    pcache_retrieve_key(k3, "t", "q", 5, 1, "v1");
    ck_assert_str_ne(k2, k3);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pcache");
    ph_add_tcase(s, "entries", 30, NULL, NULL,
                 PH_TESTS(answer_round_trip, passages_round_trip_with_text,
                          foreign_writers_read_back, everything_else_is_a_miss,
                          not_utf8_not_cached, keys));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
