/*
 * test_http_chat_parse — transport_http's chat request parser
 * (chat_parse_fixture.h) on requests it accepts: the decoded strings byte
 * for byte, the roles, content parts, the sampling values kept, stream
 * flags, the legacy /chat form, and the body freed before the result is
 * read. Refusals and limits are test_http_chat_parse_refused.
 */
#include "chat_parse_fixture.h"

/* ------------------------------------------------------------ accepted */

START_TEST(minimal)
{
    ok_hi("{\"model\":\"gpt-x\"," MSGS "}");
    ck_assert_str_eq(R.in.model, "gpt-x");
    ck_assert_uint_eq(R.in.struct_size, sizeof R.in);
    ck_assert_ptr_null(R.in.request_id);
    ck_assert_ptr_null(R.in.tenant);
    ck_assert_ptr_null(R.in.conversation_id);
    ck_assert_int_eq(R.in.new_conversation, 0);
    ck_assert_int_eq(R.in.retrieve, 1);
    ck_assert_double_eq(R.in.temperature, -1.0);
    ck_assert_int_eq(R.in.max_tokens, 0);
    ck_assert_int_eq(R.in.stream, 0);
    ck_assert_int_eq(R.include_usage, 0);
    ck_assert_ptr_eq(R.in.messages, R.msgs);

    ok_hi("{\"model\":\"\"," MSGS "}");
    ck_assert_ptr_null(R.in.model);
    ok_hi("{\"model\":null," MSGS "}");
    ck_assert_ptr_null(R.in.model);
    ok_hi("{" MSGS "}");
    ck_assert_ptr_null(R.in.model);
    /* unknown fields are ignored, as OpenAI does */
    ok_hi("{\"user\":\"u1\",\"seed\":3,\"tools\":[{}]," MSGS "}");
}
END_TEST

START_TEST(roles)
{
    ck_assert_int_eq(parse("{\"messages\":["
                           "{\"role\":\"system\",\"content\":\"s\"},"
                           "{\"role\":\"developer\",\"content\":\"d\"},"
                           "{\"role\":\"user\",\"content\":\"u\"},"
                           "{\"role\":\"assistant\",\"content\":\"a\"},"
                           "{\"content\":\"u2\",\"role\":\"us\\u0065r\"}]}", 0), 0);
    static const char *const role[] = {"system", "system", "user", "assistant", "user"};
    static const char *const text[] = {"s", "d", "u", "a", "u2"};
    ck_assert_uint_eq(R.in.n_messages, 5);
    for (size_t i = 0; i < 5; i++) {
        ck_assert_str_eq(R.in.messages[i].role, role[i]);
        ck_assert_str_eq(R.in.messages[i].content, text[i]);
    }
}
END_TEST

START_TEST(escapes)
{
    ck_assert_int_eq(parse("{\"mod\\u0065l\":\"m\\/1\",\"messages\":[{\"role\":\"user\","
                           "\"content\":\"a\\nb\\\"c\\\\d\\/e\\u00e9f\\ud83d\\ude00g"
                           "\\b\\f\\r\\t\\u20AC\"}]}", 0), 0);
    ck_assert_str_eq(R.in.model, "m/1");
    const char *want = "a\nb\"c\\d/e\xc3\xa9" "f\xf0\x9f\x98\x80g\b\f\r\t\xe2\x82\xac";
    ck_assert_str_eq(R.in.messages[0].content, want);
    ck_assert_uint_eq(strlen(R.in.messages[0].content), 24);

    /* raw UTF-8 passes through untouched: "Привет 😀" */
#define RAW_UTF8 "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xf0\x9f\x98\x80"
    ck_assert_int_eq(parse("{\"messages\":[{\"role\":\"user\",\"content\":\"" RAW_UTF8 "\"}]}",
                           0), 0);
    ck_assert_str_eq(R.in.messages[0].content, RAW_UTF8);
    ck_assert_uint_eq(strlen(R.in.messages[0].content), 17);
}
END_TEST

START_TEST(content_parts)
{
    ck_assert_int_eq(parse("{\"messages\":[{\"role\":\"user\",\"content\":["
                           "{\"type\":\"text\",\"text\":\"one\"},"
                           "{\"text\":\"t\\u00e9o\",\"type\":\"text\",\"cache_control\":{}},"
                           "{\"type\":\"text\",\"text\":\"\"}]}]}", 0), 0);
    ck_assert_str_eq(R.in.messages[0].content, "one\nt\xc3\xa9o\n");

    ck_assert_int_eq(parse("{\"messages\":[{\"role\":\"system\",\"content\":"
                           "[{\"type\":\"text\",\"text\":\"only\"}]}," USER_HI "]}", 0), 0);
    ck_assert_str_eq(R.in.messages[0].content, "only");
    ck_assert_str_eq(R.in.messages[1].content, "hi");
}
END_TEST

