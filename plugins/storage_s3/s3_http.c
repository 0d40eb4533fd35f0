/*
 * s3_http — owns every byte that goes to S3: URL and path encoding, SigV4
 * headers, the libcurl options of one transfer, retries, the mapping of
 * failures to rk_status, and the request metrics. Requests are re-signed
 * on every attempt since the signature covers the time. A streamed GET is
 * retried only until its first body byte went to the caller, since bytes
 * handed out cannot be taken back.
 */
#define _GNU_SOURCE
#include "s3_http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "s3_hash.h"
#include "s3_xml.h"

#define BODY_MAX (32u * 1024 * 1024) /* largest answer kept in memory */
#define HEADERS_MAX 200

/* ---- responses ---------------------------------------------------------- */

static void headers_clear(s3_response *r)
{
    for (size_t i = 0; i < r->n_headers; i++)
        free(r->headers[i]);
    free(r->headers);
    r->headers = NULL;
    r->n_headers = 0;
}

const char *s3_response_header(const s3_response *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcmp(r->headers[i], name) == 0)
            return r->headers[i] + strlen(r->headers[i]) + 1;
    return NULL;
}

void s3_response_free(s3_response *r)
{
    headers_clear(r);
    s3_buf_free(&r->body);
    r->status = 0;
}

/* ---- one attempt -------------------------------------------------------- */

typedef struct attempt {
    s3_client *c;
    const s3_request *r;
    s3_response *resp;
    size_t sent;        /* upload cursor into r->body */
    uint64_t delivered; /* bytes handed to r->sink */
    int sink_failed, too_big;
    char errbuf[CURL_ERROR_SIZE];
} attempt;

static int add_header(s3_response *r, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    if (!colon || r->n_headers >= HEADERS_MAX)
        return 0;
    size_t nl = (size_t)(colon - line);
    const char *v = colon + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    char **grown = realloc(r->headers, (r->n_headers + 1) * sizeof *grown);
    char *pair = malloc(nl + 1 + (size_t)(end - v) + 1);
    if (grown)
        r->headers = grown;
    if (!grown || !pair) {
        free(pair);
        return -1;
    }
    for (size_t i = 0; i < nl; i++)
        pair[i] = (char)tolower((unsigned char)line[i]);
    pair[nl] = '\0';
    memcpy(pair + nl + 1, v, (size_t)(end - v));
    pair[nl + 1 + (size_t)(end - v)] = '\0';
    r->headers[r->n_headers++] = pair;
    return 0;
}

static size_t on_header(char *line, size_t size, size_t n, void *ud)
{
    attempt *a = ud;
    size_t len = size * n;
    if (len > 5 && memcmp(line, "HTTP/", 5) == 0) {
        /* a new response (after 100 Continue, say): forget the previous */
        headers_clear(a->resp);
        const char *sp = memchr(line, ' ', len), *end = line + len;
        char *after = NULL;
        a->resp->status = sp ? strtol(sp + 1, &after, 10) : 0;
        a->resp->reason[0] = '\0';
        if (after && after < end && *after == ' ') {
            size_t rl = (size_t)(end - after - 1);
            while (rl && (after[rl] == '\r' || after[rl] == '\n'))
                rl--;
            snprintf(a->resp->reason, sizeof a->resp->reason, "%.*s", (int)rl, after + 1);
        }
        return len;
    }
    return add_header(a->resp, line, len) == 0 ? len : 0;
}

static int is_2xx(long st)
{
    return st >= 200 && st < 300;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    attempt *a = ud;
    size_t len = size * n;
    if (a->r->sink && is_2xx(a->resp->status)) {
        if (a->r->sink(a->r->sink_ud, data, len) < 0) {
            a->sink_failed = 1;
            return 0;
        }
        a->delivered += len;
        return len;
    }
    if (a->resp->body.len + len > BODY_MAX) {
        a->too_big = 1;
        return 0;
    }
    s3_buf_add(&a->resp->body, data, len);
    return a->resp->body.failed ? 0 : len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
    attempt *a = ud;
    size_t left = a->r->body_len - a->sent, want = size * n;
    if (want > left)
        want = left;
    memcpy(buf, (const char *)a->r->body + a->sent, want);
    a->sent += want;
    return want;
}

/* curl rewinds the body when it resends on a kept-alive connection that
 * turned out to be closed. */
