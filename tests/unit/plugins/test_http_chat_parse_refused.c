/*
 * test_http_chat_parse_refused — transport_http's chat request parser
 * (chat_parse_fixture.h) on requests it refuses: for each, the offending
 * param and the words of the 400 message a client sees; and the limits
 * (parts, text, messages) enforced in time linear in the input.
 */
#include "chat_parse_fixture.h"

/* ------------------------------------------------------------ refused */

#define NOT_JSON "could not parse the JSON body"
/* A request of the messages ms; one message of role r, content c (JSON). */
#define MS(ms) "{\"messages\":[" ms "]}"
#define M(r, c) "{\"role\":" r ",\"content\":" c "}"
#define USER(c) MS(M("\"user\"", c))
#define NOT_STR "must be a string or an array of text parts"
#define TEXT_ONLY "Only text content parts"
#define TEMP "'temperature' must be a number between 0 and 2"
#define CONV_LEN "'conversation_id' must be a string of 1..128 bytes"

static const struct bad_case {
    int legacy;
    const char *body;
    const char *param;  /* exact */
    const char *phrase; /* in the message */
    const char *phrase2;
} BAD[] = {
    {0, "{\"model\":", "", NOT_JSON, "(line 1, column 10)"},
    {0, "{\n  \"model\": \"m\",\n  \"messages\": oops\n}", "", NOT_JSON, "(line 3, column 15)"},
    {0, "", "", NOT_JSON, "line 1, column 1"},
    {0, "[1]", "", "must be a JSON object", NULL},
    {0, "\"str\"", "", "must be a JSON object", NULL},
    {0, "{\"model\":\"m\"}", "messages", "'messages' must be an array", NULL},
    {0, "{\"messages\":{}}", "messages", "'messages' must be an array", NULL},
    {0, "{\"messages\":null}", "messages", "'messages' must be an array", NULL},
    {0, MS(""), "messages", "'messages' must not be empty", NULL},
    {0, MS(USER_HI ",\"hi\""), "messages[1]", "messages[1] must be an object", NULL},
    {0, MS(M("1", "\"a\"")), "messages[0].role", "messages[0].role must be a string", NULL},
    {0, MS("{\"content\":\"a\"}"), "messages[0].role", "must be a string", NULL},
    {0, MS("{\"role\":\"tool\",\"content\":\"a\",\"tool_call_id\":\"x\"}," USER_HI),
     "messages[0].role", "'tool' is not supported", "does not run tools"},
    {0, MS(USER_HI "," M("\"User\"", "\"a\"")), "messages[1].role", "'User' is not supported", NULL},
    {0, MS(USER_HI "," M("\"assistant\"", "\"a\"")), "messages",
     "last message must have role 'user'", NULL},
    {0, MS(M("\"system\"", "\"a\"")), "messages", "last message must have role 'user'", NULL},
    {0, "{\"model\":4," MSGS "}", "model", "'model' must be a string", NULL},
    {0, USER("[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"image_url\",\"image_url\":{}}]"),
     "messages[0].content[1]", TEXT_ONLY, NULL},
    {0, USER("[{\"type\":\"text\",\"text\":5}]"), "messages[0].content[0]", TEXT_ONLY, NULL},
    {0, USER("[\"plain\"]"), "messages[0].content[0]", TEXT_ONLY, NULL},
    {0, USER("null"), "messages[0].content", NOT_STR, NULL},
    {0, MS("{\"role\":\"user\"}"), "messages[0].content", NOT_STR, NULL},
    {0, MS(M("\"assistant\"", "7") "," USER_HI), "messages[0].content", NOT_STR, NULL},
    {0, "{\"temperature\":-0.1," MSGS "}", "temperature", TEMP, NULL},
    {0, "{\"temperature\":2.5," MSGS "}", "temperature", TEMP, NULL},
    {0, "{\"temperature\":\"1\"," MSGS "}", "temperature", TEMP, NULL},
    {0, "{\"temperature\":1e999," MSGS "}", "temperature", TEMP, NULL},
    {0, "{\"max_tokens\":1.5," MSGS "}", "max_tokens", "'max_tokens' must be a positive integer", NULL},
    {0, "{\"max_tokens\":0," MSGS "}", "max_tokens", "'max_tokens' must be a positive integer", NULL},
    {0, "{\"max_tokens\":-3," MSGS "}", "max_tokens", "positive integer", NULL},
    {0, "{\"max_tokens\":\"5\"," MSGS "}", "max_tokens", "positive integer", NULL},
    {0, "{\"max_tokens\":5,\"max_completion_tokens\":0," MSGS "}", "max_completion_tokens",
     "'max_completion_tokens' must be a positive integer", NULL},
    {0, "{\"n\":2," MSGS "}", "n", "'n' must be 1", NULL},
    {0, "{\"n\":1.0," MSGS "}", "n", "'n' must be 1", NULL},
    {0, "{\"stream\":\"yes\"," MSGS "}", "stream", "'stream' must be a boolean", NULL},
    {0, "{\"stream\":1," MSGS "}", "stream", "'stream' must be a boolean", NULL},
    {0, "{\"stream_options\":3," MSGS "}", "stream_options", "'stream_options' must be an object", NULL},
    {0, "{\"stream_options\":{\"include_usage\":\"yes\"}," MSGS "}", "stream_options.include_usage",
     "must be a boolean", NULL},
    /* not JSON: what a strict reader refuses */
    {0, USER("\"a\xff\""), "", NOT_JSON, "invalid UTF-8"},
    {0, USER("\"\xc3\x28\""), "", NOT_JSON, "invalid UTF-8"},
    {0, USER("\"\xc0\xaf\""), "", NOT_JSON, "invalid UTF-8"},
    {0, USER("\"\xed\xa0\x80\""), "", NOT_JSON, "invalid UTF-8"},
    {0, USER("\"\xe2\x82\""), "", NOT_JSON, "invalid UTF-8"},
    {0, USER("\"a\tb\""), "", NOT_JSON, "control character"},
    {0, USER("\"a\nb\""), "", NOT_JSON, "line 1"},
    {0, USER("\"a\\u0000b\""), "", NOT_JSON, "\\u0000"},
    {0, USER("\"\\ud83d\""), "", NOT_JSON, "surrogate"},
    {0, USER("\"\\ude00\""), "", NOT_JSON, "surrogate"},
    {0, USER("\"\\x\""), "", NOT_JSON, "bad escape"},
    {0, "{" MSGS "} x", "", NOT_JSON, "trailing characters"},
    {0, "{" MSGS "}{}", "", NOT_JSON, "trailing characters"},
    {0, "{" MSGS ",}", "", NOT_JSON, NULL},
    {0, "{'messages':[]}", "", NOT_JSON, NULL},
    {0, "{\"temperature\":01," MSGS "}", "", NOT_JSON, NULL},
    /* the original /chat */
    {1, "{}", "message", "'message' must be a non-empty string", NULL},
    {1, "{\"message\":\"\"}", "message", "'message' must be a non-empty string", NULL},
    {1, "{\"message\":5}", "message", "'message' must be a non-empty string", NULL},
    {1, "{\"message\":null}", "message", "non-empty string", NULL},
    {1, "{\"message\":\"q\",\"conversation_id\":\"\"}", "conversation_id", CONV_LEN, NULL},
    {1, "{\"message\":\"q\",\"conversation_id\":12}", "conversation_id", CONV_LEN, NULL},
    {1, "{\"message\":\"q\",\"stream\":\"yes\"}", "stream", "'stream' must be a boolean", NULL},
    {1, "[\"q\"]", "", "must be a JSON object", NULL},
    {1, "{\"message\":\"q\"", "", NOT_JSON, "line 1, column 15"},
};

