/*
 * llm_call — the life of one upstream LLM request, shared by the provider
 * plugins so they all fail the same way. It owns the request's copies (URL,
 * headers, body), the host HTTP call and retry timer in flight, the error
 * body of a failed attempt and the result being assembled. Retries happen
 * only while nothing was delivered: once a delta reached the caller, a
 * retry would repeat text, so the failure is reported and the core's
 * fallback chain decides. Callbacks can re-enter (a sink may cancel from
 * inside on_delta), so the struct is freed only when no callback of ours is
 * on the stack: `depth` counts them and the outermost one frees.
 */
#include "llm_call.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "llm_common.h"

#define ERR_BODY_MAX (64u * 1024)      /* enough for any error message */
#define OK_BODY_MAX (64u * 1024 * 1024) /* a large embeddings batch */
#define RETRY_AFTER_MAX_MS 60000        /* longer waits: report, don't sleep */

struct rk_llm_call {
    const llm_client *cl;
    const llm_proto *proto;
    void *state;
    char *url;
    const rk_http_header *hdrs; /* borrowed: the instance's */
    size_t n_hdrs;
    char *body;
    size_t body_len;
    int64_t deadline_ms, first_byte_ms, idle_ms;
    void (*on_delta)(void *ud, const char *text, size_t len);
    llm_done_fn on_done;
    void *ud;
    rk_http_call *http;
    rk_timer *timer;
    int attempt;     /* 0 = first try */
    int delivered;   /* a delta reached the caller: no more retries */
    int cancelled, finished;
    int paused;      /* the client is full: keep the upstream unread */
    int depth;       /* our callbacks on the stack */
    int in_transfer; /* inside on_response/on_body: abort by returning 1 */
    int fail_status; /* failure recorded by the provider in this attempt */
    char fail_msg[RK_ERR_MSG_MAX];
    int http_status;
    int64_t retry_after_ms; /* -1 = none */
    int64_t t_attempt;
    llm_buf resp;    /* error body, or the whole 2xx body when collected */
    char finish[32];
    char model[128];
    rk_usage usage;
    uint64_t rng;
};

static int is_2xx(int s) { return s >= 200 && s < 300; }

/* ---------------------------------------------------------------- helpers */

static void call_free(rk_llm_call *c)
{
    free(c->url);
    free(c->body);
    llm_buf_free(&c->resp);
    if (c->proto && c->proto->free_state)
        c->proto->free_state(c->state);
    free(c);
}

/* Per attempt: the status the upstream answered with, if it did (an HTTP
 * status stands even when the provider then rejected the body), else the
 * transport's failure. */
static void record_attempt(rk_llm_call *c, int transport_status)
{
    int http = c->http_status >= 100 && c->http_status <= 599 &&
               (transport_status == RK_OK || c->fail_status);
    llm_client_count(c->cl, http ? c->http_status : 0, transport_status, c->t_attempt);
}

static void finish(rk_llm_call *c, int st, char *msg)
{
    c->finished = 1;
    rk_llm_result res;
    memset(&res, 0, sizeof res);
    res.struct_size = sizeof res;
    res.finish_reason = st == RK_OK ? (c->finish[0] ? c->finish : "stop") : NULL;
    res.model = c->model[0] ? c->model : NULL;
    res.usage = c->usage;
    res.http_status = c->http_status;
    res.retry_after_ms = c->retry_after_ms > 0 ? c->retry_after_ms : 0;
    if (st != RK_OK) {
        if (!msg[0])
            snprintf(msg, RK_ERR_MSG_MAX, "%s", rk_strerror(st));
        llm_utf8_trim(msg);
        c->cl->host->log(c->cl->self, RK_LOG_WARN, "upstream failed after %d attempt(s): %s",
                         c->attempt + 1, msg);
    }
    c->on_done(c->ud, st, &res, st == RK_OK ? NULL : msg);
}

/* ---------------------------------------------------------------- attempts */

