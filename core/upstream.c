/*
 * upstream — the loop's HTTP client: a libcurl multi handle driven by
 * curl_multi_socket_action, its sockets registered in the loop's epoll set
 * and its timeout kept as one more loop timer, so thousands of slow upstream
 * streams wait with no thread each. It owns the rk_http_call objects behind
 * rk_host.http_start/http_cancel (the loop_http_* calls of loop.h), their
 * per-call deadline timers and a cache of idle easy handles. HTTP calls may
 * be cancelled from inside libcurl callbacks, where libcurl forbids removing
 * (or adding) easy handles, so such removals and additions are deferred
 * until curl_multi_socket_action returns while user callbacks stop at once.
 * Plain-http calls to a numeric address go to the loop's own client
 * (httpc.c) instead, unless libcurl is asked for everything: the same
 * call object, deadlines and callback rules, about a third of the work.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "curlfd.h"
#include "httpc.h"
#include "loop.h"
#include "loop_internal.h"

#define EASY_CACHE_MAX 256 /* idle easy handles kept for reuse */

struct rk_http_call {
    upstream *u;
    CURL *easy;              /* the libcurl transfer, or */
    httpc_req *lean;         /* the request of the loop's own client */
    rk_http_handler h;
    void *ud;
    struct curl_slist *hdrs;
    char *body;
    rk_timer *timer;
    int64_t start_us, last_us, deadline_us, first_byte_us, idle_us;
    int added, responded, got_body, zombie, done;
    int paused;              /* asked to stop reading (loop_http_pause) */
    int curl_paused;         /* what libcurl was last told */
    int fail_status;         /* set by a callback that aborted the transfer */
    char *hbuf;              /* "name\0value\0" pairs of the current block */
    size_t hlen, hcap, nh;
    rk_http_call *prev, *next; /* live list */
    rk_http_call *dnext;       /* pending-add or zombie list */
    rk_http_call *pnext;       /* pause-change list */
    int pqueued;
    char errbuf[CURL_ERROR_SIZE];
};

struct upstream {
    loop *l;
    CURLM *multi;
    httpc *hc;
    atomic_int builtin; /* plain-http calls may use hc */
    rk_timer *curl_timer;
    int in_curl; /* inside curl_multi_socket_action: no add/remove */
    int defer;   /* cancellations must not free right now */
    int closing; /* the loop is stopping: no new calls */
    rk_http_call *calls, *pending, *zombies;
    rk_http_call *pchanges; /* calls whose pause libcurl has not been told */
    int pausing;            /* pause_apply is running */
    atomic_int inflight;
    CURL *easy_cache[EASY_CACHE_MAX];
    int n_easy;
    curlfd fds; /* libcurl's sockets and which of them are watched */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static int env_proxy; /* a proxy variable is set: libcurl must look at them */

/* libcurl scans the environment for proxy variables on every transfer;
 * it does not change while we run, so with none set we say "no proxy". */
static void curl_init_once(void)
{
    static const char *const vars[] = {"http_proxy", "https_proxy", "HTTPS_PROXY",
                                       "all_proxy", "ALL_PROXY", NULL};
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    for (const char *const *v = vars; *v; v++) {
        const char *val = getenv(*v);
        if (val && *val) env_proxy = 1;
    }
}

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

static void call_free(upstream *u, rk_http_call *c)
{
    httpc_cancel(c->lean);
    if (c->added) curl_multi_remove_handle(u->multi, c->easy);
    easy_put(u, c->easy);
    curl_slist_free_all(c->hdrs);
    free(c->body);
    free(c->hbuf);
    free(c);
}

/* End a call that is still live: detach it from libcurl, report, free. */
static void call_finish(upstream *u, rk_http_call *c, int status, const char *msg)
{
    c->done = 1;
    call_unlink(u, c);
    if (c->added) curl_multi_remove_handle(u->multi, c->easy);
    c->added = 0;
    if (c->h.on_done) c->h.on_done(c->ud, status, msg);
    call_free(u, c);
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
    call_free(u, c);
}

static void call_rearm(rk_http_call *c);
static void pause_apply(upstream *u);

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
    if (!u->defer) pause_apply(u);
}

