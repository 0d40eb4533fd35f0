/*
 * upstream — the loop's HTTP client, so that thousands of slow upstream
 * streams wait with no thread each. It starts, cancels and pauses the
 * rk_http_call objects behind rk_host.http_start/http_cancel/http_pause
 * (their deadlines and end are upstream_call.c's) and attaches the client
 * to its loop. Plain-http calls to a numeric
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

/* The call's own loop decides, whatever loop the caller names: a call
 * cancelled from another loop's thread is refused, never unlinked from the
 * wrong list. */
void upstream_http_cancel(loop *l, rk_http_call *c)
{
    (void)l;
    if (!c || c->done || c->zombie || !loop_on_thread(c->u->l, "http_cancel")) return;
    upstream *u = c->u;
    c->zombie = 1;
    up_call_unlink(u, c);
    if (u->in_curl || u->defer) {
        c->dnext = u->zombies;
        u->zombies = c;
        return;
    }
    up_call_free(u, c);
}

void upstream_http_pause(loop *l, rk_http_call *c, int pause)
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
        up_call_rearm(c);
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

int upstream_http_inflight(loop *l)
{
    upstream *u = loop_part_ud(l);
    return u ? atomic_load(&u->inflight) : 0;
}

/* ---- http calls: start --------------------------------------------------- */

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

/* Send c through libcurl: headers and body copied, an easy handle set up
 * and added to the multi handle (after the current callback, inside one). */
static int start_curl(upstream *u, rk_http_call *c, const rk_http_request *req, rk_err *err)
{
    if (call_copy(c, req, err) != RK_OK) return -1;
    if (!(c->easy = up_easy_get(u))) return rk_fail(err, RK_ERR_NOMEM, "curl_easy_init failed");
    CURLcode rc = upcurl_setup(c, req);
    if (rc != CURLE_OK)
        return rk_fail(err, RK_ERR_INVALID, "http_start: %s", curl_easy_strerror(rc));
    if (up_call_arm(u, c, req) < 0) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    if (u->in_curl) { /* inside a libcurl callback: add after it returns */
        c->dnext = u->pending;
        u->pending = c;
        return RK_OK;
    }
    CURLMcode mc = curl_multi_add_handle(u->multi, c->easy);
    if (mc != CURLM_OK)
        return rk_fail(err, RK_ERR_IO, "http_start: %s", curl_multi_strerror(mc));
    c->added = 1;
    return RK_OK;
}

/* Send c through the loop's own client when it takes the call: 1 taken,
 * 0 not (libcurl's), -1 failed (err set). */
static int start_lean(upstream *u, rk_http_call *c, const rk_http_request *req, rk_err *err)
{
    httpmsg_target t;
    if (!atomic_load_explicit(&u->builtin, memory_order_relaxed) || upcurl_env_proxy() ||
        !httpmsg_target_parse(req->url, &t))
        return 0;
    if (up_call_arm(u, c, req) < 0) {
        rk_fail(err, RK_ERR_NOMEM, "out of memory");
        return -1;
    }
    c->lean = httpc_start(u->hc, &t, req, &lean_handler, c, err);
    return c->lean ? 1 : -1;
}

/* The client attached to l, ready for a new call from its thread. */
static upstream *start_check(loop *l, const rk_http_request *req, const rk_http_handler *h,
                             rk_err *err)
{
    upstream *u = loop_part_ud(l);
    if (!u || !req || !req->url || !h) {
        rk_fail(err, RK_ERR_INVALID, "http_start: missing request, handler or client");
        return NULL;
    }
    if (!loop_on_thread(l, "http_start")) {
        rk_fail(err, RK_ERR_INVALID, "http_start outside the loop thread");
        return NULL;
    }
    if (u->closing) {
        rk_fail(err, RK_ERR_UNAVAILABLE, "loop is stopping");
        return NULL;
    }
    return u;
}

rk_http_call *upstream_http_start(loop *l, const rk_http_request *req,
                                  const rk_http_handler *h, void *ud, rk_err *err)
{
    upstream *u = start_check(l, req, h, err);
    if (!u) return NULL;
    rk_http_call *c = malloc(sizeof *c); /* not calloc: see chat_new */
    if (!c) {
        rk_fail(err, RK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    *c = (rk_http_call){0};
    c->u = u;
    c->h = *h;
    c->ud = ud;
    int lean = start_lean(u, c, req, err);
    if (lean < 0 || (lean == 0 && start_curl(u, c, req, err) != RK_OK)) {
        loop_timer_cancel(u->l, c->timer);
        up_call_free(u, c);
        return NULL;
    }
    c->next = u->calls;
    if (u->calls) u->calls->prev = c;
    u->calls = c;
    atomic_fetch_add(&u->inflight, 1);
    return c;
}

/* ---- lifetime: the loop's part ------------------------------------------ */

static void upstream_io(void *ud, int fd, uint32_t events)
{
    int flags = 0;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) flags |= CURL_CSELECT_IN;
    if (events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (events & EPOLLERR) flags |= CURL_CSELECT_ERR;
    upcurl_drive(ud, fd, flags);
}

void upstream_set_builtin(loop *l, int on)
{
    upstream *u = loop_part_ud(l);
    if (u) atomic_store(&u->builtin, on ? 1 : 0);
}

/* The loop is stopping: refuse new calls, end live ones. */
static void upstream_close(void *ud)
{
    upstream *u = ud;
    u->closing = 1;
    while (u->calls) up_call_finish(u, u->calls, RK_ERR_CANCELLED, "loop stopped");
    upcurl_flush(u);
    u->curl_timer = NULL; /* the loop drops every timer next */
}

/* Needs the epoll set still open: libcurl unregisters its sockets. */
static void upstream_free(void *ud)
{
    upstream *u = ud;
    httpc_free(u->hc);
    curl_multi_cleanup(u->multi);
    while (u->n_easy > 0) curl_easy_cleanup(u->easy_cache[--u->n_easy]);
    curlfd_free(&u->fds);
    free(u);
}

int upstream_attach(loop *l, rk_err *err)
{
    int rc = upcurl_global_init(err);
    if (rc != RK_OK) return rc;
    upstream *u = calloc(1, sizeof *u);
    if (!u) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    u->l = l;
    atomic_init(&u->builtin, 1);
    if (!(u->multi = curl_multi_init()) || !(u->hc = httpc_new(l, err))) {
        if (u->multi) curl_multi_cleanup(u->multi);
        free(u);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    upcurl_multi_setup(u);
    loop_part p = {upstream_io, upstream_close, upstream_free, u};
    if (loop_attach(l, &p) != 0) {
        upstream_free(u);
        return rk_fail(err, RK_ERR_INVALID, "the loop has a client already or runs");
    }
    return RK_OK;
}

loop *upstream_loop_new(rk_err *err)
{
    loop *l = loop_new(err);
    if (l && upstream_attach(l, err) != RK_OK) {
        loop_free(l);
        return NULL;
    }
    return l;
}