static int h_response(void *ud, int status, const rk_http_header *h, size_t n);
static int h_body(void *ud, const char *data, size_t len);
static void h_done(void *ud, int status, const char *message);

static const rk_http_handler handler = {
    sizeof(rk_http_handler), h_response, h_body, h_done};

/* host->http_pause where the host has it (1.1); an older host keeps
 * reading and its own answer cap bounds the buffers. */
static void http_pause(rk_llm_call *c, int pause)
{
    const rk_host *h = c->cl->host;
    if (c->http && RK_HAS_FIELD(h, rk_host, http_pause) && h->http_pause)
        h->http_pause(c->http, pause);
}

static int attempt_start(rk_llm_call *c, rk_err *err)
{
    const rk_host *h = c->cl->host;
    int64_t now = h->now_ms();
    if (c->deadline_ms > 0 && now >= c->deadline_ms)
        return rk_fail(err, RK_ERR_TIMEOUT, "deadline passed before the upstream request");
    int64_t dl = c->cl->timeout_ms > 0 ? now + c->cl->timeout_ms : 0;
    if (c->deadline_ms > 0 && (dl == 0 || c->deadline_ms < dl))
        dl = c->deadline_ms;
    rk_http_request r;
    memset(&r, 0, sizeof r);
    r.struct_size = sizeof r;
    r.method = "POST";
    r.url = c->url;
    r.headers = c->hdrs;
    r.n_headers = c->n_hdrs;
    r.body = c->body;
    r.body_len = c->body_len;
    r.connect_timeout_ms = c->cl->connect_timeout_ms;
    r.deadline_ms = dl;
    r.first_byte_ms = c->first_byte_ms;
    r.idle_ms = c->idle_ms;

    c->http_status = 0;
    c->retry_after_ms = -1;
    c->fail_status = 0;
    c->fail_msg[0] = '\0';
    c->finish[0] = '\0';
    memset(&c->usage, 0, sizeof c->usage);
    llm_buf_reset(&c->resp);
    if (c->proto->reset)
        c->proto->reset(c);
    c->t_attempt = now;
    rk_fail(err, RK_ERR_UNAVAILABLE, "could not start the upstream request");
    c->http = h->http_start(&r, &handler, c, err);
    if (c->http && c->paused) /* a retry while the client is still full */
        http_pause(c, 1);
    return c->http ? RK_OK : RK_ERR_UNAVAILABLE;
}

static void retry_fire(void *ud)
{
    rk_llm_call *c = ud;
    c->timer = NULL;
    c->depth++;
    rk_err err;
    int st = attempt_start(c, &err);
    if (st != RK_OK)
        finish(c, st, err.msg);
    c->depth--;
    if (c->finished || c->cancelled)
        call_free(c);
}

/* 1 if another attempt was scheduled. */
static int schedule_retry(rk_llm_call *c, int st, const char *why)
{
    const llm_client *cl = c->cl;
    if (!rk_status_retryable(st) || c->delivered || c->attempt >= cl->max_retries)
        return 0;
    int64_t delay = c->retry_after_ms;
    if (delay < 0)
        delay = llm_backoff_ms(c->attempt, cl->backoff_base_ms, cl->backoff_max_ms, &c->rng);
    else if (delay > RETRY_AFTER_MAX_MS && delay > cl->backoff_max_ms)
        return 0; /* the upstream asks for minutes: let the fallback answer */
    int64_t now = cl->host->now_ms();
    if (c->deadline_ms > 0 && now + delay >= c->deadline_ms)
        return 0; /* the retry could not start before the deadline */
    c->timer = cl->host->timer_start(delay, retry_fire, c);
    if (!c->timer)
        return 0;
    c->attempt++;
    if (cl->m_retries)
        cl->host->metric_add(cl->m_retries, 1);
    cl->host->log(cl->self, RK_LOG_INFO, "retry %d/%d in %lld ms: %s", c->attempt,
                  cl->max_retries, (long long)delay, why);
    return 1;
}