int loop_http_inflight(loop *l)
{
    upstream *u = l ? loop_upstream(l) : NULL;
    return u ? atomic_load(&u->inflight) : 0;
}

/* ---- http calls: libcurl callbacks --------------------------------------- */

static int hdr_add(rk_http_call *c, const char *p, size_t len)
{
    while (len && (p[len - 1] == '\r' || p[len - 1] == '\n')) len--;
    const char *colon = memchr(p, ':', len);
    /* obsolete line folding and junk lines are dropped, not fatal */
    if (!colon || colon == p || p[0] == ' ' || p[0] == '\t') return 0;
    size_t nlen = (size_t)(colon - p), vlen = len - nlen - 1;
    const char *v = colon + 1;
    while (vlen && (*v == ' ' || *v == '\t')) v++, vlen--;
    while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) vlen--;
    if (c->hlen + nlen + vlen + 2 > c->hcap) {
        size_t cap = (c->hcap ? c->hcap * 2 : 512) + nlen + vlen + 2;
        char *b = realloc(c->hbuf, cap);
        if (!b) return -1;
        c->hbuf = b;
        c->hcap = cap;
    }
    memcpy(c->hbuf + c->hlen, p, nlen);
    c->hbuf[c->hlen + nlen] = '\0';
    memcpy(c->hbuf + c->hlen + nlen + 1, v, vlen);
    c->hbuf[c->hlen + nlen + 1 + vlen] = '\0';
    c->hlen += nlen + vlen + 2;
    c->nh++;
    return 0;
}

/* Hand the collected header block to on_response; 0 means abort. */
static int deliver_response(rk_http_call *c)
{
    long code = 0;
    c->responded = 1;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
    if (!c->h.on_response) return 1;
    rk_http_header *hv = calloc(c->nh ? c->nh : 1, sizeof *hv);
    if (!hv) {
        c->fail_status = RK_ERR_NOMEM;
        return 0;
    }
    const char *p = c->hbuf;
    for (size_t i = 0; i < c->nh; i++) {
        hv[i].name = p;
        p += strlen(p) + 1;
        hv[i].value = p;
        p += strlen(p) + 1;
    }
    int rc = c->h.on_response(c->ud, (int)code, hv, c->nh);
    free(hv);
    if (rc) c->fail_status = RK_ERR_CANCELLED;
    return !rc && !c->zombie;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    rk_http_call *c = ud;
    size_t len = size * n;
    if (c->zombie || c->fail_status) return 0;
    if (c->responded) return len; /* trailers */
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        c->hlen = c->nh = 0; /* a new block: 1xx, or after a proxy CONNECT */
        return len;
    }
    if (len <= 2 && (p[0] == '\r' || p[0] == '\n')) {
        long code = 0;
        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code < 200) { /* interim or proxy block: the final one follows */
            c->hlen = c->nh = 0;
            return len;
        }
        return deliver_response(c) ? len : 0;
    }
    if (hdr_add(c, p, len) < 0) {
        c->fail_status = RK_ERR_NOMEM;
        return 0;
    }
    return len;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
    rk_http_call *c = ud;
    size_t len = size * n;
    if (c->zombie || c->fail_status) return 0;
    if (c->paused && c->responded) { /* libcurl keeps these bytes for the resume */
        c->curl_paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (!c->responded && !deliver_response(c)) return 0;
    c->got_body = 1;
    c->last_us = loop_clock_us();
    if (len && c->h.on_body && c->h.on_body(c->ud, p, len)) {
        c->fail_status = RK_ERR_CANCELLED;
        return 0;
    }
    return c->zombie ? 0 : len;
}

static int map_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK: return RK_OK;
    case CURLE_OPERATION_TIMEDOUT: return RK_ERR_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_PROXY: return RK_ERR_UNAVAILABLE;
    default: return RK_ERR_IO;
    }
}

