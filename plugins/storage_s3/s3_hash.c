/*
 * s3_hash — RFC 2104 HMAC over SHA-256, and hex digests. SigV4 needs both
 * (payload hashes, the canonical request hash, the signing-key chain). The
 * SHA-256 is the core's (common/sha256.c, compiled into this plugin):
 * with no libcrypto, the unit test compiles the exact signing code against
 * AWS's published vectors with nothing but the core's link line.
 */
#include "s3_hash.h"

#include <string.h>

void s3_hex(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void s3_sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN])
{
    sha256_ctx c;
    uint8_t d[SHA256_DIGEST_LEN];
    sha256_init(&c);
    sha256_update(&c, data, len);
    sha256_final(&c, d);
    s3_hex(d, sizeof d, hex);
}

void s3_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                    uint8_t out[SHA256_DIGEST_LEN])
{
    uint8_t k[64] = {0}, pad[64], inner[SHA256_DIGEST_LEN];
    sha256_ctx c;
    if (klen > sizeof k) { /* long keys are hashed first (RFC 2104) */
        sha256_init(&c);
        sha256_update(&c, key, klen);
        sha256_final(&c, k);
    } else {
        memcpy(k, key, klen);
    }
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x36;
    sha256_init(&c);
    sha256_update(&c, pad, sizeof pad);
    sha256_update(&c, msg, mlen);
    sha256_final(&c, inner);
    for (int i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x5c;
    sha256_init(&c);
    sha256_update(&c, pad, sizeof pad);
    sha256_update(&c, inner, sizeof inner);
    sha256_final(&c, out);
}
