/*
 * s3_http — one S3 request, signed, with retries: the only place that talks
 * to the network. Blocking; safe to call from many threads at once.
 */
#ifndef RK_S3_HTTP_H
#define RK_S3_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <ragkernel/ragkernel.h>

#include "s3_buf.h"
#include "s3_client.h"
#include "sigv4.h"

typedef struct s3_request {
    const char *op;     /* metric label: "put", "get", "head", ... */
    const char *method; /* GET HEAD PUT POST DELETE */
    const char *key;    /* object key as stored (not encoded); NULL = the bucket */
    const char *query;  /* canonical query (sigv4_query) or NULL */
    const sigv4_header *headers; /* sent and signed; names lowercase */
    size_t n_headers;
    const void *body;   /* PUT/POST body, sent with Content-Length */
    size_t body_len;
    const char *payload_hash; /* hex sha256 of body if already known, else NULL */
    rk_write_fn sink;   /* non-NULL: a 2xx body is streamed here, not kept */
    void *sink_ud;
    int cleanup;        /* runs even after stop began (aborting an upload) */
} s3_request;

typedef struct s3_response {
    long status;     /* last HTTP status seen, 0 if none; valid inside sink */
    char reason[64]; /* its reason phrase ("Forbidden"), for bodiless errors */
    s3_buf body;     /* the body unless it went to the sink (bounded) */
    char **headers;  /* "name\0value" pairs, names lowercase */
    size_t n_headers;
} s3_response;

/* The value of a response header (name lowercase), or NULL. */
const char *s3_response_header(const s3_response *r, const char *name);
void s3_response_free(s3_response *r);

/* Sends r, retrying connection failures, timeouts and 5xx with jittered
 * exponential backoff (a streamed GET only until its first body byte).
 * RK_OK for a 2xx answer. Otherwise err names the endpoint or S3's
 * <Code>/<Message> and the status is: RK_ERR_UNAVAILABLE (unreachable,
 * timed out, 5xx, stopping), RK_ERR_AUTH (401/403), RK_ERR_NOT_FOUND
 * (404), RK_ERR_RATE_LIMITED (429), RK_ERR_INVALID (other 4xx),
 * RK_ERR_CANCELLED (the sink returned <0), RK_ERR_UPSTREAM (anything
 * else). resp is filled either way; free it with s3_response_free. */
int s3_perform(s3_client *c, const s3_request *r, s3_response *resp, rk_err *err);

#endif
