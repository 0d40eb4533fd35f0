/*
 * upstream — the loop's HTTP client, so that thousands of slow upstream
 * streams wait with no thread each. It owns the rk_http_call objects behind
 * rk_host.http_start/http_cancel/http_pause (the loop_http_* calls of
 * loop.h), their per-call deadline timers (which wait while a call is
 * paused) and a cache of idle easy handles. Plain-http calls to a numeric
 * address go to the loop's own client (httpc.c), unless libcurl is asked
 * for everything: the same call object, deadlines and callback rules,
 * about a third of the work. The rest goes through libcurl's multi
 * interface, whose side is upstream_curl.c.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "upstream_impl.h"

/* ---- http calls: bookkeeping --------------------------------------------- */

static CURL *easy_get(upstream *u)
{
    return u->n_easy > 0 ? u->easy_cache[--u->n_easy] : curl_easy_init();
}

static void easy_put(upstream *u, CURL *e)
{
    if (!e) return;
    if (u->n_easy < EASY_CACHE_MAX) {
        curl_easy_reset(e);
        u->easy_cache[u->n_easy++] = e;
    } else {
        curl_easy_cleanup(e);
    }
}

static void call_unlink(upstream *u, rk_http_call *c)
{
    if (c->prev) c->prev->next = c->next;
    else u->calls = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    atomic_fetch_sub(&u->inflight, 1);
    loop_timer_cancel(u->l, c->timer);
    c->timer = NULL;
    if (c->pqueued) {
        for (rk_http_call **pp = &u->pchanges; *pp; pp = &(*pp)->pnext)
            if (*pp == c) {
                *pp = c->pnext;
                break;
            }
        c->pqueued = 0;
    }
}

void up_call_free(upstream *u, rk_http_call *c)
{
    httpc_cancel(c->lean);
    if (c->added) curl_multi_remove_handle(u->multi, c->easy);
    easy_put(u, c->easy);
    curl_slist_free_all(c->hdrs);
    free(c->body);
    free(c->hbuf);
    free(c);
}

void up_call_finish(upstream *u, rk_http_call *c, int status, const char *msg)
{
    c->done = 1;
    call_unlink(u, c);
    if (c->added) curl_multi_remove_handle(u->multi, c->easy);
    c->added = 0;
    if (c->h.on_done) c->h.on_done(c->ud, status, msg);
    up_call_free(u, c);
}

/* The call's own loop decides, whatever loop the caller names: a call
 * cancelled from another loop's thread is refused, never unlinked from the
 * wrong list. */
void loop_http_cancel(loop *l, rk_http_call *c)
{
    (void)l;
    if (!c || c->done || c->zombie || !loop_on_thread(c->u->l, "http_cancel")) return;
    upstream *u = c->u;
    c->zombie = 1;
    call_unlink(u, c);
    if (u->in_curl || u->defer) {
        c->dnext = u->zombies;
        u->zombies = c;
        return;
    }
    up_call_free(u, c);
}

static void call_rearm(rk_http_call *c);

void loop_http_pause(loop *l, rk_http_call *c, int pause)
{
    (void)l;
    if (!c || c->done || c->zombie || !pause == !c->paused ||
        !loop_on_thread(c->u->l, "http_pause"))
        return;
    upstream *u = c->u;
    c->paused = pause != 0;
    if (!pause) { /* the idle and first-byte clocks restart now */
        c->last_us = loop_clock_us();
        if (!c->got_body) c->start_us = c->last_us;
        call_rearm(c);
    }
    if (c->lean) {
        httpc_pause(c->lean, pause);
        return;
    }
    if (!c->pqueued) {
        c->pqueued = 1;
        c->pnext = u->pchanges;
        u->pchanges = c;
    }
    if (!u->defer) upcurl_pause_apply(u);
}

int loop_http_inflight(loop *l)
{
    upstream *u = l ? loop_upstream(l) : NULL;
    return u ? atomic_load(&u->inflight) : 0;
}

/* ---- http calls: start --------------------------------------------------- */

/* Next instant the call's deadlines must be looked at (0: none), or -1
 * with msg filled when one of them has passed. */
static int64_t call_check(const rk_http_call *c, int64_t now, char *msg,
                          size_t cap)
{
    if (c->deadline_us && now >= c->deadline_us) {
        snprintf(msg, cap, "deadline passed");
        return -1;
    }
    int64_t next = c->deadline_us, lim = c->idle_us, from = c->last_us;
    if (c->paused) return next; /* a full reader is not a silent upstream */
    int first = !c->got_body && c->first_byte_us;
    if (!c->got_body) from = c->start_us;
    if (first) lim = c->first_byte_us;
    if (lim && now - from >= lim) {
        if (first) snprintf(msg, cap, "no response within %lld ms", (long long)(lim / 1000));
        else snprintf(msg, cap, "no data for %lld ms", (long long)(lim / 1000));
        return -1;
    }
    if (lim && (!next || from + lim < next)) next = from + lim;
    return next;
}

