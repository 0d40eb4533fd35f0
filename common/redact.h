/*
 * redact — mask credentials in text that came from (or was echoed by) an
 * upstream before it is logged: error bodies that repeat the request's
 * headers, S3 errors that show the string that was signed.
 */
#ifndef RK_COMMON_REDACT_H
#define RK_COMMON_REDACT_H

#include <stddef.h>

#define REDACT_MASK "[redacted]"

/* Copy in to out (cap >= 1 bytes, always NUL-terminated, cut at cap),
 * replacing with REDACT_MASK:
 *  - every occurrence of each string in secrets (those shorter than 4
 *    bytes are ignored: they would mask ordinary words);
 *  - the value after a credential header or parameter name followed by
 *    ':' or '=' (Authorization, Proxy-Authorization, Cookie, Set-Cookie,
 *    X-Api-Key, Api-Key, api_key, X-Amz-*, X-Goog-Api-Key, Credential,
 *    Signature, secret, secret_key, access_key, password), in header,
 *    JSON or query form;
 *  - the token after "Bearer ";
 *  - the contents of S3's <StringToSign>, <StringToSignBytes>,
 *    <CanonicalRequest>, <CanonicalRequestBytes>, <SignatureProvided> and
 *    <AWSAccessKeyId> elements.
 * Returns strlen(out). Linear in strlen(in) times the number of secrets. */
size_t redact(const char *in, char *out, size_t cap, const char *const *secrets,
              size_t n_secrets);

#endif
