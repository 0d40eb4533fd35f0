/*
 * test_s3_sigv4 — the storage_s3 wire format, pinned without any server
 * (s3rver checks no signatures, so only fixed vectors can): SHA-256 and
 * HMAC-SHA256 against FIPS 180-4 and RFC 4231 vectors, the SigV4 signer
 * against the four examples of AWS's "Signature Calculations for the
 * Authorization Header" page (GET Object with Range, PUT Object, GET
 * Bucket lifecycle, GET Bucket), the canonical query and path encoders,
 * and the minimal XML reader on S3-shaped documents. The plugin's sources
 * are compiled in directly, so this is the code the plugin runs.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../../plugins/storage_s3/s3_buf.c"
#include "../../../plugins/storage_s3/s3_hash.c"
#include "../../../plugins/storage_s3/s3_xml.c"
#include "../../../plugins/storage_s3/sigv4.c"

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define EX_DATE "20130524T000000Z"
#define EX_HOST "examplebucket.s3.amazonaws.com"

static const sigv4_key ex_key = {"AKIAIOSFODNN7EXAMPLE",
                                 "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3"};

/* The Signature= part of an Authorization value (static buffer). */
static const char *signature_of(const char *auth)
{
    static char sig[65];
    const char *s = auth ? strstr(auth, "Signature=") : NULL;
    ck_assert_msg(s != NULL, "no signature in '%s'", auth ? auth : "(null)");
    snprintf(sig, sizeof sig, "%s", s + 10);
    return sig;
}

static char *query_of(const sigv4_param *p, size_t n)
{
    char *q = sigv4_query(p, n);
    ck_assert_ptr_nonnull(q);
    return q;
}

/* ---- hashes ------------------------------------------------------------- */

