/*
 * test_redact — credentials in upstream text (common/redact.c) and in log
 * lines (core/secrets.c through core/log.c): header, JSON and query forms,
 * bearer tokens, S3's signed strings and configured secrets are masked;
 * ordinary words that merely start like a credential name are not.
 */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"
#include "redact.h"
#include "secrets.h"
#include "testenv.h"

static char out[2048];

static const char *r(const char *in)
{
    static const char *const secrets[] = {"sk-configured-123456", "abc"};
    redact(in, out, sizeof out, secrets, 2);
    return out;
}

static void no(const char *needle)
{
    ck_assert_msg(strstr(out, needle) == NULL, "'%s' not masked in: %s", needle, out);
}

START_TEST(header_forms)
{
    r("cannot parse request (headers: Host: x; Authorization: Bearer sk-live-AAAA; X-Api-Key: k-BBBB)");
    no("sk-live-AAAA");
    no("k-BBBB");
    ck_assert_msg(strstr(out, "Host: x") && strstr(out, REDACT_MASK), "%s", out);
    r("{\"headers\": {\"authorization\": \"Bearer sk-live-CCCC\", \"api-key\": \"az-DDDD\"}}");
    no("sk-live-CCCC");
    no("az-DDDD");
    r("{\\\"x-api-key\\\":\\\"ant-EEEE\\\"}");
    no("ant-EEEE");
    r("GET /b/k?X-Amz-Credential=AKIAFFFF%2F2026&X-Amz-Signature=0123abcd&list-type=2");
    no("AKIAFFFF");
    no("0123abcd");
    ck_assert_msg(strstr(out, "list-type=2"), "%s", out);
    r("Cookie: session=GGGG; theme=dark\nSet-Cookie: id=HHHH\nx-amz-security-token: IIII");
    no("GGGG");
    no("HHHH");
    no("IIII");
}
END_TEST

START_TEST(bearer_and_secrets)
{
    r("token was Bearer eyJ-JJJJ.KKKK and then sk-configured-123456 again");
    no("JJJJ");
    no("sk-configured-123456");
    r("abc is too short to be a secret");
    ck_assert_str_eq(out, "abc is too short to be a secret");
}
END_TEST

START_TEST(s3_signing_material)
{
    r("<Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>AKIALLLL</AWSAccessKeyId>"
      "<StringToSign>AWS4-HMAC-SHA256\n20260101T000000Z\nMMMM</StringToSign>"
      "<SignatureProvided>NNNN</SignatureProvided>"
      "<CanonicalRequest>GET\n/bucket/key\nOOOO</CanonicalRequest></Error>");
    no("AKIALLLL");
    no("MMMM");
    no("NNNN");
    no("OOOO");
    ck_assert_msg(strstr(out, "<Code>SignatureDoesNotMatch</Code>"), "%s", out);
}
END_TEST

START_TEST(ordinary_words_kept)
{
    const char *in = "SignatureDoesNotMatch; max_tokens 12; completion_tokens: 3; "
                     "the password policy; keys=4";
    r(in);
    ck_assert_str_eq(out, in);
    r("password: hunter22"); /* a name with ':' is a credential */
    no("hunter22");
}
END_TEST

START_TEST(truncates_safely)
{
    char small[16];
    redact("Authorization: Bearer sk-live-PPPP", small, sizeof small, NULL, 0);
    ck_assert_uint_lt(strlen(small), sizeof small);
    ck_assert_msg(!strstr(small, "PPPP"), "%s", small);
}
END_TEST

/* Log lines: values configured under credential-like keys never appear. */
START_TEST(log_lines_masked)
{
    const char *yaml = "instances:\n  a:\n    config:\n      api_key: sk-from-config-QQQQ\n"
                       "      model: gpt-quiet\n  s3:\n    config: {secret_key: RRRRRRRR}\n"
                       "auth:\n  keys:\n    acme:\n      key: SSSSSSSS\n      tenant: acme-corp\n"
                       "      scopes: [documents:read]\n";
    cfg_diag d = {0};
    cfg_doc *doc = cfg_load_string(yaml, strlen(yaml), "t.yaml", &d);
    ck_assert_ptr_nonnull(doc);
    secrets_from_config(cfg_root(doc));
    char path[] = "/tmp/rk_redact_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    log_emit(RK_LOG_ERROR, "t", "upstream said: key sk-from-config-QQQQ and RRRRRRRR, model "
                                "gpt-quiet, SSSSSSSS for acme-corp with documents:read");
    dup2(saved, STDERR_FILENO);
    close(saved);
    char buf[1024] = {0};
    ck_assert_int_gt(pread(fd, buf, sizeof buf - 1, 0), 0);
    close(fd);
    unlink(path);
    ck_assert_msg(!strstr(buf, "QQQQ") && !strstr(buf, "RRRRRRRR") && !strstr(buf, "SSSSSSSS"),
                  "%s", buf);
    /* not under a credential key: kept */
    ck_assert_msg(strstr(buf, "model gpt-quiet") && strstr(buf, "acme-corp with documents:read"),
                  "%s", buf);
    secrets_clear();
    cfg_free(doc);
    cfg_diag_free(&d);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("redact");
    ph_add_tcase(s, "redact", 30, NULL, NULL,
                 PH_TESTS(header_forms, bearer_and_secrets, s3_signing_material,
                          ordinary_words_kept, truncates_safely, log_lines_masked));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
