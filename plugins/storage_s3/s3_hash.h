/*
 * s3_hash — HMAC-SHA256 and hex digests for SigV4 and payload hashes, over
 * the SHA-256 of common/sha256.c (no crypto library: unit tests link only
 * the core's libraries).
 */
#ifndef RK_S3_HASH_H
#define RK_S3_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

/* One-shot digest of data, as lowercase hex (NUL-terminated). */
void s3_sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN]);

void s3_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                    uint8_t out[SHA256_DIGEST_LEN]);

/* n bytes as lowercase hex into out (2n+1 bytes, NUL-terminated). */
void s3_hex(const uint8_t *in, size_t n, char *out);

#endif
