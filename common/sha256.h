/*
 * sha256 — FIPS 180-4 SHA-256, incremental. The core hashes cache keys and
 * documents with it, storage_s3 its payloads and SigV4 signatures (via
 * s3_hash's HMAC); a local implementation keeps both free of a crypto
 * library. Compiled into the core and into each plugin that names it in its
 * plugin.mk (common/README.md).
 */
#ifndef RK_COMMON_SHA256_H
#define RK_COMMON_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_HEX_LEN 65 /* 64 hex digits + NUL */

typedef struct sha256_ctx {
    uint32_t h[8];
    uint64_t total;      /* bytes hashed so far */
    uint8_t buf[64];
    size_t used;         /* bytes waiting in buf */
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
void sha256_final(sha256_ctx *c, uint8_t out[SHA256_DIGEST_LEN]);
/* Finish and write the lowercase hex digest (NUL-terminated) into hex. */
void sha256_final_hex(sha256_ctx *c, char hex[SHA256_HEX_LEN]);

/* For tests: 1 forces the portable rounds, 0 goes back to the best the CPU
 * has (call it while no other thread hashes). Returns 1 when the CPU's SHA
 * extensions are in use after the call. */
int sha256_use_portable(int on);

#endif