/* One timer per call, re-armed lazily: body bytes only record a time, and
 * the timer, when it fires early, moves itself to the new expiry. */
static void call_timer_fire(void *ud)
{
    rk_http_call *c = ud;
    char msg[96];
    c->timer = NULL;
    int64_t next = call_check(c, loop_clock_us(), msg, sizeof msg);
    if (next < 0) up_call_finish(c->u, c, RK_ERR_TIMEOUT, msg);
    else if (next > 0) c->timer = loop_timer_at(c->u->l, next, call_timer_fire, c);
}

/* The deadlines changed (a resume): arm the timer for the new expiry. */
static void call_rearm(rk_http_call *c)
{
    char msg[96];
    loop_timer_cancel(c->u->l, c->timer);
    c->timer = NULL;
    int64_t next = call_check(c, loop_clock_us(), msg, sizeof msg);
    if (next < 0) next = loop_clock_us(); /* report from the timer */
    if (next > 0) c->timer = loop_timer_at(c->u->l, next, call_timer_fire, c);
}

/* Copy headers (plus an empty Expect: so bodies go without a round trip)
 * and the body into c. */
static int call_copy(rk_http_call *c, const rk_http_request *req, rk_err *err)
{
    char line[8192];
    for (size_t i = 0; i < req->n_headers; i++) {
        const rk_http_header *h = &req->headers[i];
        const char *v = h->value ? h->value : "";
        /* a CR or LF would let a value smuggle in headers of its own */
        if (!h->name || !*h->name || strpbrk(h->name, "\r\n:") || strpbrk(v, "\r\n"))
            return rk_fail(err, RK_ERR_INVALID, "bad header name or value");
        int n = snprintf(line, sizeof line, "%s: %s", h->name, v);
        if (n < 0 || (size_t)n >= sizeof line)
            return rk_fail(err, RK_ERR_TOO_LARGE, "header %s too long", h->name);
        struct curl_slist *s = curl_slist_append(c->hdrs, line);
        if (!s) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
        c->hdrs = s;
    }
    struct curl_slist *s = curl_slist_append(c->hdrs, "Expect:");
    if (!s) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    c->hdrs = s;
    if (req->body) {
        c->body = malloc(req->body_len ? req->body_len : 1);
        if (!c->body) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
        memcpy(c->body, req->body, req->body_len);
    }
    return RK_OK;
}

/* ms -> us; 0 when unset, and values too large to be meant stay unset */
static int64_t ms_us(int64_t ms) { return ms > 0 && ms < INT64_MAX / 4000 ? ms * 1000 : 0; }

static int call_arm(upstream *u, rk_http_call *c, const rk_http_request *req)
{
    char msg[96];
    c->start_us = loop_clock_us();
    c->deadline_us = ms_us(req->deadline_ms);
    c->first_byte_us = ms_us(req->first_byte_ms);
    c->idle_us = ms_us(req->idle_ms);
    int64_t next = call_check(c, c->start_us, msg, sizeof msg);
    /* already late: report on the next turn, never from inside start */
    if (next < 0) next = c->start_us;
    if (next > 0 && !(c->timer = loop_timer_at(u->l, next, call_timer_fire, c))) return -1;
    return 0;
}

/* ---- http calls: the loop's own client ----------------------------------- */

/* Cancellations made inside a callback wait on the zombie list; free them
 * once no callback of this upstream is running. */
static void lean_flush(upstream *u)
{
    if (!u->in_curl && !u->defer) upcurl_flush(u);
}

static int lean_response(void *ud, int status, const rk_http_header *h, size_t n)
{
    rk_http_call *c = ud;
    upstream *u = c->u;
    c->responded = 1;
    if (!c->h.on_response) return 0;
    u->defer++;
    int rc = c->h.on_response(c->ud, status, h, n);
    u->defer--;
    lean_flush(u); /* may free c: its request is then cancelled too */
    return rc;
}

static int lean_body(void *ud, const char *data, size_t len)
{
    rk_http_call *c = ud;
    upstream *u = c->u;
    c->got_body = 1;
    c->last_us = loop_clock_us();
    if (!c->h.on_body) return 0;
    u->defer++;
    int rc = c->h.on_body(c->ud, data, len);
    u->defer--;
    lean_flush(u);
    return rc;
}

