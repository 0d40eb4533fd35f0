/*
 * Unit tests of transport_http's multipart/form-data parser
 * (http_multipart), compiled in directly (the plugin builds with hidden
 * visibility). They pin what an upload's name becomes: decoded exactly,
 * and refused, never cut short, when it holds a NUL byte (raw or %00),
 * which as a C string would end the name early ("a%00.txt" stored as "a").
 */
#define _GNU_SOURCE /* memmem, as the module itself asks */
#include <string.h>

/* before check.h, whose fail() macro would rename the module's own */
#include "../../../plugins/transport_http/http_multipart.c"

#include <check.h>

#include "testenv.h"

static mp_form F;
static char ERR[160];

/* A body with one part: Content-Disposition parameters `disp`, then
 * `data`; n = the length of disp (it may hold a NUL). */
static int parse_part(const char *disp, size_t n, const char *data)
{
    char body[512];
    size_t len = 0;
    const char *head = "--B\r\nContent-Disposition: form-data; ";
    memcpy(body + len, head, strlen(head));
    len += strlen(head);
    memcpy(body + len, disp, n);
    len += n;
    len += (size_t)snprintf(body + len, sizeof body - len, "\r\n\r\n%s\r\n--B--\r\n", data);
    memset(&F, 0, sizeof F);
    ERR[0] = '\0';
    return mp_parse(body, len, "B", &F, ERR, sizeof ERR);
}

#define PART(lit, data) parse_part(lit, sizeof lit - 1, data)

START_TEST(names_decoded)
{
    ck_assert_int_eq(PART("name=\"file\"; filename=\"notes.md\"", "words"), 0);
    ck_assert_str_eq(F.filename, "notes.md");
    ck_assert_uint_eq(F.len, 5);
    ck_assert_int_eq(PART("name=\"file\"; filename*=UTF-8''caf%C3%A9%20x.txt", "w"), 0);
    ck_assert_str_eq(F.filename, "caf\xc3\xa9 x.txt");
    ck_assert_int_eq(PART("name=\"file\"; filename=\"a\\\"b.txt\"", "w"), 0);
    ck_assert_str_eq(F.filename, "a\"b.txt");
    ck_assert_int_eq(PART("name=id", "doc-1"), 0);
    ck_assert_str_eq(F.id, "doc-1");
}
END_TEST

START_TEST(nul_refused)
{
    ck_assert_int_eq(PART("name=\"file\"; filename*=UTF-8''a%00.txt", "w"), -1);
    ck_assert_msg(strstr(ERR, "NUL byte (%00)"), "%s", ERR);
    ck_assert_int_eq(PART("name=\"file\"; filename=\"a\0.txt\"", "w"), -1);
    ck_assert_msg(strstr(ERR, "NUL byte"), "%s", ERR);
    ck_assert_int_eq(PART("name=\"file\"; filename=a\0.txt", "w"), -1);
    ck_assert_msg(strstr(ERR, "NUL byte"), "%s", ERR);
    ck_assert_int_eq(PART("name=\"fi\0le\"; filename=a.txt", "w"), -1);
    ck_assert_msg(strstr(ERR, "NUL byte"), "%s", ERR);

    char body[] = "--B\r\nContent-Disposition: form-data; name=id\r\n\r\nab\0c\r\n--B--\r\n";
    ck_assert_int_eq(mp_parse(body, sizeof body - 1, "B", &F, ERR, sizeof ERR), -1);
    ck_assert_msg(strstr(ERR, "'id' field contains a NUL byte"), "%s", ERR);
}
END_TEST

START_TEST(pct_decode)
{
    char out[16];
    ck_assert_int_eq(mp_pct_decode("a%41b", 5, out, sizeof out), 0);
    ck_assert_str_eq(out, "aAb");
    ck_assert_int_eq(mp_pct_decode("a%00b", 5, out, sizeof out), MP_NUL);
    ck_assert_int_eq(mp_pct_decode("a%0", 3, out, sizeof out), -1);
    ck_assert_int_eq(mp_pct_decode("a%zz", 4, out, sizeof out), -1);
    ck_assert_int_eq(mp_pct_decode("0123456789abcdef", 16, out, sizeof out), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_multipart");
    ph_add_tcase(s, "names", 10, NULL, NULL, PH_TESTS(names_decoded, nul_refused, pct_decode));
    return ph_run_suite(s);
}
