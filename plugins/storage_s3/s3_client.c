/*
 * s3_client — the shared state behind an instance's requests. Storage
 * calls block on host worker threads, so each request runs a libcurl easy
 * handle to completion on the calling thread; handles, and with them their
 * kept-alive connections, return to a small mutex-protected pool so
 * concurrent workers each reuse a warm connection instead of paying a TCP
 * (and TLS) handshake per request. Requests are counted in and out so
 * stop() can drain them and, past its deadline, have them aborted; backoff
 * sleeps wait on the same condition variable so an abort wakes them too.
 */
#define _GNU_SOURCE
#include "s3_client.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "s3_buf.h"

#define BACKOFF_BASE_MS 100
#define BACKOFF_CAP_MS 5000
#define ABORT_GRACE_MS 5000 /* after aborting, how long stop waits for stragglers */

/* ---- setup -------------------------------------------------------------- */

static int bucket_ok(const char *b)
{
    size_t n = b ? strlen(b) : 0;
    if (n == 0 || n > 255)
        return 0;
    for (const char *p = b; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-' && *p != '_')
            return 0;
    return 1;
}

/* "scheme://authority[/]" into c->base_url and c->host_hdr. */
static int parse_endpoint(s3_client *c, const s3_settings *s, rk_err *err)
{
    const char *e = s->endpoint, *sep = e ? strstr(e, "://") : NULL;
    if (!sep || !((sep - e == 4 && !strncasecmp(e, "http", 4)) ||
                  (sep - e == 5 && !strncasecmp(e, "https", 5))))
        return rk_fail(err, RK_ERR_CONFIG, "endpoint must start with http:// or https://");
    const char *auth = sep + 3;
    size_t alen = strcspn(auth, "/?#");
    if (alen == 0 || memchr(auth, '@', alen) || (auth[alen] && strcmp(auth + alen, "/")))
        return rk_fail(err, RK_ERR_CONFIG,
                       "endpoint must be scheme://host[:port] without user or path");
    for (size_t i = 0; i < alen; i++)
        if ((unsigned char)auth[i] <= ' ' || (unsigned char)auth[i] >= 0x7f)
            return rk_fail(err, RK_ERR_CONFIG, "endpoint has a space or control character");
    s3_buf h = {0}, u = {0};
    if (!s->path_style)
        s3_buf_printf(&h, "%s.", s->bucket);
    s3_buf_add(&h, auth, alen);
    for (char *p = h.p; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    s3_buf_printf(&u, "%s://%s", sep - e == 4 ? "http" : "https", h.p ? h.p : "");
    c->host_hdr = s3_buf_take(&h);
    c->base_url = s3_buf_take(&u);
    c->endpoint = strndup(e, (size_t)(auth + alen - e));
    if (!c->host_hdr || !c->base_url || !c->endpoint)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    return RK_OK;
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

int s3_client_new(const s3_settings *s, const rk_host *host, rk_instance *self,
                  s3_client **out, rk_err *err)
{
    *out = NULL;
    if (!bucket_ok(s->bucket))
        return rk_fail(err, RK_ERR_CONFIG, "bucket must be 1-255 characters of [A-Za-z0-9._-]");
    s3_client *c = calloc(1, sizeof *c);
    if (!c)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    c->host = host, c->self = self;
    c->timeout_ms = s->timeout_ms, c->connect_timeout_ms = s->connect_timeout_ms;
    c->max_retries = s->max_retries;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    curl_global_init(CURL_GLOBAL_DEFAULT); /* reference-counted; paired in free */
    int rc = parse_endpoint(c, s, err);
    if (rc != RK_OK)
        goto fail;
    s3_buf pb = {0};
    if (s->path_style)
        s3_buf_printf(&pb, "/%s", s->bucket);
    c->path_base = s3_buf_take(&pb);
    c->bucket = strdup(s->bucket);
    c->region = strdup(s->region && *s->region ? s->region : "us-east-1");
    c->access_key = dup_or_null(s->access_key);
    c->secret_key = strdup(s->secret_key ? s->secret_key : "");
    c->session_token = dup_or_null(s->session_token);
    if (!c->path_base || !c->bucket || !c->region || !c->secret_key ||
        (s->access_key && *s->access_key && !c->access_key) ||
        (s->session_token && *s->session_token && !c->session_token)) {
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
        goto fail;
    }
    *out = c;
    return RK_OK;
fail:
    s3_client_free(c);
    return rc;
}

static void wait_ms(s3_client *c, int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000)
        ts.tv_sec++, ts.tv_nsec -= 1000000000;
    pthread_cond_timedwait(&c->cv, &c->mu, &ts);
}

void s3_client_stop(s3_client *c, int64_t deadline_ms)
{
    pthread_mutex_lock(&c->mu);
    c->stopping = 1;
    int64_t left;
    while (c->inflight > 0 && (left = deadline_ms - c->host->now_ms()) > 0)
        wait_ms(c, left);
    if (c->inflight > 0) {
        __atomic_store_n(&c->aborting, 1, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&c->cv); /* wakes backoff sleeps */
        int64_t until = c->host->now_ms() + ABORT_GRACE_MS;
        while (c->inflight > 0 && (left = until - c->host->now_ms()) > 0)
            wait_ms(c, left);
        if (c->inflight > 0)
            c->host->log(c->self, RK_LOG_WARN, "%d S3 requests still running after stop",
                         c->inflight);
    }
    pthread_mutex_unlock(&c->mu);
}

void s3_client_free(s3_client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_pool; i++)
        curl_easy_cleanup(c->pool[i]);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    if (c->secret_key)
        memset(c->secret_key, 0, strlen(c->secret_key));
    free(c->endpoint), free(c->host_hdr), free(c->base_url), free(c->path_base);
    free(c->bucket), free(c->region), free(c->access_key), free(c->secret_key);
    free(c->session_token);
    free(c);
    curl_global_cleanup();
}

const char *s3_client_endpoint(const s3_client *c)
{
    return c->endpoint;
}

void s3_log(const s3_client *c, rk_log_level level, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->host->log(c->self, level, "%s", line);
}

/* ---- requests ------------------------------------------------------------ */

int s3_client_enter(s3_client *c, int cleanup, rk_err *err)
{
    int rc = RK_OK;
    pthread_mutex_lock(&c->mu);
    if ((c->stopping && !cleanup) || __atomic_load_n(&c->aborting, __ATOMIC_ACQUIRE))
        rc = rk_fail(err, RK_ERR_UNAVAILABLE, "S3 storage is stopping");
    else
        c->inflight++;
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void s3_client_leave(s3_client *c)
{
    pthread_mutex_lock(&c->mu);
    c->inflight--;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

CURL *s3_client_take(s3_client *c)
{
    CURL *h = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->n_pool)
        h = c->pool[--c->n_pool];
    pthread_mutex_unlock(&c->mu);
    if (h)
        curl_easy_reset(h); /* keeps its live connection */
    return h ? h : curl_easy_init();
}

void s3_client_give(s3_client *c, CURL *h)
{
    pthread_mutex_lock(&c->mu);
    if (c->n_pool < S3_POOL_MAX && !c->stopping) {
        c->pool[c->n_pool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (h)
        curl_easy_cleanup(h);
}

int s3_client_aborting(s3_client *c)
{
    return __atomic_load_n(&c->aborting, __ATOMIC_ACQUIRE);
}

/* Jitter over [d/2, d] with d doubling from BACKOFF_BASE_MS: retries of
 * many workers hitting the same outage spread out instead of arriving in
 * waves. */
int s3_client_backoff(s3_client *c, int n, unsigned *seed)
{
    int64_t d = BACKOFF_BASE_MS << (n - 1 < 10 ? n - 1 : 10);
    if (d > BACKOFF_CAP_MS)
        d = BACKOFF_CAP_MS;
    int64_t until = c->host->now_ms() + d / 2 + rand_r(seed) % (d / 2 + 1), left;
    pthread_mutex_lock(&c->mu);
    while (!__atomic_load_n(&c->aborting, __ATOMIC_ACQUIRE) &&
           (left = until - c->host->now_ms()) > 0)
        wait_ms(c, left);
    pthread_mutex_unlock(&c->mu);
    return __atomic_load_n(&c->aborting, __ATOMIC_ACQUIRE);
}
