/*
 * test_httprd — the response framing decoder: every framing of RFC 9112
 * 6.3, fed whole and one byte at a time (the same events either way), and
 * the malformed cases it must refuse.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <ragkernel/error.h>

#include "httprd.h"
#include "testenv.h"

typedef struct run {
    int status, heads, done, error, err_status;
    char body[4096];
    size_t blen;
    const char *msg;
} run;

/* Feed text to a fresh reader, step bytes at a time (0 = all at once), as
 * a connection would: bytes accumulate in a buffer, used ones are dropped.
 * eof: the peer closes after the last byte. */
static run decode(const char *text, size_t step, int head_only, int eof)
{
    run r = {0};
    httprd rd;
    httprd_init(&rd, head_only);
    httpmsg_fields f = {0};
    size_t total = strlen(text), fed = 0, len = 0, pos = 0;
    char *buf = malloc(total + 1);
    while (!r.done && !r.error) {
        size_t n = step && total - fed > step ? step : total - fed;
        memcpy(buf + len, text + fed, n);
        len += n;
        fed += n;
        httprd_ev ev;
        httprd_kind k;
        while ((k = httprd_next(&rd, buf, len, &pos, &f, 1, &ev)) != HTTPRD_MORE) {
            if (k == HTTPRD_HEAD) r.status = ev.status, r.heads++;
            if (k == HTTPRD_DATA) memcpy(r.body + r.blen, ev.data, ev.len), r.blen += ev.len;
            if (k == HTTPRD_DONE) { r.done = 1; break; }
            if (k == HTTPRD_ERROR) { r.error = 1, r.err_status = ev.status, r.msg = ev.msg; break; }
        }
        memmove(buf, buf + pos, len - pos);
        len -= pos;
        pos = 0;
        if (fed == total) {
            if (!r.done && !r.error && eof) r.done = httprd_eof(&rd);
            break;
        }
    }
    free(buf);
    free(f.v);
    return r;
}

static void both_ways(const char *text, int head_only, int eof, int status,
                      const char *body, int done)
{
    for (size_t step = 0; step <= 1; step++) {
        run r = decode(text, step, head_only, eof);
        ck_assert_msg(!r.error, "step %zu: %s", step, r.msg ? r.msg : "");
        ck_assert_int_eq(r.heads, 1);
        ck_assert_int_eq(r.status, status);
        ck_assert_uint_eq(r.blen, strlen(body));
        ck_assert(memcmp(r.body, body, r.blen) == 0);
        ck_assert_int_eq(r.done, done);
    }
}

START_TEST(content_length)
{
    both_ways("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 0, 0, 200, "hello", 1);
    both_ways("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 0, 200, "", 1);
}
END_TEST

START_TEST(chunked_with_trailers)
{
    both_ways("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
              0, 0, 200, "hello world", 1);
}
END_TEST

START_TEST(no_body_cases)
{
    both_ways("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", 1, 0, 200, "", 1); /* HEAD */
    both_ways("HTTP/1.1 204 No Content\r\n\r\n", 0, 0, 204, "", 1);
    both_ways("HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n", 0, 0, 304, "", 1);
}
END_TEST

START_TEST(interim_skipped)
{
    both_ways("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
              0, 0, 201, "ok", 1);
}
END_TEST

START_TEST(until_close)
{
    both_ways("HTTP/1.1 200 OK\r\n\r\nstream until close", 0, 1, 200, "stream until close", 1);
    run r = decode("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", 0, 0, 1);
    ck_assert_int_eq(r.done, 0); /* a Content-Length body cut short is not complete */
    httprd rd;
    httprd_init(&rd, 0);
    ck_assert(httprd_at_head(&rd));
    ck_assert_int_eq(httprd_eof(&rd), 0);
}
END_TEST

START_TEST(close_after)
{
    const char *t = "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx";
    httprd rd;
    httprd_init(&rd, 0);
    httpmsg_fields f = {0};
    size_t pos = 0;
    httprd_ev ev;
    char *b = strdup(t);
    size_t n = strlen(t); /* the parse writes into the head: not strlen(b) */
    ck_assert_int_eq(httprd_next(&rd, b, n, &pos, &f, 1, &ev), HTTPRD_HEAD);
    ck_assert_int_eq(rd.close_after, 1); /* 1.0 without keep-alive */
    ck_assert_int_eq(httprd_next(&rd, b, n, &pos, &f, 0, &ev), HTTPRD_MORE);
    ck_assert_uint_eq(pos, strlen(t) - 1); /* paused: the body byte stays */
    ck_assert_int_eq(httprd_next(&rd, b, n, &pos, &f, 1, &ev), HTTPRD_DATA);
    ck_assert_int_eq(httprd_next(&rd, b, n, &pos, &f, 1, &ev), HTTPRD_DONE);
    free(b);
    free(f.v);
}
END_TEST

START_TEST(malformed)
{
    static const char *bad[] = {
        "HTTP/1.1 101 Switching Protocols\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        run r = decode(bad[i], 0, 0, 0);
        ck_assert_msg(r.error, "accepted: %s", bad[i]);
        ck_assert_int_eq(r.err_status, RK_ERR_IO);
        ck_assert_ptr_nonnull(strstr(r.msg, "malformed response"));
    }
}
END_TEST

START_TEST(oversized_lines)
{
    size_t n = HTTPRD_HEAD_MAX + 10;
    char *t = malloc(n + 64);
    strcpy(t, "HTTP/1.1 200 OK\r\nX: ");
    memset(t + strlen(t), 'a', n);
    t[n] = '\0';
    run r = decode(t, 0, 0, 0);
    ck_assert(r.error);
    ck_assert_ptr_nonnull(strstr(r.msg, "larger than 64 KiB"));
    snprintf(t, 64, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    size_t l = strlen(t);
    memset(t + l, '1', HTTPRD_LINE_MAX + 1);
    t[l + HTTPRD_LINE_MAX + 1] = '\0';
    r = decode(t, 0, 0, 0);
    ck_assert(r.error);
    free(t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("httprd");
    TCase *tc = tcase_create("framing");
    tcase_add_test(tc, content_length);
    tcase_add_test(tc, chunked_with_trailers);
    tcase_add_test(tc, no_body_cases);
    tcase_add_test(tc, interim_skipped);
    tcase_add_test(tc, until_close);
    tcase_add_test(tc, close_after);
    tcase_add_test(tc, malformed);
    tcase_add_test(tc, oversized_lines);
    suite_add_tcase(s, tc);
    return ph_run_suite(s);
}