static void call_complete(upstream *u, rk_http_call *c, CURLcode rc)
{
    if (!c->fail_status && rc == CURLE_OK && !c->responded) {
        u->defer++; /* on_response may cancel this very call */
        deliver_response(c);
        u->defer--;
        if (c->zombie) return; /* freed by the caller's flush */
    }
    int st = c->fail_status ? c->fail_status : map_curl(rc);
    const char *msg = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);
    if (c->fail_status == RK_ERR_CANCELLED) msg = "aborted by callback";
    else if (c->fail_status == RK_ERR_NOMEM) msg = "out of memory";
    else if (st == RK_OK) msg = NULL;
    call_finish(u, c, st, msg);
}

/* ---- driving libcurl ----------------------------------------------------- */

static void read_done(upstream *u);
static void flush_deferred(upstream *u);

/* Tell libcurl about pause changes, outside its callbacks (a resume may
 * deliver the body it kept at once: our write callback runs inside). */
static void pause_apply(upstream *u)
{
    if (u->pausing) return;
    u->pausing = 1;
    while (u->pchanges && !u->in_curl) {
        rk_http_call *c = u->pchanges;
        u->pchanges = c->pnext;
        c->pqueued = 0;
        if (!c->added || c->paused == c->curl_paused) continue;
        c->curl_paused = c->paused;
        u->in_curl++;
        curl_easy_pause(c->easy, c->paused ? CURLPAUSE_RECV : CURLPAUSE_CONT);
        u->in_curl--;
        flush_deferred(u);
        read_done(u);
    }
    u->pausing = 0;
}

static void flush_deferred(upstream *u)
{
    while (u->pending) {
        rk_http_call *c = u->pending;
        u->pending = c->dnext;
        if (c->zombie) continue; /* its zombie entry frees it */
        CURLMcode mc = curl_multi_add_handle(u->multi, c->easy);
        if (mc == CURLM_OK) {
            c->added = 1;
            if (c->paused && !c->pqueued) { /* paused before it was added */
                c->pqueued = 1;
                c->pnext = u->pchanges;
                u->pchanges = c;
            }
            continue;
        }
        u->defer++; /* on_done may cancel calls still on this list */
        call_finish(u, c, RK_ERR_IO, curl_multi_strerror(mc));
        u->defer--;
    }
    while (u->zombies) {
        rk_http_call *c = u->zombies;
        u->zombies = c->dnext;
        call_free(u, c);
    }
    pause_apply(u);
}

static void read_done(upstream *u)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(u->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        char *priv = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
        rk_http_call *c = (rk_http_call *)priv;
        if (c && !c->zombie && !c->done) call_complete(u, c, m->data.result);
        flush_deferred(u);
    }
}

static void drive(upstream *u, curl_socket_t fd, int flags)
{
    int running = 0;
    u->in_curl++;
    curl_multi_socket_action(u->multi, fd, flags, &running);
    u->in_curl--;
    flush_deferred(u);
    read_done(u);
}

static void curl_timer_fire(void *ud)
{
    upstream *u = ud;
    u->curl_timer = NULL;
    drive(u, CURL_SOCKET_TIMEOUT, 0);
}

static int on_curl_timer(CURLM *m, long ms, void *ud)
{
    upstream *u = ud;
    (void)m;
    loop_timer_cancel(u->l, u->curl_timer);
    u->curl_timer = NULL;
    if (ms < 0) return 0;
    u->curl_timer =
        loop_timer_at(u->l, loop_clock_us() + (int64_t)ms * 1000, curl_timer_fire, u);
    return u->curl_timer ? 0 : -1;
}

/* libcurl's socket callback. A remove for a socket that is not watched
 * for libcurl is stale (sent after libcurl closed it; the number may be a
 * live socket of someone else by now) and is ignored. */
int upstream_curl_socket(upstream *u, int s, int what)
{
    if (what == CURL_POLL_REMOVE) {
        if (curlfd_remove(&u->fds, s)) loop_fd_unwatch(u->l, s);
        return 0;
    }
    uint32_t events = 0;
    if (what & CURL_POLL_IN) events |= EPOLLIN;
    if (what & CURL_POLL_OUT) events |= EPOLLOUT;
    int known = curlfd_watch(&u->fds, s);
    if (known < 0) return -1;
    if (loop_fd_watch(u->l, s, events, known) < 0) {
        curlfd_remove(&u->fds, s);
        return -1;
    }
    return 0;
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *ud, void *sp)
{
    (void)e;
    (void)sp;
    return upstream_curl_socket(ud, s, what);
}

