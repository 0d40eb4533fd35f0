/*
 * s3_client — one configured S3 endpoint and bucket, shared by every call
 * of an instance: settings, a pool of reusable libcurl easy handles, and
 * the count of requests in flight that stop() drains. s3_http sends
 * requests through it and reads its fields; everything else only creates,
 * stops and frees it.
 */
#ifndef RK_S3_CLIENT_H
#define RK_S3_CLIENT_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>

#include <ragkernel/ragkernel.h>

#define S3_POOL_MAX 16 /* idle handles kept for reuse */

typedef struct s3_settings {
    const char *endpoint;      /* "scheme://host[:port]", no path */
    const char *region;
    const char *bucket;
    int path_style;            /* /bucket/key instead of bucket.host/key */
    const char *access_key;    /* NULL: anonymous (unsigned) requests */
    const char *secret_key;
    const char *session_token; /* NULL: none */
    int64_t timeout_ms;        /* whole request; for streamed GET bodies: longest stall */
    int64_t connect_timeout_ms;
    int max_retries;           /* extra attempts after a retryable failure */
} s3_settings;

typedef struct s3_client {
    const rk_host *host;
    rk_instance *self;
    char *endpoint;  /* as configured, for messages */
    char *host_hdr;  /* Host: authority, or bucket.authority (virtual-hosted) */
    char *base_url;  /* scheme://host_hdr */
    char *path_base; /* "/bucket" (path style) or "" */
    char *bucket, *region, *access_key, *secret_key, *session_token;
    int64_t timeout_ms, connect_timeout_ms;
    int max_retries;
    /* private to s3_client.c */
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled when inflight drops and when aborting */
    CURL *pool[S3_POOL_MAX];
    size_t n_pool;
    int inflight, stopping;
    int aborting; /* atomic: running transfers end at their next progress call */
} s3_client;

/* Copies what it keeps from s into a new *out. Main thread. RK_ERR_CONFIG
 * for a bad endpoint or bucket (the message starts with the key's name),
 * RK_ERR_NOMEM. */
int s3_client_new(const s3_settings *s, const rk_host *host, rk_instance *self,
                  s3_client **out, rk_err *err);
/* Refuse new requests, let running ones finish until deadline_ms (host
 * clock), then abort them; returns when none is left. Main thread. */
void s3_client_stop(s3_client *c, int64_t deadline_ms);
void s3_client_free(s3_client *c);
/* "http://127.0.0.1:9000", for messages. */
const char *s3_client_endpoint(const s3_client *c);
/* host->log on behalf of the instance that owns c. */
void s3_log(const s3_client *c, rk_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- for s3_http ---------------------------------------------------------- */

/* Count a request in; RK_ERR_UNAVAILABLE once stop began (unless cleanup:
 * aborting an upload still runs until the deadline). Pair with leave. */
int s3_client_enter(s3_client *c, int cleanup, rk_err *err);
void s3_client_leave(s3_client *c);
/* A reset easy handle (its kept-alive connection intact), or NULL. */
CURL *s3_client_take(s3_client *c);
void s3_client_give(s3_client *c, CURL *h);
/* Nonzero once stop() passed its deadline: transfers should end. */
int s3_client_aborting(s3_client *c);
/* Sleeps before retry n (1-based); returns nonzero if stop() cut it short. */
int s3_client_backoff(s3_client *c, int n, unsigned *seed);

#endif
