/*
 * s3_hash — SHA-256 and HMAC-SHA256 for SigV4 and payload hashes.
 * Self-contained so the signer and its test build without a crypto
 * library (unit tests link only the core's libraries).
 */
#ifndef RK_S3_HASH_H
#define RK_S3_HASH_H

#include <stddef.h>
#include <stdint.h>

#define S3_SHA256_LEN 32
#define S3_SHA256_HEX 65 /* 64 hex digits + NUL */

typedef struct s3_sha256 {
    uint32_t h[8];
    uint64_t total; /* bytes hashed so far */
    uint8_t buf[64];
    size_t used; /* bytes waiting in buf */
} s3_sha256;

void s3_sha256_init(s3_sha256 *c);
void s3_sha256_update(s3_sha256 *c, const void *data, size_t len);
void s3_sha256_final(s3_sha256 *c, uint8_t out[S3_SHA256_LEN]);

/* One-shot digest of data, as lowercase hex (NUL-terminated). */
void s3_sha256_hex(const void *data, size_t len, char hex[S3_SHA256_HEX]);

void s3_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                    uint8_t out[S3_SHA256_LEN]);

/* n bytes as lowercase hex into out (2n+1 bytes, NUL-terminated). */
void s3_hex(const uint8_t *in, size_t n, char *out);

#endif