START_TEST(refused)
{
    const struct bad_case *c = &BAD[_i];
    int rc = parse(c->body, c->legacy);
    ck_assert_msg(rc == -1, "case %d (%s): rc %d", _i, c->body, rc);
    ck_assert_msg(strcmp(E.param, c->param) == 0, "case %d (%s): param '%s', want '%s'",
                  _i, c->body, E.param, c->param);
    ck_assert_msg(strstr(E.msg, c->phrase), "case %d (%s): msg '%s' lacks '%s'", _i,
                  c->body, E.msg, c->phrase);
    ck_assert_msg(!c->phrase2 || strstr(E.msg, c->phrase2), "case %d (%s): msg '%s' lacks '%s'",
                  _i, c->body, E.msg, c->phrase2);
}
END_TEST

/* Bytes the C literals above cannot hold: NULs, and no body at all. */
START_TEST(refused_raw_bytes)
{
    static const char nul_in_str[] = "{\"message\":\"a\0b\"}";
    static const char nul_after[] = "{\"message\":\"ab\"}\0";
    ck_assert_int_eq(chat_parse(nul_in_str, sizeof nul_in_str - 1, 1, NULL, &R, &E), -1);
    ck_assert_ptr_nonnull(strstr(E.msg, "control character"));
    chat_req_free(&R);
    ck_assert_int_eq(chat_parse(nul_after, sizeof nul_after - 1, 1, NULL, &R, &E), -1);
    ck_assert_ptr_nonnull(strstr(E.msg, "trailing characters"));
    chat_req_free(&R);
    ck_assert_int_eq(chat_parse(nul_after, sizeof nul_after - 2, 1, NULL, &R, &E), 0);
    ck_assert_str_eq(R.in.messages[0].content, "ab");
    chat_req_free(&R);
    ck_assert_int_eq(chat_parse(NULL, 5, 0, NULL, &R, &E), -1);
    ck_assert_str_eq(E.param, "");
    ck_assert_ptr_nonnull(strstr(E.msg, NOT_JSON));
}
END_TEST