static int on_seek(void *ud, curl_off_t off, int origin)
{
    attempt *a = ud;
    if (origin != SEEK_SET || off < 0 || (size_t)off > a->r->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    a->sent = (size_t)off;
    return CURL_SEEKFUNC_OK;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    attempt *a = ud;
    return s3_client_aborting(a->c) ? 1 : 0;
}

/* ---- signing ------------------------------------------------------------ */

typedef struct prepared {
    char *path; /* encoded, as sent and signed */
    char *url;
    char hash[SHA256_HEX_LEN];
    const char *payload_hash;
} prepared;

static int prepare(s3_client *c, const s3_request *r, prepared *p)
{
    s3_buf path = {0}, url = {0};
    s3_buf_str(&path, c->path_base);
    if (r->key) {
        s3_buf_add(&path, "/", 1);
        sigv4_encode(&path, r->key, strlen(r->key), 1);
    } else if (!c->path_base[0]) {
        s3_buf_add(&path, "/", 1);
    }
    p->path = s3_buf_take(&path);
    s3_buf_printf(&url, "%s%s%s%s", c->base_url, p->path ? p->path : "",
                  r->query && *r->query ? "?" : "", r->query ? r->query : "");
    p->url = s3_buf_take(&url);
    p->payload_hash = r->payload_hash;
    if (!p->payload_hash) {
        s3_sha256_hex(r->body ? r->body : "", r->body ? r->body_len : 0, p->hash);
        p->payload_hash = p->hash;
    }
    return p->path && p->url ? 0 : -1;
}

static int slist_add(struct curl_slist **l, const char *name, const char *value)
{
    s3_buf b = {0};
    s3_buf_printf(&b, "%s: %s", name, value);
    char *line = s3_buf_take(&b);
    struct curl_slist *n = line ? curl_slist_append(*l, line) : NULL;
    free(line);
    if (!n)
        return -1;
    *l = n;
    return 0;
}

/* The request headers, signed now (the signature covers x-amz-date). */
static struct curl_slist *signed_headers(s3_client *c, const s3_request *r, const prepared *p)
{
    char date[17];
    sigv4_amz_date(time(NULL), date);
    size_t n = 0;
    sigv4_header *h = calloc(r->n_headers + 4, sizeof *h);
    if (!h)
        return NULL;
    h[n++] = (sigv4_header){"host", c->host_hdr};
    h[n++] = (sigv4_header){"x-amz-content-sha256", p->payload_hash};
    h[n++] = (sigv4_header){"x-amz-date", date};
    if (c->session_token)
        h[n++] = (sigv4_header){"x-amz-security-token", c->session_token};
    for (size_t i = 0; i < r->n_headers; i++)
        h[n++] = r->headers[i];
    char *auth = NULL;
    int ok = 1;
    if (c->access_key) {
        sigv4_key k = {c->access_key, c->secret_key, c->region, "s3"};
        sigv4_input in = {r->method, p->path, r->query, h, n, p->payload_hash};
        ok = (auth = sigv4_authorization(&k, date, &in)) != NULL;
    }
    struct curl_slist *l = NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = slist_add(&l, h[i].name, h[i].value) == 0;
    if (ok && auth)
        ok = slist_add(&l, "authorization", auth) == 0;
    /* no "Expect: 100-continue": a server that never sends 100 stalls every
     * upload by curl's one-second wait */
    struct curl_slist *e = ok ? curl_slist_append(l, "Expect:") : NULL;
    if (e)
        l = e;
    else
        curl_slist_free_all(l), l = NULL;
    free(auth);
    free(h);
    return l;
}

/* ---- performing --------------------------------------------------------- */

static void set_method(CURL *h, attempt *a)
{
    const s3_request *r = a->r;
    if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "PUT") == 0 || strcmp(r->method, "POST") == 0) {
        /* upload mode for both: POST via POSTFIELDS would add an unsigned
         * form Content-Type */
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, a);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, a);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)(r->body ? r->body_len : 0));
        if (strcmp(r->method, "POST") == 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "POST");
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    }
}

static CURLcode run_once(s3_client *c, attempt *a, const prepared *p)
{
    struct curl_slist *hl = signed_headers(c, a->r, p);
    CURL *h = hl ? s3_client_take(c) : NULL;
    if (!h) {
        curl_slist_free_all(hl);
        return CURLE_OUT_OF_MEMORY;
    }
    curl_easy_setopt(h, CURLOPT_URL, p->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, a->errbuf);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
    if (a->r->sink) { /* a long download is fine as long as it moves */
        long secs = c->timeout_ms < 1000 ? 1 : (long)(c->timeout_ms / 1000);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, secs);
    } else {
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    }
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, a);
    set_method(h, a);
    CURLcode cc = curl_easy_perform(h);
    /* the pooled handle must not keep pointers into this call's memory */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    s3_client_give(c, h);
    curl_slist_free_all(hl);
    return cc;
}

