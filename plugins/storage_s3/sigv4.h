/*
 * sigv4 — AWS Signature Version 4 for S3 requests, and the encodings it
 * depends on. Pure functions, no I/O: the unit test pins them against
 * AWS's published examples.
 *
 * Every string returned is malloc'd and owned by the caller (free());
 * NULL means out of memory.
 */
#ifndef RK_S3_SIGV4_H
#define RK_S3_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "s3_buf.h"

/* Append s[0..n) percent-encoded: every byte except A-Za-z0-9-_.~ becomes
 * %XX (uppercase hex); '/' is kept as is when keep_slash (object keys in a
 * path) and encoded otherwise (query names and values). */
void sigv4_encode(s3_buf *out, const char *s, size_t n, int keep_slash);

typedef struct sigv4_param {
    const char *name;
    const char *value; /* NULL: a parameter without value ("uploads") */
} sigv4_param;

/* The canonical query string, which is also what goes into the URL:
 * names and values encoded, sorted by encoded name (then value), "name="
 * for a parameter without value, joined by '&'. "" for n == 0. */
char *sigv4_query(const sigv4_param *params, size_t n);

typedef struct sigv4_header {
    const char *name; /* any case; signed in lowercase; unique */
    const char *value;
} sigv4_header;

typedef struct sigv4_input {
    const char *method;
    const char *path;  /* as sent, already encoded: "/bucket/key" */
    const char *query; /* canonical (sigv4_query); NULL or "" for none */
    const sigv4_header *headers; /* every header to sign, host and x-amz-* included */
    size_t n_headers;
    const char *payload_hash; /* hex sha256 of the body, or "UNSIGNED-PAYLOAD" */
} sigv4_input;

typedef struct sigv4_key {
    const char *access_key;
    const char *secret_key;
    const char *region;  /* "us-east-1" */
    const char *service; /* "s3" */
} sigv4_key;

/* The canonical request text; *signed_headers (if not NULL) receives the
 * "host;range;..." list. */
char *sigv4_canonical_request(const sigv4_input *in, char **signed_headers);

/* The Authorization header value for a request made at amz_date
 * ("YYYYMMDDTHHMMSSZ", the same text as the signed x-amz-date header). */
char *sigv4_authorization(const sigv4_key *k, const char *amz_date, const sigv4_input *in);

/* kSigning = HMAC chain over "AWS4"+secret, date (8 digits), region,
 * service, "aws4_request". */
void sigv4_signing_key(const sigv4_key *k, const char *date8, uint8_t out[32]);

/* t as "YYYYMMDDTHHMMSSZ" (UTC). */
void sigv4_amz_date(time_t t, char out[17]);

#endif
