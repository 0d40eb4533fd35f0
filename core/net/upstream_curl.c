/*
 * upstream_curl — the libcurl half of upstream.c: the multi handle driven by
 * curl_multi_socket_action, its sockets registered in the loop's epoll set
 * (tracked through libcurl's open/close-socket callbacks, so a late remove
 * for a socket libcurl already closed cannot unregister a live one that
 * reused the number) and its timeout kept as one more loop timer; the
 * header and body callbacks that feed a call's handler; pauses, applied
 * outside libcurl's callbacks. Calls may be cancelled from inside those
 * callbacks, where libcurl forbids removing (or adding) easy handles, so
 * such removals and additions wait until curl_multi_socket_action returns.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "upstream_impl.h"

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

int upcurl_global_init(rk_err *err)
{
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc == CURLE_OK) return RK_OK;
    return rk_fail(err, RK_ERR_INTERNAL, "curl_global_init: %s",
                   curl_easy_strerror(curl_init_rc));
}

int upcurl_env_proxy(void) { return env_proxy; }

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
    up_call_finish(u, c, st, msg);
}

/* ---- driving libcurl ----------------------------------------------------- */

static void read_done(upstream *u);

/* Tell libcurl about pause changes, outside its callbacks (a resume may
 * deliver the body it kept at once: our write callback runs inside). */
void upcurl_pause_apply(upstream *u)
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
        upcurl_flush(u);
        read_done(u);
    }
    u->pausing = 0;
}

void upcurl_flush(upstream *u)
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
        up_call_finish(u, c, RK_ERR_IO, curl_multi_strerror(mc));
        u->defer--;
    }
    while (u->zombies) {
        rk_http_call *c = u->zombies;
        u->zombies = c->dnext;
        up_call_free(u, c);
    }
    upcurl_pause_apply(u);
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
        upcurl_flush(u);
    }
}

void upcurl_drive(upstream *u, curl_socket_t fd, int flags)
{
    int running = 0;
    u->in_curl++;
    curl_multi_socket_action(u->multi, fd, flags, &running);
    u->in_curl--;
    upcurl_flush(u);
    read_done(u);
}

static void curl_timer_fire(void *ud)
{
    upstream *u = ud;
    u->curl_timer = NULL;
    upcurl_drive(u, CURL_SOCKET_TIMEOUT, 0);
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
static int curl_socket(upstream *u, int s, int what)
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

int upstream_curl_socket(loop *l, int fd, int what)
{
    upstream *u = loop_part_ud(l);
    return u ? curl_socket(u, fd, what) : -1;
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *ud, void *sp)
{
    (void)e;
    (void)sp;
    return curl_socket(ud, s, what);
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

CURLcode upcurl_setup(rk_http_call *c, const rk_http_request *req)
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

void upcurl_multi_setup(upstream *u)
{
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u);
    /* keep upstream keep-alive connections for thousands of streams */
    curl_multi_setopt(u->multi, CURLMOPT_MAXCONNECTS, 1024L);
    curl_multi_setopt(u->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    curl_multi_setopt(u->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, 0L);
}