/* ------------------------------------------------------------ limits */

/* {"messages":[...]}: a user message of `parts` parts "ab" (none if 0),
 * then `msgs` user messages "ab". */
static void hostile(hbuf *b, size_t msgs, size_t parts)
{
    hbuf_puts(b, "{\"messages\":[");
    if (parts) {
        hbuf_puts(b, "{\"role\":\"user\",\"content\":[");
        for (size_t k = 0; k < parts; k++)
            hbuf_puts(b, k ? ",{\"type\":\"text\",\"text\":\"ab\"}"
                           : "{\"type\":\"text\",\"text\":\"ab\"}");
        hbuf_puts(b, "]}");
    }
    for (size_t i = 0; i < msgs; i++)
        hbuf_puts(b, i || parts ? ",{\"role\":\"user\",\"content\":\"ab\"}"
                       : "{\"role\":\"user\",\"content\":\"ab\"}");
    hbuf_puts(b, "]}");
    ck_assert_int_eq(b->oom, 0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* 150,000 parts (4 MB) took minutes when each part was found by index and
 * the joined text regrown: now one pass, well under a second even on a
 * loaded machine. Limits off, so the walk itself is what is timed. */
START_TEST(many_parts_linear)
{
    static const chat_limits off = {0, 0, 0};
    hbuf b = {0};
    hostile(&b, 0, 150000);
    double t0 = now_s();
    int rc = chat_parse(b.data, b.len, 0, &off, &R, &E);
    double secs = now_s() - t0;
    hbuf_free(&b);
    ck_assert_msg(rc == 0, "%s", E.msg);
    ck_assert_msg(secs < 2.0, "150,000 parts took %.2f s", secs);
    const char *t = R.in.messages[0].content;
    ck_assert_uint_eq(strlen(t), 150000 * 3 - 1);
    ck_assert(strncmp(t, "ab\nab\n", 6) == 0);
    ck_assert(strcmp(t + strlen(t) - 5, "ab\nab") == 0);

    chat_req_free(&R);
    hostile(&b, 150000, 0);
    t0 = now_s();
    rc = chat_parse(b.data, b.len, 0, &off, &R, &E);
    secs = now_s() - t0;
    hbuf_free(&b);
    ck_assert_msg(rc == 0, "%s", E.msg);
    ck_assert_msg(secs < 2.0, "150,000 messages took %.2f s", secs);
    ck_assert_uint_eq(R.in.n_messages, 150000);
}
END_TEST

/* Each limit: the request at it passes, one more is refused naming it. */
START_TEST(limits)
{
    static const chat_limits lim = {3, 4, 20};
    hbuf b = {0};
    hostile(&b, 3, 0);
    ck_assert_int_eq(chat_parse(b.data, b.len, 0, &lim, &R, &E), 0);
    hbuf_reset(&b);
    chat_req_free(&R);
    hostile(&b, 4, 0);
    ck_assert_int_eq(chat_parse(b.data, b.len, 0, &lim, &R, &E), -1);
    ck_assert_int_eq(E.status, 413);
    ck_assert_str_eq(E.param, "messages");
    ck_assert_ptr_nonnull(strstr(E.msg, "holds 4 messages: the limit is 3 (max_messages)"));

    hbuf_reset(&b);
    chat_req_free(&R);
    hostile(&b, 0, 4); /* "ab\nab\nab\nab": 11 bytes */
    ck_assert_int_eq(chat_parse(b.data, b.len, 0, &lim, &R, &E), 0);
    ck_assert_str_eq(R.in.messages[0].content, "ab\nab\nab\nab");
    hbuf_reset(&b);
    chat_req_free(&R);
    hostile(&b, 0, 5);
    ck_assert_int_eq(chat_parse(b.data, b.len, 0, &lim, &R, &E), -1);
    ck_assert_int_eq(E.status, 413);
    ck_assert_str_eq(E.param, "messages[0].content");
    ck_assert_ptr_nonnull(strstr(E.msg, "has 5 parts: the limit is 4 (max_content_parts)"));

    /* 11 bytes of parts + 3 x "ab" = 17 fit in 18; a fourth "ab"
     * (messages[4]) makes 19 */
    hbuf_reset(&b);
    chat_req_free(&R);
    static const chat_limits text = {10, 10, 18};
    hostile(&b, 3, 4);
    ck_assert_int_eq(chat_parse(b.data, b.len, 0, &text, &R, &E), 0);
    hbuf_reset(&b);
    chat_req_free(&R);
    hostile(&b, 4, 4);
    ck_assert_int_eq(chat_parse(b.data, b.len, 0, &text, &R, &E), -1);
    ck_assert_int_eq(E.status, 413);
    ck_assert_str_eq(E.param, "messages[4].content");
    ck_assert_ptr_nonnull(strstr(E.msg, "more than 18 bytes of text"));
    ck_assert_ptr_nonnull(strstr(E.msg, "max_text_bytes"));
    hbuf_free(&b);

    /* the legacy message counts too; escapes count decoded */
    chat_req_free(&R);
    static const chat_limits two = {1, 1, 2};
    const char *ok = "{\"message\":\"\\u00e9\"}"; /* 2 bytes */
    ck_assert_int_eq(chat_parse(ok, strlen(ok), 1, &two, &R, &E), 0);
    chat_req_free(&R);
    const char *over = "{\"message\":\"abc\"}";
    ck_assert_int_eq(chat_parse(over, strlen(over), 1, &two, &R, &E), -1);
    ck_assert_int_eq(E.status, 413);
    ck_assert_str_eq(E.param, "message");
}
END_TEST

/* The defaults apply without limits of the caller's. */
START_TEST(default_limits)
{
    hbuf b = {0};
    hostile(&b, CHAT_MAX_MESSAGES + 1, 0);
    ck_assert_int_eq(chat_parse(b.data, b.len, 0, NULL, &R, &E), -1);
    ck_assert_ptr_nonnull(strstr(E.msg, "(max_messages)"));
    hbuf_reset(&b);
    chat_req_free(&R);
    hostile(&b, 0, CHAT_MAX_PARTS + 1);
    ck_assert_int_eq(chat_parse(b.data, b.len, 0, NULL, &R, &E), -1);
    ck_assert_ptr_nonnull(strstr(E.msg, "(max_content_parts)"));
    hbuf_free(&b);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("http_chat_parse_refused");
    TCase *no = tcase_create("refused");
    tcase_add_checked_fixture(no, setup, teardown);
    tcase_add_loop_test(no, refused, 0, (int)(sizeof BAD / sizeof BAD[0]));
    tcase_add_test(no, refused_raw_bytes);
    suite_add_tcase(s, no);
    ph_add_tcase(s, "limits", 30, setup, teardown,
                 PH_TESTS(many_parts_linear, limits, default_limits));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
