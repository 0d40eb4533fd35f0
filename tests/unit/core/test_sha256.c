/*
 * test_sha256 — the core's SHA-256 against FIPS 180-4 test vectors, and the
 * CPU's SHA extensions (when present) against the portable rounds for every
 * length up to 300 bytes fed in pieces of every size: block boundaries,
 * the partial-block top-up and both padding cases are all crossed.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "testenv.h"

static void hex_of(const void *data, size_t len, size_t piece, char out[SHA256_HEX_LEN])
{
    sha256_ctx c;
    sha256_init(&c);
    const char *p = data;
    for (size_t off = 0; off < len; off += piece)
        sha256_update(&c, p + off, len - off < piece ? len - off : piece);
    sha256_final_hex(&c, out);
}

static void vectors(void)
{
    static const struct { const char *in, *hex; } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
         "klmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    char out[SHA256_HEX_LEN];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        hex_of(v[i].in, strlen(v[i].in), 64, out);
        ck_assert_str_eq(out, v[i].hex);
        hex_of(v[i].in, strlen(v[i].in), 1, out);
        ck_assert_str_eq(out, v[i].hex);
    }
    char *a = malloc(1000000);
    ck_assert_ptr_nonnull(a);
    memset(a, 'a', 1000000);
    hex_of(a, 1000000, 1000000, out);
    ck_assert_str_eq(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    hex_of(a, 1000000, 4093, out);
    ck_assert_str_eq(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    free(a);
}

START_TEST(fips_vectors_fast_and_portable)
{
    vectors();
    sha256_use_portable(1);
    vectors();
    sha256_use_portable(0);
}
END_TEST

START_TEST(extensions_agree_with_portable)
{
    if (!sha256_use_portable(0)) return; /* nothing to compare on this CPU */
    unsigned char buf[300];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)(i * 131 + 7);
    for (size_t len = 0; len <= sizeof buf; len++)
        for (size_t piece = 1; piece <= 130; piece += (piece < 70 ? 1 : 17)) {
            char fast[SHA256_HEX_LEN], slow[SHA256_HEX_LEN];
            sha256_use_portable(0);
            hex_of(buf, len, piece, fast);
            sha256_use_portable(1);
            hex_of(buf, len, piece, slow);
            ck_assert_msg(strcmp(fast, slow) == 0, "len %zu piece %zu", len, piece);
        }
    sha256_use_portable(0);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("sha256");
    ph_add_tcase(s, "sha256", 60, NULL, NULL,
                 PH_TESTS(fips_vectors_fast_and_portable, extensions_agree_with_portable));
    return s;
}

int main(void) { return ph_run_suite(suite()); }
