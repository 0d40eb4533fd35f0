/*
 * test_prompt — the pipeline's pure helpers, without a loop or plugins:
 * the grounded prompt and the continuation request (prompt.c), the
 * compaction summary, cache keys and entries (pcache.c, passages.c),
 * SHA-256 against the FIPS 180-4 vectors, the circuit breaker's states and
 * the growable string.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breaker.h"
#include "pcache.h"
#include "prompt.h"
#include "sha256.h"
#include "strbuf.h"

static const rk_passage PASS[2] = {
    {sizeof(rk_passage), "d1", "Geo", "Paris is in France.", "**Paris** is", 2.5, 0},
    {sizeof(rk_passage), "d2", "", "Berlin is in Germany.", NULL, 1.0, 3},
};

START_TEST(prompt_layout)
{
    rk_message hist[2] = {{"user", "hi"}, {"assistant", "hello"}};
    rk_message client[2] = {{"system", "be brief"}, {"user", "where is Paris?"}};
    rk_message *m = NULL;
    size_t n = 0;
    char *sys = NULL;
    ck_assert_int_eq(prompt_build("SYS", PASS, 2, hist, 2, client, 2, &m, &n, &sys), 0);
    ck_assert_int_eq(n, 5);
    ck_assert_str_eq(m[0].role, "system");
    ck_assert_str_eq(m[0].content, "SYS\n\nContext:\n[1] Geo: Paris is in France.\n"
                                   "[2] d2: Berlin is in Germany.");
    ck_assert_str_eq(m[1].content, "hi");
    ck_assert_str_eq(m[3].content, "be brief"); /* the client's system message after ours */
    ck_assert_str_eq(m[4].content, "where is Paris?");
    size_t nc = 0;
    rk_message *c = prompt_continuation(m, n, "Paris is", &nc);
    ck_assert_int_eq(nc, 7);
    ck_assert_str_eq(c[5].role, "assistant");
    ck_assert_str_eq(c[5].content, "Paris is");
    ck_assert_str_eq(c[6].role, "user");
    ck_assert_str_eq(c[6].content, PROMPT_CONTINUE);
    free(c);
    free(m);
    free(sys);
    ck_assert_int_eq(prompt_build("SYS", NULL, 0, NULL, 0, client + 1, 1, &m, &n, &sys), 0);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(m[0].content, "SYS"); /* no passages: no context block */
    free(m);
    free(sys);
}
END_TEST

START_TEST(summary_is_trimmed)
{
    rk_message old[3] = {{"system", PROMPT_SUMMARY_PREFIX "user: a. assistant: b."},
                         {"user", "What is RAG? Tell me more."},
                         {"assistant", "  RAG grounds answers in documents. It retrieves."}};
    char *s = prompt_summary(old, 3, 1024);
    ck_assert_str_eq(s, PROMPT_SUMMARY_PREFIX "user: a. assistant: b. "
                        "user: What is RAG? assistant: RAG grounds answers in documents.");
    free(s);
    char big[3000];
    for (size_t i = 0; i < sizeof big - 1; i += 2) memcpy(big + i, "\xD0\xB6", 2); /* ж */
    big[sizeof big - 1] = '\0';
    rk_message one = {"user", big};
    s = prompt_summary(&one, 1, 100);
    ck_assert_uint_le(strlen(s), 100);
    ck_assert_int_eq(((unsigned char)s[strlen(s) - 1]), 0xB6); /* not cut inside ж */
    free(s);
}
END_TEST

/* Compaction as stages.c runs it without a summarizer (history_max 10:
 * the older half becomes one summary), over 60 turns. After every round the
 * turns still known (summary + kept messages) must be one unbroken range
 * ending at the newest turn, the summary must hold the newest compacted
 * turns, and summaries must not nest ("system: " inside the summary). */
static int turn_in(const char *text, int t)
{
    char needle[32];
    snprintf(needle, sizeof needle, "number %d ", t);
    return strstr(text, needle) != NULL;
}