static int transport_retryable(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT: case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT: case CURLE_SEND_ERROR: case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING: case CURLE_PARTIAL_FILE: case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

static int status_retryable(const s3_response *resp)
{
    long st = resp->status;
    return st >= 500 || st == 429 ||
           (st == 400 && resp->body.p && strstr(resp->body.p, "<Code>RequestTimeout</Code>"));
}

static void count(s3_client *c, const char *op, CURLcode cc, long status, int64_t t0)
{
    char labels[96];
    if (cc == CURLE_OK)
        snprintf(labels, sizeof labels, "op=\"%s\",code=\"%ld\"", op, status);
    else
        snprintf(labels, sizeof labels, "op=\"%s\",code=\"error\"", op);
    const rk_host *h = c->host;
    h->metric_add(h->metric(RK_METRIC_COUNTER, "ragkernel_s3_requests_total",
                            "S3 requests by operation and HTTP status", labels), 1);
    snprintf(labels, sizeof labels, "op=\"%s\"", op);
    h->metric_observe(h->metric(RK_METRIC_HISTOGRAM, "ragkernel_s3_request_seconds",
                                "S3 request latency by operation", labels),
                      (double)(h->now_ms() - t0) / 1000.0);
}

static int http_error(s3_client *c, const s3_request *r, const s3_response *resp, int tries,
                      rk_err *err)
{
    char *code = NULL, *msg = NULL;
    size_t pos = 0;
    if (resp->body.p) {
        s3_xml_text(resp->body.p, resp->body.len, "Code", &pos, &code);
        pos = 0;
        s3_xml_text(resp->body.p, resp->body.len, "Message", &pos, &msg);
    }
    long st = resp->status;
    int status = st == 401 || st == 403 ? RK_ERR_AUTH
                 : st == 404            ? RK_ERR_NOT_FOUND
                 : st == 429            ? RK_ERR_RATE_LIMITED
                 : st >= 400 && st < 500 ? RK_ERR_INVALID
                 : st >= 500            ? RK_ERR_UNAVAILABLE
                                        : RK_ERR_UPSTREAM;
    char after[32] = "";
    if (tries > 1)
        snprintf(after, sizeof after, " (after %d attempts)", tries);
    if (!code && resp->reason[0]) /* HEAD answers have no body */
        code = strdup(resp->reason);
    rk_fail(err, status, "S3 %s %s/%s: HTTP %ld%s%s%s%s%s", r->method, c->bucket,
            r->key ? r->key : "", st, code ? " " : "", code ? code : "", msg ? ": " : "",
            msg ? msg : "", after);
    free(code);
    free(msg);
    return status;
}

static int transport_error(s3_client *c, const attempt *a, CURLcode cc, int tries, rk_err *err)
{
    const char *why = a->errbuf[0] ? a->errbuf : curl_easy_strerror(cc);
    if (cc == CURLE_WRITE_ERROR && a->sink_failed)
        return rk_fail(err, RK_ERR_CANCELLED, "the receiver aborted the transfer");
    if (cc == CURLE_WRITE_ERROR && a->too_big)
        return rk_fail(err, RK_ERR_UPSTREAM, "S3 %s: answer larger than %u bytes",
                       a->r->method, BODY_MAX);
    if (cc == CURLE_OUT_OF_MEMORY)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    if (cc == CURLE_ABORTED_BY_CALLBACK)
        return rk_fail(err, RK_ERR_UNAVAILABLE, "S3 request aborted: storage is stopping");
    return rk_fail(err, RK_ERR_UNAVAILABLE, "S3 endpoint %s unreachable: %s (%d attempt%s)",
                   c->endpoint, why, tries, tries > 1 ? "s" : "");
}

/* One attempt after another until one is final. *tries counts them. */
static CURLcode attempts(s3_client *c, const s3_request *r, const prepared *p,
                         s3_response *resp, attempt *a, int *tries)
{
    unsigned seed = (unsigned)c->host->now_ms() ^ (unsigned)(uintptr_t)a;
    CURLcode cc = CURLE_OK;
    for (int n = 0;; n++) {
        if (n > 0 && s3_client_backoff(c, n, &seed))
            return CURLE_ABORTED_BY_CALLBACK;
        s3_response_free(resp);
        *a = (attempt){.c = c, .r = r, .resp = resp};
        int64_t t0 = c->host->now_ms();
        *tries = n + 1;
        cc = run_once(c, a, p);
        count(c, r->op, cc, resp->status, t0);
        int again = cc == CURLE_OK ? status_retryable(resp) : transport_retryable(cc);
        if (!again || a->delivered || n >= c->max_retries)
            return cc;
        char why[48];
        snprintf(why, sizeof why, "HTTP %ld", resp->status);
        s3_log(c, RK_LOG_WARN, "S3 %s %s: attempt %d of %d failed (%s), retrying", r->method,
               r->key ? r->key : c->bucket, n + 1, c->max_retries + 1,
               cc == CURLE_OK ? why : curl_easy_strerror(cc));
    }
}

int s3_perform(s3_client *c, const s3_request *r, s3_response *resp, rk_err *err)
{
    *resp = (s3_response){0};
    int rc = s3_client_enter(c, r->cleanup, err);
    if (rc != RK_OK)
        return rc;
    prepared p = {0};
    attempt a = {0};
    int tries = 0;
    if (prepare(c, r, &p) != 0) {
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
        goto out;
    }
    CURLcode cc = attempts(c, r, &p, resp, &a, &tries);
    if (cc != CURLE_OK)
        rc = transport_error(c, &a, cc, tries, err);
    else if (!is_2xx(resp->status))
        rc = http_error(c, r, resp, tries, err);
out:
    free(p.path);
    free(p.url);
    s3_client_leave(c);
    return rc;
}
