/*
 * Unit tests of transport_http's chat request parser (http_chat_parse),
 * compiled in directly with the flat JSON reader and the byte buffer it
 * uses (the plugin builds with hidden visibility, so there is nothing to
 * link). Every chat request passes through it, so the tests pin what a
 * client sees: the decoded strings byte for byte, the roles, the sampling
 * values kept, and for each refusal the offending param and the words of
 * the 400 message. The body is also freed before the result is read, since
 * the handler lets it go as soon as chat_parse returns.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../../plugins/transport_http/http_buf.c"
#include "../../../plugins/transport_http/http_chat_parse.c"
#include "testenv.h"

static chat_req R;
static parse_err E;

static void setup(void)
{
    memset(&R, 0, sizeof R);
    memset(&E, 0, sizeof E);
}

static void teardown(void)
{
    chat_req_free(&R);
}

static int parse(const char *body, int legacy)
{
    chat_req_free(&R); /* a test may parse more than once */
    memset(&E, 0, sizeof E);
    return chat_parse(body, strlen(body), legacy, NULL, &R, &E);
}

#define USER_HI "{\"role\":\"user\",\"content\":\"hi\"}"
#define MSGS "\"messages\":[" USER_HI "]"

/* The request parsed and its only message is the user's "hi". */
static void ok_hi(const char *body)
{
    ck_assert_msg(parse(body, 0) == 0, "%s: %s", body, E.msg);
    ck_assert_uint_eq(R.in.n_messages, 1);
    ck_assert_str_eq(R.in.messages[0].role, "user");
    ck_assert_str_eq(R.in.messages[0].content, "hi");
}

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
    Suite *s = suite_create("http_chat_parse");
    TCase *ok = tcase_create("accepted");
    tcase_add_checked_fixture(ok, setup, teardown);
    tcase_add_test(ok, minimal);
    tcase_add_test(ok, roles);
    tcase_add_test(ok, escapes);
    tcase_add_test(ok, content_parts);
    tcase_add_test(ok, assistant_without_content);
    tcase_add_test(ok, sampling);
    tcase_add_test(ok, stream_flags);
    tcase_add_test(ok, duplicate_keys);
    tcase_add_test(ok, long_conversation);
    tcase_add_test(ok, legacy_ok);
    tcase_add_test(ok, legacy_conversation_id_length);
    tcase_add_test(ok, body_freed_after_parse);
    suite_add_tcase(s, ok);
    TCase *no = tcase_create("refused");
    tcase_add_checked_fixture(no, setup, teardown);
    tcase_add_loop_test(no, refused, 0, (int)(sizeof BAD / sizeof BAD[0]));
    tcase_add_test(no, refused_raw_bytes);
    suite_add_tcase(s, no);
    TCase *lim = tcase_create("limits");
    tcase_add_checked_fixture(lim, setup, teardown);
    tcase_set_timeout(lim, 30);
    tcase_add_test(lim, many_parts_linear);
    tcase_add_test(lim, limits);
    tcase_add_test(lim, default_limits);
    suite_add_tcase(s, lim);
    return s;
}

int main(void) { return ph_run_suite(suite()); }