START_TEST(summary_keeps_newest_over_60_turns)
{
    enum { HMAX = 10, TURNS = 60, CAP = 2 * TURNS + 2 };
    rk_message conv[CAP];
    char *owned[CAP] = {0};
    size_t n = 0;
    int compactions = 0;
    for (int t = 1; t <= TURNS; t++) {
        char q[96], a[96];
        snprintf(q, sizeof q, "Question number %d is here. Some detail.", t);
        snprintf(a, sizeof a, "Answer number %d is given. More words.", t);
        owned[n] = strdup(q), conv[n] = (rk_message){"user", owned[n]}, n++;
        owned[n] = strdup(a), conv[n] = (rk_message){"assistant", owned[n]}, n++;
        if (n <= HMAX) continue;
        size_t keep = n / 2, older = n - keep;
        char *sum = prompt_summary(conv, older, 1024);
        ck_assert_ptr_nonnull(sum);
        ck_assert_uint_le(strlen(sum), 1024);
        ck_assert_msg(!strstr(sum, "system:"), "nested summary: %s", sum);
        ck_assert_msg(!strstr(sum + 1, PROMPT_SUMMARY_PREFIX), "nested prefix: %s", sum);
        /* the newest compacted turn is in the summary */
        int newest_old = (int)strtol(strstr(conv[older - 1].content, "number ") + 7, NULL, 10);
        ck_assert_msg(turn_in(sum, newest_old), "turn %d lost: %s", newest_old, sum);
        for (size_t i = 0; i < older; i++) free(owned[i]);
        memmove(conv + 1, conv + older, keep * sizeof *conv);
        memmove(owned + 1, owned + older, keep * sizeof *owned);
        owned[0] = sum, conv[0] = (rk_message){"system", sum};
        n = keep + 1;
        compactions++;
        /* known turns form one range ending at t, no gaps */
        int lo = t;
        while (lo > 1 && (turn_in(sum, lo - 1) || lo - 1 > newest_old)) lo--;
        for (int k = 1; k < lo; k++)
            ck_assert_msg(!turn_in(sum, k), "turn %d kept but %d..%d lost: %s", k, lo, t, sum);
        if (t >= 30) ck_assert_msg(t - lo >= 10, "only turns %d..%d known: %s", lo, t, sum);
    }
    ck_assert_int_gt(compactions, 10);
    for (size_t i = 0; i < n; i++) free(owned[i]);
}
END_TEST

START_TEST(cache_keys)
{
    rk_message a[1] = {{"user", "What is RAG?"}};
    rk_message b[1] = {{"user", "  What is RAG?\n"}};
    rk_message c[1] = {{"assistant", "What is RAG?"}};
    char k1[PCACHE_KEY_MAX], k2[PCACHE_KEY_MAX], k3[PCACHE_KEY_MAX];
    pcache_answer_key(k1, "t", NULL, a, 1, -1, 0, 1, "");
    pcache_answer_key(k2, "t", NULL, b, 1, -1, 0, 1, "");
    ck_assert_str_eq(k1, k2);
    ck_assert_int_eq(strlen(k1), strlen("answer:") + 64);
    ck_assert_int_eq(strncmp(k1, "answer:", 7), 0);
    pcache_answer_key(k3, "u", NULL, a, 1, -1, 0, 1, "");
    ck_assert_str_ne(k1, k3); /* tenant */
    pcache_answer_key(k3, "t", "m", a, 1, -1, 0, 1, "");
    ck_assert_str_ne(k1, k3); /* model */
    pcache_answer_key(k3, "t", NULL, c, 1, -1, 0, 1, "");
    ck_assert_str_ne(k1, k3); /* role */
    pcache_answer_key(k3, "t", NULL, a, 1, 0.0, 0, 1, "");
    ck_assert_str_ne(k1, k3); /* temperature */
    pcache_answer_key(k3, "t", NULL, a, 1, -1, 50, 1, "");
    ck_assert_str_ne(k1, k3); /* max_tokens */
    pcache_answer_key(k3, "t", NULL, a, 1, -1, 0, 0, "");
    ck_assert_str_ne(k1, k3); /* retrieve */
    pcache_answer_key(k3, "t", NULL, a, 1, -1, 0, 1, "5f0c");
    ck_assert_str_ne(k1, k3); /* the tenant's documents changed */
    pcache_retrieve_key(k3, "t", "What is RAG?", 3, 1, "");
    ck_assert_int_eq(strncmp(k3, "retrieve:", 9), 0);
    pcache_retrieve_key(k2, "t", "What is RAG?", 5, 0, "");
    ck_assert_str_ne(k2, k3);
    pcache_retrieve_key(k1, "t", "What is RAG?", 5, 0, "5f0c");
    ck_assert_str_ne(k1, k2); /* documents version */
}
END_TEST

