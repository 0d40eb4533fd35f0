/*
 * test_llm_sse — the LLM plugins' shared stream code, compiled in directly
 * (the plugins build with hidden visibility, so there is nothing to link):
 * the SSE parser under every way a stream can be cut into pieces, JSON
 * string escaping and plain runs, backoff and Retry-After, status mapping,
 * and upstream error messages. The retry engine is test_llm_call.
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

/* ---------------------------------------------------------------- SSE */

typedef struct events {
    char text[4096]; /* "event=data|" per event */
    int n;
    int stop_at;     /* return 7 from the stop_at-th event (1-based) */
} events;

static int on_ev(void *ud, const char *event, const char *data, size_t len)
{
    events *e = ud;
    size_t used = strlen(e->text);
    snprintf(e->text + used, sizeof e->text - used, "%s=%.*s|", event, (int)len, data);
    e->n++;
    return e->n == e->stop_at ? 7 : 0;
}

static void parse_pieces(const char *s, size_t piece, events *e)
{
    llm_sse p;
    llm_sse_init(&p, 1024);
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i += piece)
        ck_assert_int_eq(llm_sse_feed(&p, s + i, n - i < piece ? n - i : piece, on_ev, e), 0);
    ck_assert_int_eq(llm_sse_finish(&p, on_ev, e), 0);
    llm_sse_free(&p);
}

static const char *STREAM =
    ": keep-alive\r\n\r\n"
    "data: {\"a\":1}\r\n\r\n"
    "event: content_block_delta\n"
    "data: line1\n"
    "data:line2\n\n"
    "id: 7\rretry: 100\rdata: cr only\r\r"
    "data\n\n"
    "event: ping\n\n"
    "data: [DONE]\n\n";

static const char *EXPECT =
    "message={\"a\":1}|content_block_delta=line1\nline2|message=cr only|message=|"
    "message=[DONE]|";

START_TEST(sse_any_split)
{
    /* every piece size, so lines, CRLF pairs and fields split everywhere */
    for (size_t piece = 1; piece <= strlen(STREAM); piece++) {
        events e = {{0}, 0, 0};
        parse_pieces(STREAM, piece, &e);
        ck_assert_msg(strcmp(e.text, EXPECT) == 0, "piece %zu: %s", piece, e.text);
    }
}
END_TEST

START_TEST(sse_two_cuts)
{
    size_t n = strlen(STREAM);
    for (size_t a = 0; a <= n; a++)
        for (size_t b = a; b <= n; b++) {
            events e = {{0}, 0, 0};
            llm_sse p;
            llm_sse_init(&p, 1024);
            llm_sse_feed(&p, STREAM, a, on_ev, &e);
            llm_sse_feed(&p, STREAM + a, b - a, on_ev, &e);
            llm_sse_feed(&p, STREAM + b, n - b, on_ev, &e);
            llm_sse_finish(&p, on_ev, &e);
            llm_sse_free(&p);
            ck_assert_msg(strcmp(e.text, EXPECT) == 0, "cuts %zu,%zu: %s", a, b, e.text);
        }
}
END_TEST

START_TEST(sse_finish_without_blank_line)
{
    events e = {{0}, 0, 0};
    parse_pieces("data: one\n\ndata: [DONE]", 5, &e);
    ck_assert_str_eq(e.text, "message=one|message=[DONE]|");
    events f = {{0}, 0, 0};
    parse_pieces("data: x\n", 100, &f); /* data line done, blank line missing */
    ck_assert_str_eq(f.text, "message=x|");
}
END_TEST

START_TEST(sse_stop_and_limits)
{
    events e = {{0}, 0, 2};
    llm_sse p;
    llm_sse_init(&p, 16);
    ck_assert_int_eq(llm_sse_feed(&p, "data: a\n\ndata: b\n\ndata: c\n\n", 27, on_ev, &e), 7);
    ck_assert_int_eq(e.n, 2);
    llm_sse_reset(&p);
    ck_assert_int_eq(llm_sse_feed(&p, "data: 0123456789abcdef", 22, on_ev, &e), LLM_SSE_TOO_LARGE);
    llm_sse_reset(&p);
    ck_assert_int_eq(llm_sse_feed(&p, "data: 0123456789\ndata: 0123456789\n", 34, on_ev, &e),
                     LLM_SSE_TOO_LARGE); /* one event's data over the cap */
    llm_sse_free(&p);
}
END_TEST