static void lean_done(void *ud, int status, const char *msg)
{
    rk_http_call *c = ud;
    upstream *u = c->u;
    c->lean = NULL; /* httpc frees its request after this */
    u->defer++;
    up_call_finish(u, c, status, msg);
    u->defer--;
    lean_flush(u);
}

static const rk_http_handler lean_handler = {sizeof(rk_http_handler), lean_response,
                                             lean_body, lean_done};

/* ---- http calls: entry --------------------------------------------------- */

rk_http_call *loop_http_start(loop *l, const rk_http_request *req,
                              const rk_http_handler *h, void *ud, rk_err *err)
{
    if (!l || !req || !req->url || !h) {
        rk_fail(err, RK_ERR_INVALID, "http_start: missing request or handler");
        return NULL;
    }
    if (!loop_on_thread(l, "http_start")) {
        rk_fail(err, RK_ERR_INVALID, "http_start outside the loop thread");
        return NULL;
    }
    upstream *u = loop_upstream(l);
    if (u->closing) {
        rk_fail(err, RK_ERR_UNAVAILABLE, "loop is stopping");
        return NULL;
    }
    rk_http_call *c = malloc(sizeof *c); /* not calloc: see chat_new */
    if (!c) {
        rk_fail(err, RK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    *c = (rk_http_call){0};
    c->u = u;
    c->h = *h;
    c->ud = ud;
    httpmsg_target t;
    if (atomic_load_explicit(&u->builtin, memory_order_relaxed) && !upcurl_env_proxy() &&
        httpmsg_target_parse(req->url, &t)) {
        if (call_arm(u, c, req) < 0) {
            rk_fail(err, RK_ERR_NOMEM, "out of memory");
            goto fail;
        }
        if (!(c->lean = httpc_start(u->hc, &t, req, &lean_handler, c, err))) goto fail;
        goto linked;
    }
    if (call_copy(c, req, err) != RK_OK) goto fail;
    c->easy = easy_get(u);
    if (!c->easy) {
        rk_fail(err, RK_ERR_NOMEM, "curl_easy_init failed");
        goto fail;
    }
    CURLcode rc = upcurl_setup(c, req);
    if (rc != CURLE_OK) {
        rk_fail(err, RK_ERR_INVALID, "http_start: %s", curl_easy_strerror(rc));
        goto fail;
    }
    if (call_arm(u, c, req) < 0) {
        rk_fail(err, RK_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (u->in_curl) { /* inside a libcurl callback: add after it returns */
        c->dnext = u->pending;
        u->pending = c;
    } else {
        CURLMcode mc = curl_multi_add_handle(u->multi, c->easy);
        if (mc != CURLM_OK) {
            rk_fail(err, RK_ERR_IO, "http_start: %s", curl_multi_strerror(mc));
            goto fail;
        }
        c->added = 1;
    }
linked:
    c->next = u->calls;
    if (u->calls) u->calls->prev = c;
    u->calls = c;
    atomic_fetch_add(&u->inflight, 1);
    return c;
fail:
    loop_timer_cancel(u->l, c->timer);
    up_call_free(u, c);
    return NULL;
}

/* ---- lifetime, driven by loop.c ----------------------------------------- */

void upstream_io(upstream *u, int fd, uint32_t events)
{
    int flags = 0;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) flags |= CURL_CSELECT_IN;
    if (events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (events & EPOLLERR) flags |= CURL_CSELECT_ERR;
    upcurl_drive(u, fd, flags);
}

void upstream_set_builtin(upstream *u, int on)
{
    if (u) atomic_store(&u->builtin, on ? 1 : 0);
}

void upstream_close(upstream *u)
{
    if (!u) return;
    u->closing = 1;
    while (u->calls) up_call_finish(u, u->calls, RK_ERR_CANCELLED, "loop stopped");
    upcurl_flush(u);
    u->curl_timer = NULL; /* the loop drops every timer next */
}

upstream *upstream_new(loop *l, rk_err *err)
{
    if (upcurl_global_init(err) != RK_OK) return NULL;
    upstream *u = calloc(1, sizeof *u);
    if (!u) {
        rk_fail(err, RK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    u->l = l;
    atomic_init(&u->builtin, 1);
    if (!(u->multi = curl_multi_init()) || !(u->hc = httpc_new(l, err))) {
        rk_fail(err, RK_ERR_NOMEM, "out of memory");
        if (u->multi) curl_multi_cleanup(u->multi);
        free(u);
        return NULL;
    }
    upcurl_multi_setup(u);
    return u;
}

void upstream_free(upstream *u)
{
    if (!u) return;
    httpc_free(u->hc);
    curl_multi_cleanup(u->multi);
    while (u->n_easy > 0) curl_easy_cleanup(u->easy_cache[--u->n_easy]);
    curlfd_free(&u->fds);
    free(u);
}