static int h_response(void *ud, int status, const rk_http_header *h, size_t n)
{
    rk_llm_call *c = ud;
    if (c->cancelled)
        return 1;
    c->http_status = status;
    const char *ra = NULL, *ra_ms = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!h[i].name || !h[i].value)
            continue;
        if (strcasecmp(h[i].name, "retry-after") == 0)
            ra = h[i].value;
        else if (strcasecmp(h[i].name, "retry-after-ms") == 0)
            ra_ms = h[i].value;
    }
    c->retry_after_ms = llm_retry_after_ms(ra, ra_ms, c->cl->host->wall_ms());
    return 0;
}

static int collect(rk_llm_call *c, const char *data, size_t len, size_t cap)
{
    if (c->resp.len + len > cap) {
        if (!is_2xx(c->http_status))
            return 0; /* the start of an error body is all we need */
        llm_call_fail(c, RK_ERR_UPSTREAM, "upstream response over %zu bytes", cap);
        return 1;
    }
    if (llm_buf_add(&c->resp, data, len) != RK_OK) {
        llm_call_fail(c, RK_ERR_NOMEM, "out of memory reading the upstream response");
        return 1;
    }
    return 0;
}

static int h_body(void *ud, const char *data, size_t len)
{
    rk_llm_call *c = ud;
    if (c->cancelled || c->fail_status)
        return 1;
    if (!is_2xx(c->http_status))
        return collect(c, data, len, ERR_BODY_MAX);
    if (!c->proto->body)
        return collect(c, data, len, OK_BODY_MAX);
    c->in_transfer = 1;
    c->depth++;
    int rc = c->proto->body(c, data, len);
    c->depth--;
    c->in_transfer = 0;
    if (c->cancelled)
        return 1;
    if (rc != RK_OK) {
        llm_call_fail(c, rc, "upstream response rejected");
        return 1;
    }
    return 0;
}

/* The outcome of one finished attempt, as an rk_status and a message. */
static int classify(rk_llm_call *c, int status, const char *message, char *msg)
{
    msg[0] = '\0';
    if (c->fail_status) {
        snprintf(msg, RK_ERR_MSG_MAX, "%s", c->fail_msg);
        return c->fail_status;
    }
    if (status != RK_OK && status != RK_ERR_CANCELLED && is_2xx(c->http_status) &&
        c->proto->body) {
        /* a stream whose end marker arrived is complete even if the
         * connection then broke; otherwise the transport's reason is the
         * more useful one */
        if (c->proto->end(c, NULL, 0) == RK_OK)
            return RK_OK;
        c->fail_status = 0;
        c->fail_msg[0] = '\0';
    }
    if (status != RK_OK) {
        int st = status == RK_ERR_TIMEOUT ? RK_ERR_TIMEOUT : RK_ERR_UNAVAILABLE;
        snprintf(msg, RK_ERR_MSG_MAX, "%s: %s",
                 st == RK_ERR_TIMEOUT ? "upstream timed out" : "upstream unreachable",
                 message && message[0] ? message : rk_strerror(status));
        return st;
    }
    if (is_2xx(c->http_status)) {
        int collected = c->proto->body == NULL;
        int st = c->proto->end(c, collected ? c->resp.p : NULL, collected ? c->resp.len : 0);
        if (st != RK_OK)
            snprintf(msg, RK_ERR_MSG_MAX, "%s",
                     c->fail_msg[0] ? c->fail_msg : "upstream response rejected");
        return st;
    }
    char up[200];
    llm_error_message(c->resp.p, c->resp.len, up, sizeof up);
    snprintf(msg, RK_ERR_MSG_MAX, "upstream HTTP %d%s%s", c->http_status,
             up[0] ? ": " : "", up);
    return llm_status_from_http(c->http_status);
}

static void h_done(void *ud, int status, const char *message)
{
    rk_llm_call *c = ud;
    c->http = NULL;
    if (c->cancelled) {
        call_free(c);
        return;
    }
    c->depth++;
    char msg[RK_ERR_MSG_MAX];
    int st = classify(c, status, message, msg);
    record_attempt(c, status);
    if (!c->cancelled) {
        if (st == RK_OK || !schedule_retry(c, st, msg))
            finish(c, st, msg);
    }
    c->depth--;
    if (c->finished || c->cancelled)
        call_free(c);
}