/* ---------------------------------------------------------------- policies */

START_TEST(backoff_full_jitter)
{
    uint64_t rng = 42;
    int64_t seen_max[6] = {0};
    for (int i = 0; i < 4000; i++)
        for (int a = 0; a < 6; a++) {
            int64_t d = llm_backoff_ms(a, 250, 2000, &rng);
            int64_t cap = 250LL << a > 2000 ? 2000 : 250LL << a;
            ck_assert(d >= 0 && d <= cap);
            if (d > seen_max[a])
                seen_max[a] = d;
        }
    for (int a = 0; a < 6; a++) { /* the whole range is used */
        int64_t cap = 250LL << a > 2000 ? 2000 : 250LL << a;
        ck_assert_msg(seen_max[a] > cap * 9 / 10, "attempt %d max %lld", a, (long long)seen_max[a]);
    }
    ck_assert_int_le(llm_backoff_ms(1000, 250, 8000, &rng), 8000); /* no overflow */
    ck_assert_int_eq(llm_backoff_ms(3, 0, 8000, &rng), 0);
}
END_TEST

START_TEST(retry_after_forms)
{
    int64_t now = 784111777000LL; /* Sun, 06 Nov 1994 08:49:37 GMT */
    ck_assert_int_eq(llm_retry_after_ms("1", NULL, now), 1000);
    ck_assert_int_eq(llm_retry_after_ms(" 2.5 ", NULL, now), 2500);
    ck_assert_int_eq(llm_retry_after_ms("3", "250", now), 250);
    ck_assert_int_eq(llm_retry_after_ms("Sun, 06 Nov 1994 08:49:40 GMT", NULL, now), 3000);
    ck_assert_int_eq(llm_retry_after_ms("Sun, 06 Nov 1994 08:49:00 GMT", NULL, now), 0);
    ck_assert_int_eq(llm_retry_after_ms("soon", NULL, now), -1);
    ck_assert_int_eq(llm_retry_after_ms("-1", NULL, now), -1);
    ck_assert_int_eq(llm_retry_after_ms(NULL, "x", now), -1);
    ck_assert_int_eq(llm_retry_after_ms(NULL, NULL, now), -1);
}
END_TEST

START_TEST(status_mapping)
{
    ck_assert_int_eq(llm_status_from_http(200), RK_OK);
    ck_assert_int_eq(llm_status_from_http(429), RK_ERR_RATE_LIMITED);
    ck_assert_int_eq(llm_status_from_http(500), RK_ERR_UNAVAILABLE);
    ck_assert_int_eq(llm_status_from_http(503), RK_ERR_UNAVAILABLE);
    ck_assert_int_eq(llm_status_from_http(529), RK_ERR_UNAVAILABLE);
    ck_assert_int_eq(llm_status_from_http(408), RK_ERR_TIMEOUT);
    ck_assert_int_eq(llm_status_from_http(401), RK_ERR_AUTH);
    ck_assert_int_eq(llm_status_from_http(403), RK_ERR_AUTH);
    ck_assert_int_eq(llm_status_from_http(400), RK_ERR_INVALID);
    ck_assert_int_eq(llm_status_from_http(404), RK_ERR_INVALID);
    ck_assert_int_eq(llm_status_from_http(422), RK_ERR_INVALID);
    ck_assert_int_eq(llm_status_from_http(302), RK_ERR_UPSTREAM);
}
END_TEST

