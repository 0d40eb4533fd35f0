/*
 * test_chunk — the chunker (chunk.h) on its own, without extraction:
 * generated English and Russian prose cut at the configured size and
 * overlap, every chunk ending on a sentence, the next one repeating whole
 * sentences (or whole words) of the previous, every sentence whole in some
 * chunk and the same cut twice; text without spaces or punctuation cut only
 * at character boundaries; paragraphs kept apart before sentences. The
 * extraction of the sample files into chunks is test_ingest's.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "chunk_fixture.h"
#include "strbuf.h"
#include "testenv.h"
#include "textnorm.h"

/* Deterministic prose: sentences of 30..150 bytes, paragraphs of 1..6. */
static char *make_prose(size_t want, int cyrillic)
{
    static const char *en[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"};
    static const char *ru[] = {"альфа", "браво", "чарли", "дельта", "эхо", "фокстрот"};
    const char *const *w = cyrillic ? ru : en;
    strbuf b = {0};
    unsigned x = 12345;
    static const char *ends[] = {".", "!", "?", "\u2026"};
    while (b.len < want) {
        int sentences = 1 + (int)((x = x * 1103515245 + 12345) >> 16) % 6;
        for (int s = 0; s < sentences; s++) {
            int words = 4 + (int)((x = x * 1103515245 + 12345) >> 16) % 18;
            sb_puts(&b, cyrillic ? "Слово" : "Word");
            for (int k = 0; k < words; k++) {
                sb_puts(&b, " ");
                sb_puts(&b, w[((x = x * 1103515245 + 12345) >> 16) % 6]);
            }
            sb_puts(&b, ends[((x = x * 1103515245 + 12345) >> 16) % 4]);
            sb_puts(&b, s + 1 < sentences ? " " : "\n\n");
        }
    }
    char *t = tn_normalize(b.s, b.len, 0);
    sb_free(&b);
    return t;
}

/* c[0..k) ends with a sentence terminator. */
static int ends_sentence_at(const char *c, size_t k)
{
    return (k >= 1 && strchr(".!?", c[k - 1]) && c[k - 1]) || (k >= 3 && strncmp(c + k - 3, "\u2026", 3) == 0);
}

static int ends_sentence(const char *c)
{
    size_t n = strlen(c);
    return (n >= 1 && strchr(".!?", c[n - 1])) || (n >= 3 && strcmp(c + n - 3, "\u2026") == 0);
}

/* The longest prefix of b (at most max bytes) that is a suffix of a. */
static size_t overlap_len(const char *a, const char *b, size_t max)
{
    size_t na = strlen(a), nb = strlen(b);
    for (size_t l = max < nb ? max : nb; l > 0; l--)
        if (l <= na && memcmp(a + na - l, b, l) == 0) return l;
    return 0;
}

static void check_prose_chunks(int cyrillic)
{
    char *t = make_prose(20000, cyrillic);
    const char *word = cyrillic ? "Слово" : "Word";
    chunk_list l;
    ck_assert_int_eq(chunk_text(t, strlen(t), CHUNK_TARGET_BYTES, CHUNK_OVERLAP_BYTES, &l), 0);
    ck_assert_uint_ge(l.n, 20000 / CHUNK_TARGET_BYTES);
    check_chunk_bounds(&l, CHUNK_TARGET_BYTES);
    for (size_t i = 0; i < l.n; i++) {
        ck_assert_msg(ends_sentence(l.text[i]), "chunk %zu ends mid-sentence: ...%s", i,
                      l.text[i] + strlen(l.text[i]) - 20);
        if (i == 0) continue;
        /* The next chunk repeats the end of the previous one: whole
         * sentences when the last one fits in the overlap, else words. */
        const char *prev = l.text[i - 1], *last = prev;
        size_t np = strlen(prev);
        for (size_t k = 1; k + 1 < np; k++)
            if (prev[k] == ' ' && ends_sentence_at(prev, k)) last = prev + k + 1;
        size_t ov = overlap_len(prev, l.text[i], np - 1);
        ck_assert_msg(ov > 0 && ov <= CHUNK_OVERLAP_BYTES, "chunk %zu: overlap of %zu bytes", i, ov);
        ck_assert_msg(prev[np - ov - 1] == ' ' || prev[np - ov - 1] == '\n',
                      "chunk %zu starts mid-word: %.30s", i, l.text[i]);
        if (strlen(last) <= CHUNK_OVERLAP_BYTES)
            ck_assert_msg(strncmp(l.text[i], word, strlen(word)) == 0,
                          "chunk %zu starts mid-sentence: %.30s", i, l.text[i]);
        ck_assert_uint_ge(np, CHUNK_TARGET_BYTES / 2 - CHUNK_OVERLAP_BYTES);
    }
    /* every sentence of the text is whole in some chunk */
    for (const char *s = t; *s;) {
        const char *e = s;
        while (*e && !(strchr(".!?", *e) || strncmp(e, "\u2026", 3) == 0)) e++;
        e += *e ? (*e == '.' || *e == '!' || *e == '?' ? 1 : 3) : 0;
        char sentence[400];
        snprintf(sentence, sizeof sentence, "%.*s", (int)(e - s), s);
        int found = 0;
        for (size_t i = 0; i < l.n && !found; i++) found = strstr(l.text[i], sentence) != NULL;
        ck_assert_msg(found, "sentence not whole in any chunk: %s", sentence);
        while (*e == ' ' || *e == '\n') e++;
        s = e;
    }
    chunk_list again;
    ck_assert_int_eq(chunk_text(t, strlen(t), CHUNK_TARGET_BYTES, CHUNK_OVERLAP_BYTES, &again), 0);
    ck_assert_uint_eq(again.n, l.n);
    for (size_t i = 0; i < l.n; i++) ck_assert_str_eq(again.text[i], l.text[i]);
    chunk_list_free(&again);
    chunk_list_free(&l);
    free(t);
}

START_TEST(chunks_english_prose) { check_prose_chunks(0); }
END_TEST

START_TEST(chunks_russian_prose) { check_prose_chunks(1); }
END_TEST

START_TEST(chunks_never_split_utf8)
{
    /* no spaces, no punctuation: only character boundaries are left */
    strbuf b = {0};
    for (int i = 0; i < 1500; i++) sb_puts(&b, i % 7 == 0 ? "\u20ac" : "ж");
    sb_puts(&b, "\U0001F600");
    size_t targets[] = {16, 17, 33, 101, 800};
    for (size_t k = 0; k < sizeof targets / sizeof *targets; k++) {
        chunk_list l;
        ck_assert_int_eq(chunk_text(b.s, b.len, targets[k], targets[k] / 4, &l), 0);
        check_chunk_bounds(&l, targets[k]);
        ck_assert(strstr(l.text[l.n - 1], "\U0001F600") != NULL);
        chunk_list_free(&l);
    }
    sb_free(&b);
}
END_TEST

START_TEST(chunks_paragraphs_first)
{
    /* two paragraphs that fit one window are kept apart when the window ends
     * inside the second */
    strbuf b = {0};
    for (int i = 0; i < 14; i++) sb_puts(&b, "First paragraph sentence here. ");
    sb_puts(&b, "End.\n\n");
    for (int i = 0; i < 30; i++) sb_puts(&b, "Second paragraph sentence. ");
    chunk_list l;
    ck_assert_int_eq(chunk_text(b.s, b.len, 800, 150, &l), 0);
    ck_assert_uint_ge(l.n, 2);
    size_t n0 = strlen(l.text[0]);
    ck_assert_str_eq(l.text[0] + n0 - 4, "End.");
    ck_assert(strstr(l.text[0], "Second") == NULL);
    chunk_list_free(&l);
    ck_assert_int_eq(chunk_text("", 0, 800, 150, &l), 0);
    ck_assert_uint_eq(l.n, 0);
    chunk_list_free(&l);
    sb_free(&b);
}
END_TEST
static Suite *suite(void)
{
    Suite *s = suite_create("chunk");
    ph_add_tcase(s, "core", 30, NULL, NULL,
                 PH_TESTS(chunks_english_prose, chunks_russian_prose, chunks_never_split_utf8,
                          chunks_paragraphs_first));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