START_TEST(sha256_vectors)
{
    char hex[SHA256_HEX_LEN];
    s3_sha256_hex("", 0, hex);
    ck_assert_str_eq(hex, EMPTY_SHA);
    s3_sha256_hex("abc", 3, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    s3_sha256_hex(two, strlen(two), hex);
    ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* a million 'a' fed in uneven pieces: the block buffering is exercised */
    char *a = malloc(1000000);
    memset(a, 'a', 1000000);
    sha256_ctx c;
    uint8_t d[SHA256_DIGEST_LEN];
    sha256_init(&c);
    for (size_t off = 0, step = 1; off < 1000000; off += step, step = step * 3 % 997 + 1)
        sha256_update(&c, a + off, off + step > 1000000 ? 1000000 - off : step);
    sha256_final(&c, d);
    s3_hex(d, sizeof d, hex);
    ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* lengths around the padding boundary match the one-shot path */
    for (size_t n = 50; n < 70; n++) {
        char one[SHA256_HEX_LEN], two_hex[SHA256_HEX_LEN];
        s3_sha256_hex(a, n, one);
        sha256_init(&c);
        sha256_update(&c, a, n / 2);
        sha256_update(&c, a + n / 2, n - n / 2);
        sha256_final(&c, d);
        s3_hex(d, sizeof d, two_hex);
        ck_assert_str_eq(one, two_hex);
    }
    free(a);
}
END_TEST

START_TEST(hmac_rfc4231)
{
    uint8_t out[SHA256_DIGEST_LEN], key[131];
    char hex[SHA256_HEX_LEN];
    memset(key, 0x0b, 20);
    s3_hmac_sha256(key, 20, "Hi There", 8, out);
    s3_hex(out, sizeof out, hex);
    ck_assert_str_eq(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    s3_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, out);
    s3_hex(out, sizeof out, hex);
    ck_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    memset(key, 0xaa, sizeof key); /* longer than a block: hashed first */
    const char *m = "Test Using Larger Than Block-Size Key - Hash Key First";
    s3_hmac_sha256(key, sizeof key, m, strlen(m), out);
    s3_hex(out, sizeof out, hex);
    ck_assert_str_eq(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}
END_TEST

/* ---- SigV4: AWS's published examples ----------------------------------- */

START_TEST(sigv4_get_object_example)
{
    const sigv4_header h[] = {{"host", EX_HOST},
                              {"range", "bytes=0-9"},
                              {"x-amz-content-sha256", EMPTY_SHA},
                              {"x-amz-date", EX_DATE}};
    sigv4_input in = {"GET", "/test.txt", "", h, 4, EMPTY_SHA};
    char *signed_headers = NULL, *canon = sigv4_canonical_request(&in, &signed_headers);
    ck_assert_str_eq(canon, "GET\n/test.txt\n\n"
                            "host:examplebucket.s3.amazonaws.com\n"
                            "range:bytes=0-9\n"
                            "x-amz-content-sha256:" EMPTY_SHA "\n"
                            "x-amz-date:20130524T000000Z\n"
                            "\n"
                            "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA);
    ck_assert_str_eq(signed_headers, "host;range;x-amz-content-sha256;x-amz-date");
    char hex[SHA256_HEX_LEN];
    s3_sha256_hex(canon, strlen(canon), hex); /* the hash in AWS's StringToSign */
    ck_assert_str_eq(hex, "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    char *auth = sigv4_authorization(&ex_key, EX_DATE, &in);
    ck_assert_str_eq(auth, "AWS4-HMAC-SHA256 "
                           "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                           "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                           "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    free(canon);
    free(signed_headers);
    free(auth);
}
END_TEST

START_TEST(sigv4_canonicalizes_headers)
{
    /* any order, any case, padded values: same canonical form, same signature */
    const sigv4_header h[] = {{"X-Amz-Date", EX_DATE},
                              {"Range", "  bytes=0-9 "},
                              {"x-amz-content-sha256", EMPTY_SHA},
                              {"Host", EX_HOST}};
    sigv4_input in = {"GET", "/test.txt", NULL, h, 4, EMPTY_SHA};
    char *auth = sigv4_authorization(&ex_key, EX_DATE, &in);
    ck_assert_str_eq(signature_of(auth),
                     "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    free(auth);
    /* one byte different anywhere: a different signature */
    const sigv4_header h2[] = {{"host", EX_HOST},
                               {"range", "bytes=0-8"},
                               {"x-amz-content-sha256", EMPTY_SHA},
                               {"x-amz-date", EX_DATE}};
    sigv4_input in2 = {"GET", "/test.txt", NULL, h2, 4, EMPTY_SHA};
    auth = sigv4_authorization(&ex_key, EX_DATE, &in2);
    ck_assert_str_ne(signature_of(auth),
                     "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    free(auth);
}
END_TEST

START_TEST(sigv4_put_object_example)
{
    const char *body = "Welcome to Amazon S3.";
    char hash[SHA256_HEX_LEN];
    s3_sha256_hex(body, strlen(body), hash);
    ck_assert_str_eq(hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    s3_buf path = {0};
    s3_buf_str(&path, "/");
    sigv4_encode(&path, "test$file.text", 14, 1);
    char *p = s3_buf_take(&path);
    ck_assert_str_eq(p, "/test%24file.text");
    const sigv4_header h[] = {{"date", "Fri, 24 May 2013 00:00:00 GMT"},
                              {"host", EX_HOST},
                              {"x-amz-date", EX_DATE},
                              {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                              {"x-amz-content-sha256", hash}};
    sigv4_input in = {"PUT", p, NULL, h, 5, hash};
    char *auth = sigv4_authorization(&ex_key, EX_DATE, &in);
    ck_assert_ptr_nonnull(strstr(auth, "SignedHeaders=date;host;x-amz-content-sha256;"
                                       "x-amz-date;x-amz-storage-class, "));
    ck_assert_str_eq(signature_of(auth),
                     "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    free(auth);
    free(p);
}
END_TEST

START_TEST(sigv4_bucket_examples)
{
    const sigv4_header h[] = {{"host", EX_HOST},
                              {"x-amz-content-sha256", EMPTY_SHA},
                              {"x-amz-date", EX_DATE}};
    /* GET ?lifecycle: a parameter without value is signed as "lifecycle=" */
    const sigv4_param lc[] = {{"lifecycle", NULL}};
    char *q = query_of(lc, 1);
    ck_assert_str_eq(q, "lifecycle=");
    sigv4_input in = {"GET", "/", q, h, 3, EMPTY_SHA};
    char *auth = sigv4_authorization(&ex_key, EX_DATE, &in);
    ck_assert_str_eq(signature_of(auth),
                     "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    free(auth);
    free(q);
    /* GET ?max-keys=2&prefix=J, given in the other order */
    const sigv4_param ls[] = {{"prefix", "J"}, {"max-keys", "2"}};
    q = query_of(ls, 2);
    ck_assert_str_eq(q, "max-keys=2&prefix=J");
    in.query = q;
    auth = sigv4_authorization(&ex_key, EX_DATE, &in);
    ck_assert_str_eq(signature_of(auth),
                     "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    free(auth);
    free(q);
}
END_TEST

START_TEST(sigv4_date)
{
    char d[17];
    sigv4_amz_date(0, d);
    ck_assert_str_eq(d, "19700101T000000Z");
    sigv4_amz_date(1369353600, d);
    ck_assert_str_eq(d, EX_DATE);
    sigv4_amz_date(1700000000, d);
    ck_assert_str_eq(d, "20231114T221320Z");
}
END_TEST

/* ---- canonical query and path ------------------------------------------ */

START_TEST(query_canonical_form)
{
    const sigv4_param list[] = {{"prefix", "dir/"}, {"list-type", "2"}};
    char *q = query_of(list, 2);
    ck_assert_str_eq(q, "list-type=2&prefix=dir%2F");
    free(q);
    const sigv4_param up[] = {{"uploads", NULL}};
    q = query_of(up, 1);
    ck_assert_str_eq(q, "uploads=");
    free(q);
    const sigv4_param part[] = {{"uploadId", "2~x.y_z-A+b/c="}, {"partNumber", "10"}};
    q = query_of(part, 2);
    ck_assert_str_eq(q, "partNumber=10&uploadId=2~x.y_z-A%2Bb%2Fc%3D");
    free(q);
    /* ListObjectsV2 as the plugin sends it: sorted, token fully encoded */
    const sigv4_param page[] = {{"max-keys", "2"},
                                {"continuation-token", "1/ab+cd==&x"},
                                {"prefix", "ragkernel/t 1/"},
                                {"list-type", "2"}};
    q = query_of(page, 4);
    ck_assert_str_eq(q, "continuation-token=1%2Fab%2Bcd%3D%3D%26x&list-type=2&max-keys=2&"
                        "prefix=ragkernel%2Ft%201%2F");
    free(q);
    /* sorted by code point (uppercase first), then by value; UTF-8 per byte */
    const sigv4_param mixed[] = {{"b", "2"}, {"a", "\xc3\xa9"}, {"B", ""}, {"b", "1"}};
    q = query_of(mixed, 4);
    ck_assert_str_eq(q, "B=&a=%C3%A9&b=1&b=2");
    free(q);
    q = query_of(NULL, 0);
    ck_assert_str_eq(q, "");
    free(q);
}
END_TEST

START_TEST(path_encoding)
{
    s3_buf b = {0};
    const char *key = "ragkernel/acme/doc-1_A.~";
    sigv4_encode(&b, key, strlen(key), 1);
    ck_assert_str_eq(b.p, key);
    s3_buf_free(&b);
    const char *odd = "a b/c+d%e\xff*";
    sigv4_encode(&b, odd, strlen(odd), 1);
    ck_assert_str_eq(b.p, "a%20b/c%2Bd%25e%FF%2A");
    s3_buf_free(&b);
    sigv4_encode(&b, "x/y", 3, 0);
    ck_assert_str_eq(b.p, "x%2Fy");
    s3_buf_free(&b);
}
END_TEST

/* ---- XML ---------------------------------------------------------------- */

static const char list_xml[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>rk-test</Name><Prefix>ragkernel/</Prefix><KeyCount>2</KeyCount>"
    "<MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>"
    "<Contents><Key>ragkernel/t1/a&amp;b&lt;c&#x41;&#66;&#xE9;</Key><Size>3</Size></Contents>"
    "<Contents>\n  <Key>ragkernel/t1/&quot;q&apos;&unknown;&#0;</Key>\n</Contents>"
    "<NextContinuationToken>1/abc+def==</NextContinuationToken>"
    "</ListBucketResult>";

START_TEST(xml_list_result)
{
    size_t len = strlen(list_xml), pos = 0, s, e;
    char *v = NULL;
    ck_assert_int_eq(s3_xml_text(list_xml, len, "IsTruncated", &pos, &v), 1);
    ck_assert_str_eq(v, "true");
    free(v);
    pos = 0; /* <KeyCount> is not <Key> */
    ck_assert_int_eq(s3_xml_text(list_xml, len, "Key", &pos, &v), 1);
    ck_assert_str_eq(v, "ragkernel/t1/a&b<cAB\xc3\xa9");
    free(v);
    ck_assert_int_eq(s3_xml_text(list_xml, len, "Key", &pos, &v), 1);
    ck_assert_str_eq(v, "ragkernel/t1/\"q'&unknown;&#0;"); /* kept as written */
    free(v);
    ck_assert_int_eq(s3_xml_text(list_xml, len, "Key", &pos, &v), 0);
    ck_assert_ptr_null(v);
    pos = 0;
    ck_assert_int_eq(s3_xml_text(list_xml, len, "NextContinuationToken", &pos, &v), 1);
    ck_assert_str_eq(v, "1/abc+def==");
    free(v);
    /* elements in turn, and lookups bounded to one element */
    pos = 0;
    int n = 0;
    while (s3_xml_element(list_xml, len, "Contents", &pos, &s, &e)) {
        size_t kp = s;
        ck_assert_int_eq(s3_xml_text(list_xml, e, "Key", &kp, &v), 1);
        free(v);
        kp = s;
        ck_assert_int_eq(s3_xml_text(list_xml, e, "Size", &kp, &v), n == 0 ? 1 : 0);
        free(v);
        n++;
    }
    ck_assert_int_eq(n, 2);
}
END_TEST

START_TEST(xml_errors_and_edges)
{
    const char *err = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
                      "<Resource>/b/k</Resource></Error>";
    size_t pos = 0;
    char *v = NULL;
    ck_assert_int_eq(s3_xml_text(err, strlen(err), "Code", &pos, &v), 1);
    ck_assert_str_eq(v, "AccessDenied");
    free(v);
    ck_assert_int_eq(s3_xml_text(err, strlen(err), "Message", &pos, &v), 1);
    ck_assert_str_eq(v, "Access Denied");
    free(v);
    const char *odd = "<A/><B x=\"1\">x<![CDATA[<&>]]>y</B><C>unterminated";
    pos = 0;
    ck_assert_int_eq(s3_xml_text(odd, strlen(odd), "A", &pos, &v), 1);
    ck_assert_str_eq(v, "");
    free(v);
    ck_assert_int_eq(s3_xml_text(odd, strlen(odd), "B", &pos, &v), 1);
    ck_assert_str_eq(v, "x<&>y");
    free(v);
    ck_assert_int_eq(s3_xml_text(odd, strlen(odd), "C", &pos, &v), 0);
    pos = 0;
    ck_assert_int_eq(s3_xml_text(NULL, 0, "C", &pos, &v), 0);
    s3_buf b = {0};
    s3_xml_escape(&b, "\"etag\" <&> 'x'");
    ck_assert_str_eq(b.p, "&quot;etag&quot; &lt;&amp;&gt; &apos;x&apos;");
    char *back = s3_xml_decode(b.p, b.len);
    ck_assert_str_eq(back, "\"etag\" <&> 'x'");
    free(back);
    s3_buf_free(&b);
}
END_TEST

START_TEST(buf_grows)
{
    s3_buf b = {0};
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    s3_buf_printf(&b, "%s|%d", big, 42);
    ck_assert_uint_eq(b.len, 1002);
    ck_assert_str_eq(b.p + 999, "|42");
    char *s = s3_buf_take(&b);
    ck_assert_ptr_null(b.p);
    free(s);
    s = s3_buf_take(&b); /* empty buffer: "" */
    ck_assert_str_eq(s, "");
    free(s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("s3_sigv4");
    TCase *h = tcase_create("hashes");
    tcase_add_test(h, sha256_vectors);
    tcase_add_test(h, hmac_rfc4231);
    suite_add_tcase(s, h);
    TCase *sig = tcase_create("sigv4");
    tcase_add_test(sig, sigv4_get_object_example);
    tcase_add_test(sig, sigv4_canonicalizes_headers);
    tcase_add_test(sig, sigv4_put_object_example);
    tcase_add_test(sig, sigv4_bucket_examples);
    tcase_add_test(sig, sigv4_date);
    tcase_add_test(sig, query_canonical_form);
    tcase_add_test(sig, path_encoding);
    suite_add_tcase(s, sig);
    TCase *x = tcase_create("xml");
    tcase_add_test(x, xml_list_result);
    tcase_add_test(x, xml_errors_and_edges);
    tcase_add_test(x, buf_grows);
    suite_add_tcase(s, x);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