START_TEST(error_messages)
{
    char m[64];
    const char *oa = "{\"error\":{\"message\":\"Incorrect API key\",\"type\":\"x\"}}";
    llm_error_message(oa, strlen(oa), m, sizeof m);
    ck_assert_str_eq(m, "Incorrect API key");
    const char *ol = "{\"error\":\"model 'x' not found\"}";
    llm_error_message(ol, strlen(ol), m, sizeof m);
    ck_assert_str_eq(m, "model 'x' not found");
    llm_error_message("bad\ngateway", 11, m, sizeof m);
    ck_assert_str_eq(m, "bad gateway");
    llm_error_message(NULL, 0, m, sizeof m);
    ck_assert_str_eq(m, "");
    char u[8] = "ab\xc3\xa9\xe2\x82"; /* "abé" + a cut 3-byte sequence */
    llm_utf8_trim(u);
    ck_assert_str_eq(u, "ab\xc3\xa9");
}
END_TEST

static size_t plain_naive(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\') i++;
    return i;
}

START_TEST(plain_run_matches_definition)
{
    static const unsigned char special[] = {0x00, 0x01, 0x1f, '"', '\\', 0x80, 0xd0, 0xff};
    unsigned char buf[64];
    for (size_t align = 0; align < 8; align++)
        for (size_t n = 0; n <= 40; n++)
            for (size_t at = 0; at <= n; at++)
                for (size_t k = 0; k < sizeof special; k++) {
                    unsigned char *b = buf + align;
                    for (size_t i = 0; i < n; i++) b[i] = (unsigned char)(0x20 + (i * 7) % 0x5f);
                    for (size_t i = 0; i < n; i++)
                        if (b[i] == '"' || b[i] == '\\') b[i] = 'a';
                    if (at < n) b[at] = special[k];
                    if (at + 2 < n) b[at + 2] = special[(k + 3) % sizeof special];
                    ck_assert_uint_eq(oj_plain_run(b, n), plain_naive(b, n));
                }
}
END_TEST

/* oj_escape: exact escapes, strict and lenient handling of bad input, and
 * a round trip through the reader for every byte value that is valid. */
static const char *esc(const char *s, size_t n, int lenient, char *out)
{
    size_t w = oj_escape(s, n, out, lenient);
    if (w == SIZE_MAX) return NULL;
    out[w] = '\0';
    return out;
}

START_TEST(escape_exact_and_round_trip)
{
    char out[OJ_ESCAPE_MAX(64) + 1];
    ck_assert_str_eq(esc("plain text", 10, 0, out), "\"plain text\"");
    ck_assert_str_eq(esc("a\"b\\c\n\t\x01", 8, 0, out), "\"a\\\"b\\\\c\\n\\t\\u0001\"");
    ck_assert_str_eq(esc("\xd0\xbc\xe2\x82\xac", 5, 0, out), "\"\xd0\xbc\xe2\x82\xac\"");
    ck_assert_ptr_null(esc("a\xff" "b", 3, 0, out));
    ck_assert_str_eq(esc("a\xff" "b", 3, 1, out), "\"a\xef\xbf\xbd" "b\"");
    ck_assert_ptr_null(esc("a\0b", 3, 0, out));
    ck_assert_str_eq(esc("a\0b", 3, 1, out), "\"a\\u0000b\"");
    char all[127];
    for (int c = 1; c < 128; c++) all[c - 1] = (char)c;
    for (size_t n = 0; n <= sizeof all; n += 7) {
        char big[OJ_ESCAPE_MAX(sizeof all) + 1];
        size_t w = oj_escape(all, n, big, 0);
        ck_assert_uint_ne(w, SIZE_MAX);
        oj_tok toks[4];
        oj_doc d;
        oj_init_with(&d, toks, 4);
        ck_assert_int_eq(oj_parse(&d, big, w), 0);
        char dec[OJ_ESCAPE_MAX(sizeof all)];
        ck_assert_uint_eq(oj_copy(&d, 0, dec, sizeof dec), n);
        ck_assert_int_eq(memcmp(dec, all, n), 0);
        oj_free(&d);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("llm_sse");
    ph_add_tcase(s, "sse+policy", 4, NULL, NULL,
                 PH_TESTS(sse_any_split, plain_run_matches_definition,
                          escape_exact_and_round_trip, sse_two_cuts,
                          sse_finish_without_blank_line, sse_stop_and_limits,
                          backoff_full_jitter, retry_after_forms, status_mapping,
                          error_messages));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