/* ---------------------------------------------------------------- API */

int llm_call_start(const llm_client *cl, const llm_call_spec *sp,
                   rk_llm_call **out, rk_err *err)
{
    /* malloc, not calloc: glibc's calloc skips its per-thread cache */
    rk_llm_call *c = malloc(sizeof *c);
    if (c)
        *c = (rk_llm_call){0};
    if (!c) {
        free(sp->body);
        if (sp->proto->free_state)
            sp->proto->free_state(sp->state);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    c->cl = cl;
    c->proto = sp->proto;
    c->state = sp->state;
    c->body = sp->body;
    c->body_len = sp->body_len;
    c->deadline_ms = sp->deadline_ms;
    c->first_byte_ms = sp->first_byte_ms;
    c->idle_ms = sp->idle_ms;
    c->on_delta = sp->on_delta;
    c->on_done = sp->on_done;
    c->ud = sp->ud;
    c->hdrs = sp->headers;
    c->n_hdrs = sp->n_headers;
    c->url = llm_strdup(sp->url);
    if (!c->url) {
        call_free(c);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    llm_call_set_model(c, sp->model);
    c->rng = (uint64_t)cl->host->wall_ms() ^ ((uint64_t)(uintptr_t)c << 16);
    int st = attempt_start(c, err);
    if (st != RK_OK) {
        call_free(c);
        return st;
    }
    *out = c;
    return RK_OK;
}

void llm_call_cancel(rk_llm_call *c)
{
    if (!c || c->cancelled || c->finished)
        return; /* finished: the callback that finished it frees it */
    c->cancelled = 1;
    if (c->timer) {
        c->cl->host->timer_cancel(c->timer);
        c->timer = NULL;
    }
    if (c->http && !c->in_transfer) {
        c->cl->host->http_cancel(c->http);
        c->http = NULL;
    }
    /* inside a transfer callback the host still owes us on_done: free there */
    if (c->depth == 0 && !c->http)
        call_free(c);
}

void llm_call_pause(rk_llm_call *c, int pause)
{
    if (!c || c->cancelled || c->finished || !pause == !c->paused)
        return;
    c->paused = pause != 0;
    http_pause(c, c->paused);
}

void *llm_call_state(rk_llm_call *c) { return c->state; }

int llm_call_cancelled(const rk_llm_call *c) { return c->cancelled; }

int llm_call_delta(rk_llm_call *c, const char *text, size_t len)
{
    if (c->cancelled)
        return 1;
    if (len == 0)
        return 0;
    c->delivered = 1;
    if (c->on_delta) {
        c->depth++;
        c->on_delta(c->ud, text, len);
        c->depth--;
    }
    return c->cancelled;
}

void llm_call_set_finish(rk_llm_call *c, const char *reason)
{
    if (reason)
        llm_strlcpy(c->finish, sizeof c->finish, reason);
}

int llm_call_has_finish(const rk_llm_call *c) { return c->finish[0] != '\0'; }

void llm_call_set_model(rk_llm_call *c, const char *model)
{
    if (model && model[0]) {
        llm_strlcpy(c->model, sizeof c->model, model);
        llm_utf8_trim(c->model);
    }
}

void llm_call_set_usage(rk_llm_call *c, int64_t prompt, int64_t completion)
{
    if (prompt >= 0)
        c->usage.prompt_tokens = prompt;
    if (completion >= 0)
        c->usage.completion_tokens = completion;
}

int llm_call_fail(rk_llm_call *c, int status, const char *fmt, ...)
{
    if (c->fail_status)
        return c->fail_status;
    c->fail_status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->fail_msg, sizeof c->fail_msg, fmt, ap);
    va_end(ap);
    llm_utf8_trim(c->fail_msg);
    return status;
}
