/*
 * chat_parse_fixture — what the chat parser tests share: transport_http's
 * http_chat_parse compiled in directly with the byte buffer it uses (the
 * plugin builds with hidden visibility, so there is nothing to link), one
 * parsed request and error per case, and a parse that frees the body
 * before the result is read, as the handler does. Header-only: each test
 * program compiles its own copy.
 */
#ifndef RK_TEST_CHAT_PARSE_FIXTURE_H
#define RK_TEST_CHAT_PARSE_FIXTURE_H

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../../plugins/transport_http/http_buf.c"
#include "../../../plugins/transport_http/http_chat_parse.c"
#include "testenv.h"

static chat_req R;
static parse_err E;

static inline void setup(void)
{
    memset(&R, 0, sizeof R);
    memset(&E, 0, sizeof E);
}

static inline void teardown(void)
{
    chat_req_free(&R);
}

static inline int parse(const char *body, int legacy)
{
    chat_req_free(&R); /* a test may parse more than once */
    memset(&E, 0, sizeof E);
    return chat_parse(body, strlen(body), legacy, NULL, &R, &E);
}

#define USER_HI "{\"role\":\"user\",\"content\":\"hi\"}"
#define MSGS "\"messages\":[" USER_HI "]"

/* The request parsed and its only message is the user's "hi". */
static inline void ok_hi(const char *body)
{
    ck_assert_msg(parse(body, 0) == 0, "%s: %s", body, E.msg);
    ck_assert_uint_eq(R.in.n_messages, 1);
    ck_assert_str_eq(R.in.messages[0].role, "user");
    ck_assert_str_eq(R.in.messages[0].content, "hi");
}

#endif