START_TEST(assistant_without_content)
{
    static const char *const bodies[] = {
        "{\"messages\":[{\"role\":\"assistant\",\"content\":null}," USER_HI "]}",
        "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[]}," USER_HI "]}",
    };
    for (size_t i = 0; i < 2; i++) {
        ck_assert_msg(parse(bodies[i], 0) == 0, "%s: %s", bodies[i], E.msg);
        ck_assert_uint_eq(R.in.n_messages, 2);
        ck_assert_str_eq(R.in.messages[0].role, "assistant");
        ck_assert_str_eq(R.in.messages[0].content, "");
        ck_assert_str_eq(R.in.messages[1].content, "hi");
    }
}
END_TEST

START_TEST(sampling)
{
    static const struct { const char *field; double want; } temps[] = {
        {"\"temperature\":0", 0.0}, {"\"temperature\":2", 2.0},
        {"\"temperature\":0.7", 0.7}, {"\"temperature\":2e0", 2.0},
        {"\"temperature\":null", -1.0},
    };
    char body[256];
    for (size_t i = 0; i < sizeof temps / sizeof temps[0]; i++) {
        snprintf(body, sizeof body, "{%s," MSGS "}", temps[i].field);
        ok_hi(body);
        ck_assert_double_eq(R.in.temperature, temps[i].want);
    }
    ok_hi("{\"max_tokens\":100," MSGS "}");
    ck_assert_int_eq(R.in.max_tokens, 100);
    ok_hi("{\"max_tokens\":9007199254740993," MSGS "}");
    ck_assert_int_eq(R.in.max_tokens, 9007199254740993LL);
    ok_hi("{\"max_tokens\":100,\"max_completion_tokens\":50," MSGS "}");
    ck_assert_int_eq(R.in.max_tokens, 50);
    ok_hi("{\"max_completion_tokens\":50,\"max_tokens\":100," MSGS "}");
    ck_assert_int_eq(R.in.max_tokens, 50);
    ok_hi("{\"max_completion_tokens\":null,\"max_tokens\":7," MSGS "}");
    ck_assert_int_eq(R.in.max_tokens, 7);
    ok_hi("{\"n\":1," MSGS "}");
    ok_hi("{\"n\":null," MSGS "}");
}
END_TEST

START_TEST(stream_flags)
{
    static const struct { const char *field; int stream, usage; } rows[] = {
        {"\"stream\":true", 1, 0},
        {"\"stream\":false", 0, 0},
        {"\"stream\":null", 0, 0},
        {"\"x\":0", 0, 0},
        {"\"stream\":true,\"stream_options\":{\"include_usage\":true}", 1, 1},
        {"\"stream\":true,\"stream_options\":{\"include_usage\":false}", 1, 0},
        {"\"stream\":true,\"stream_options\":{}", 1, 0},
        {"\"stream\":true,\"stream_options\":null", 1, 0},
    };
    char body[256];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        snprintf(body, sizeof body, "{%s," MSGS "}", rows[i].field);
        ok_hi(body);
        ck_assert_msg(R.in.stream == rows[i].stream, "%s", body);
        ck_assert_msg(R.include_usage == rows[i].usage, "%s", body);
    }
}
END_TEST

START_TEST(duplicate_keys)
{
    ck_assert_int_eq(parse("{\"model\":\"a\",\"model\":\"b\",\"stream\":true,\"stream\":false,"
                           "\"messages\":[{\"role\":\"system\",\"content\":\"x\"}],"
                           "\"messages\":[{\"role\":\"user\",\"role\":\"user\","
                           "\"content\":\"first\",\"content\":\"last\"}]}", 0), 0);
    ck_assert_str_eq(R.in.model, "b");
    ck_assert_int_eq(R.in.stream, 0);
    ck_assert_uint_eq(R.in.n_messages, 1);
    ck_assert_str_eq(R.in.messages[0].content, "last");
}
END_TEST

/* 200 messages need ~1000 tokens: far past the parser's stack array, so
 * the reader moves to the heap mid-parse. */
START_TEST(long_conversation)
{
    hbuf b = {0};
    char want[64];
    hbuf_puts(&b, "{\"model\":\"m\",\"messages\":[");
    for (int i = 0; i < 200; i++)
        hbuf_printf(&b, "%s{\"role\":\"%s\",\"content\":\"turn %d\\n\\u00e9\"}",
                    i ? "," : "", i % 2 ? "user" : "assistant", i);
    hbuf_puts(&b, "],\"temperature\":0.5}");
    ck_assert_int_eq(b.oom, 0);
    int rc = chat_parse(b.data, b.len, 0, NULL, &R, &E);
    hbuf_free(&b);
    ck_assert_msg(rc == 0, "%s", E.msg);
    ck_assert_uint_eq(R.in.n_messages, 200);
    for (int i = 0; i < 200; i++) {
        snprintf(want, sizeof want, "turn %d\n\xc3\xa9", i);
        ck_assert_str_eq(R.in.messages[i].content, want);
        ck_assert_str_eq(R.in.messages[i].role, i % 2 ? "user" : "assistant");
    }
    ck_assert_str_eq(R.in.model, "m");
    ck_assert_double_eq(R.in.temperature, 0.5);
}
END_TEST