/* CURLOPT_OPENSOCKETFUNCTION: the socket libcurl would make, recorded. */
static curl_socket_t sock_open(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    upstream *u = ud;
    (void)purpose;
    int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (fd < 0) return CURL_SOCKET_BAD;
    if (curlfd_opened(&u->fds, fd) < 0) {
        close(fd);
        return CURL_SOCKET_BAD;
    }
    return fd;
}

/* CURLOPT_CLOSESOCKETFUNCTION: unwatch while the number is still ours. */
static int sock_close(void *ud, curl_socket_t s)
{
    upstream *u = ud;
    if (curlfd_closing(&u->fds, s)) loop_fd_unwatch(u->l, s);
    return close(s);
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
    if (next < 0) call_finish(c->u, c, RK_ERR_TIMEOUT, msg);
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

static CURLcode call_setup(rk_http_call *c, const rk_http_request *req)
{
    CURL *e = c->easy;
    const char *m = req->method ? req->method : "GET";
    CURLcode rc = CURLE_OK;
#define SET(opt, val) if ((rc = curl_easy_setopt(e, opt, val)) != CURLE_OK) return rc
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_PRIVATE, c);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TCP_NODELAY, 1L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_ERRORBUFFER, c->errbuf);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, c);
    SET(CURLOPT_WRITEFUNCTION, on_write);
    SET(CURLOPT_WRITEDATA, c);
    SET(CURLOPT_OPENSOCKETFUNCTION, sock_open);
    SET(CURLOPT_OPENSOCKETDATA, c->u);
    SET(CURLOPT_CLOSESOCKETFUNCTION, sock_close);
    SET(CURLOPT_CLOSESOCKETDATA, c->u);
    if (!env_proxy) {
        SET(CURLOPT_PROXY, "");
    }
    SET(CURLOPT_CONNECTTIMEOUT_MS,
        (long)(req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 10000));
    SET(CURLOPT_HTTPHEADER, c->hdrs);
    if (c->body || strcmp(m, "POST") == 0) {
        SET(CURLOPT_POSTFIELDS, c->body ? c->body : "");
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(c->body ? req->body_len : 0));
    } else if (strcmp(m, "HEAD") == 0) {
        SET(CURLOPT_NOBODY, 1L);
    }
    int plain = strcmp(m, "POST") == 0 || strcmp(m, "HEAD") == 0 ||
                (strcmp(m, "GET") == 0 && !c->body);
    if (!plain) {
        SET(CURLOPT_CUSTOMREQUEST, m);
    }
#undef SET
    return rc;
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
    if (!u->in_curl && !u->defer) flush_deferred(u);
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
    call_finish(u, c, status, msg);
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
    if (atomic_load_explicit(&u->builtin, memory_order_relaxed) && !env_proxy &&
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
    CURLcode rc = call_setup(c, req);
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
    call_free(u, c);
    return NULL;
}

/* ---- lifetime, driven by loop.c ----------------------------------------- */

void upstream_io(upstream *u, int fd, uint32_t events)
{
    int flags = 0;
    if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) flags |= CURL_CSELECT_IN;
    if (events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (events & EPOLLERR) flags |= CURL_CSELECT_ERR;
    drive(u, fd, flags);
}

void upstream_set_builtin(upstream *u, int on)
{
    if (u) atomic_store(&u->builtin, on ? 1 : 0);
}

void upstream_close(upstream *u)
{
    if (!u) return;
    u->closing = 1;
    while (u->calls) call_finish(u, u->calls, RK_ERR_CANCELLED, "loop stopped");
    flush_deferred(u);
    u->curl_timer = NULL; /* the loop drops every timer next */
}

upstream *upstream_new(loop *l, rk_err *err)
{
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK) {
        rk_fail(err, RK_ERR_INTERNAL, "curl_global_init: %s", curl_easy_strerror(curl_init_rc));
        return NULL;
    }
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
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u);
    /* keep upstream keep-alive connections for thousands of streams */
    curl_multi_setopt(u->multi, CURLMOPT_MAXCONNECTS, 1024L);
    curl_multi_setopt(u->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    curl_multi_setopt(u->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
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