START_TEST(cache_entries_roundtrip)
{
    size_t len = 0;
    char *e = pcache_answer_encode("Paris [1].", "m1", "stop", PASS, 2, &len);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(len, strlen(e));
    ck_assert_ptr_null(strstr(e, "Paris is in France.")); /* no chunk text in answers */
    pcache_answer a;
    ck_assert_int_eq(pcache_answer_decode(e, len, &a), 0);
    ck_assert_str_eq(a.answer, "Paris [1].");
    ck_assert_str_eq(a.model, "m1");
    ck_assert_str_eq(a.finish_reason, "stop");
    ck_assert_int_eq(a.sources.n, 2);
    ck_assert_str_eq(a.sources.v[0].snippet, "**Paris** is");
    ck_assert_str_eq(a.sources.v[0].text, "**Paris** is");
    ck_assert_ptr_null(a.sources.v[1].snippet);
    ck_assert_int_eq(a.sources.v[1].chunk_index, 3);
    ck_assert(a.sources.v[0].score == 2.5);
    pcache_answer_free(&a);
    free(e);
    ck_assert_int_eq(pcache_answer_decode("{\"answer\":1}", 12, &a), -1);
    ck_assert_int_eq(pcache_answer_decode("garbage", 7, &a), -1);

    e = pcache_passages_encode(PASS, 2, &len);
    passvec pv = {0};
    ck_assert_int_eq(pcache_passages_decode(e, len, &pv), 0);
    ck_assert_int_eq(pv.n, 2);
    ck_assert_str_eq(pv.v[1].text, "Berlin is in Germany.");
    ck_assert_str_eq(pv.v[1].title, "");
    passvec_free(&pv);
    free(e);
}
END_TEST

static void hex_of(const char *in, size_t n, char out[SHA256_HEX_LEN])
{
    sha256_ctx c;
    sha256_init(&c);
    for (size_t i = 0; i < n; i++) sha256_update(&c, in + i, 1); /* byte at a time */
    sha256_final_hex(&c, out);
}

START_TEST(sha256_vectors)
{
    char h[SHA256_HEX_LEN];
    hex_of("", 0, h);
    ck_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hex_of("abc", 3, h);
    ck_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex_of(two, strlen(two), h);
    ck_assert_str_eq(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

START_TEST(breaker_states)
{
    breaker b;
    breaker_init(&b, 2, 100);
    ck_assert_int_eq(breaker_acquire(&b, 0), 1);
    ck_assert_int_eq(breaker_failure(&b, 0), 0);
    breaker_success(&b); /* a success resets the count */
    ck_assert_int_eq(breaker_failure(&b, 0), 0);
    ck_assert_int_eq(breaker_failure(&b, 10), 1); /* opens */
    ck_assert_int_eq(breaker_is_open(&b, 50), 1);
    ck_assert_int_eq(breaker_acquire(&b, 50), 0);
    ck_assert_int_eq(breaker_is_open(&b, 110), 0);
    ck_assert_int_eq(breaker_acquire(&b, 110), 1); /* the probe */
    ck_assert_int_eq(breaker_acquire(&b, 111), 0); /* only one */
    ck_assert_int_eq(breaker_failure(&b, 120), 1); /* probe failed: open again */
    ck_assert_int_eq(breaker_acquire(&b, 200), 0);
    ck_assert_int_eq(breaker_acquire(&b, 221), 1);
    breaker_success(&b);
    ck_assert_int_eq(breaker_acquire(&b, 222), 1);
    ck_assert_int_eq(breaker_acquire(&b, 223), 1);
    breaker_destroy(&b);
    breaker_init(&b, 0, 100); /* disabled */
    for (int i = 0; i < 10; i++) ck_assert_int_eq(breaker_failure(&b, 0), 0);
    ck_assert_int_eq(breaker_acquire(&b, 0), 1);
    breaker_destroy(&b);
}
END_TEST

START_TEST(strbuf_basics)
{
    strbuf b = {0};
    ck_assert_str_eq(sb_str(&b), "");
    sb_puts(&b, "a");
    sb_printf(&b, "%d-%s", 42, "x");
    sb_append(&b, "yz", 1);
    ck_assert_str_eq(sb_str(&b), "a42-xy");
    ck_assert_int_eq(b.len, 6);
    char *s = sb_take(&b);
    ck_assert_str_eq(s, "a42-xy");
    ck_assert_ptr_null(b.s);
    free(s);
    s = sb_take(&b);
    ck_assert_str_eq(s, "");
    free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("prompt");
    TCase *tc = tcase_create("prompt");
    tcase_add_test(tc, prompt_layout);
    tcase_add_test(tc, summary_is_trimmed);
    tcase_add_test(tc, summary_keeps_newest_over_60_turns);
    tcase_add_test(tc, cache_keys);
    tcase_add_test(tc, cache_entries_roundtrip);
    tcase_add_test(tc, sha256_vectors);
    tcase_add_test(tc, breaker_states);
    tcase_add_test(tc, strbuf_basics);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