START_TEST(legacy_ok)
{
    ck_assert_int_eq(parse("{\"message\":\"hello\\tthere\",\"conversation_id\":\"c-1\","
                           "\"stream\":true,\"model\":\"ignored\"}", 1), 0);
    ck_assert_uint_eq(R.in.n_messages, 1);
    ck_assert_str_eq(R.in.messages[0].role, "user");
    ck_assert_str_eq(R.in.messages[0].content, "hello\tthere");
    ck_assert_str_eq(R.in.conversation_id, "c-1");
    ck_assert_int_eq(R.in.new_conversation, 1);
    ck_assert_int_eq(R.in.stream, 1);
    ck_assert_int_eq(R.in.retrieve, 1);
    ck_assert_ptr_null(R.in.model);
    ck_assert_double_eq(R.in.temperature, -1.0);

    ck_assert_int_eq(parse("{\"message\":\"q\"}", 1), 0);
    ck_assert_ptr_null(R.in.conversation_id);
    ck_assert_int_eq(R.in.stream, 0);
    ck_assert_int_eq(parse("{\"message\":\"q\",\"conversation_id\":null,\"stream\":false}", 1), 0);
    ck_assert_ptr_null(R.in.conversation_id);
    ck_assert_int_eq(R.in.stream, 0);

    ck_assert_int_eq(parse("{\"conversation_id\":\"a\\u00e9\\/b\\\"\",\"message\":\"q\"}", 1), 0);
    ck_assert_str_eq(R.in.conversation_id, "a\xc3\xa9/b\"");
    ck_assert_str_eq(R.in.messages[0].content, "q");
}
END_TEST

/* "conversation_id" of n bytes (plus, with esc, one escaped byte). */
static int legacy_conv(size_t n, int esc)
{
    char id[200], body[300];
    memset(id, 'k', n);
    id[n] = '\0';
    snprintf(body, sizeof body, "{\"message\":\"q\",\"conversation_id\":\"%s%s\"}",
             id, esc ? "\\u00e9" : "");
    return parse(body, 1);
}

START_TEST(legacy_conversation_id_length)
{
    ck_assert_int_eq(legacy_conv(128, 0), 0);
    ck_assert_uint_eq(strlen(R.in.conversation_id), 128);
    ck_assert_int_eq(legacy_conv(126, 1), 0); /* é: 2 bytes decoded, 6 raw */
    ck_assert_uint_eq(strlen(R.in.conversation_id), 128);
    ck_assert_int_eq(legacy_conv(1, 0), 0);
    ck_assert_str_eq(R.in.conversation_id, "k");

    ck_assert_int_eq(legacy_conv(129, 0), -1);
    ck_assert_str_eq(E.param, "conversation_id");
    ck_assert_ptr_nonnull(strstr(E.msg, "1..128 bytes"));
    ck_assert_int_eq(legacy_conv(127, 1), -1);
    ck_assert_str_eq(E.param, "conversation_id");
}
END_TEST

/* The body is gone by the time the request is read. */
START_TEST(body_freed_after_parse)
{
    static const char *const src[2] = {
        "{\"model\":\"mo\\u00e9\",\"messages\":[{\"role\":\"developer\",\"content\":\"sys\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"p1\"},"
        "{\"type\":\"text\",\"text\":\"p2\"}]},{\"role\":\"assistant\",\"content\":\"a\"},"
        "{\"role\":\"user\",\"content\":\"last \\\"one\\\"\"}]}",
        "{\"message\":\"legacy msg\",\"conversation_id\":\"conv-9\"}",
    };
    for (int legacy = 0; legacy < 2; legacy++) {
        size_t n = strlen(src[legacy]);
        char *body = malloc(n);
        ck_assert_ptr_nonnull(body);
        memcpy(body, src[legacy], n); /* no NUL: the parser must not need one */
        chat_req_free(&R);
        int rc = chat_parse(body, n, legacy, NULL, &R, &E);
        memset(body, 'X', n);
        free(body);
        ck_assert_msg(rc == 0, "%s", E.msg);
        if (legacy) {
            ck_assert_str_eq(R.in.messages[0].content, "legacy msg");
            ck_assert_str_eq(R.in.conversation_id, "conv-9");
            continue;
        }
        static const char *const role[] = {"system", "user", "assistant", "user"};
        static const char *const text[] = {"sys", "p1\np2", "a", "last \"one\""};
        ck_assert_str_eq(R.in.model, "mo\xc3\xa9");
        ck_assert_uint_eq(R.in.n_messages, 4);
        for (size_t i = 0; i < 4; i++) {
            ck_assert_str_eq(R.in.messages[i].role, role[i]);
            ck_assert_str_eq(R.in.messages[i].content, text[i]);
        }
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("http_chat_parse");
    ph_add_tcase(s, "accepted", 4, setup, teardown,
                 PH_TESTS(minimal, roles, escapes, content_parts, assistant_without_content,
                          sampling, stream_flags, duplicate_keys, long_conversation,
                          legacy_ok, legacy_conversation_id_length,
                          body_freed_after_parse));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
