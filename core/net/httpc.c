/*
 * httpc — a lean HTTP/1.1 client for the loop (see httpc.h for which
 * calls it takes). It owns its connections: one socket per request in
 * flight, kept alive afterwards in a per-target pool, watched for reading
 * while idle so a peer that closes one is noticed at once. A request is
 * written with one send() (head and body in one buffer); a response is
 * parsed in place in the connection's read buffer and handed on piece by
 * piece (Content-Length, chunked or close-delimited). A request sent on a
 * reused connection that gets no byte back (the peer closed it as we
 * wrote) is sent once more on a fresh one, as every keep-alive client
 * must. The message text itself (request bytes, header blocks, chunk
 * lines) is httpmsg.c's. Everything runs on the loop thread; callbacks may cancel their own
 * request, which is then freed when the callback has returned.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "httpc.h"
#include "httpmsg.h"
#include "loop_internal.h"

#define RBUF_MIN 8192     /* read buffer of a connection */
#define HEAD_MAX 65536    /* largest response header block */
#define LINE_MAX 4096     /* largest chunk-size or trailer line */
#define IDLE_MAX 1024     /* idle connections kept per loop */

enum { P_HEAD, P_LEN, P_CHUNK_SIZE, P_CHUNK_DATA, P_CHUNK_END, P_TRAILER, P_EOF, P_DONE };
enum { S_MORE, S_NEXT, S_STOP }; /* what a parse step asks for */

typedef struct hc_pool {
    struct sockaddr_storage sa;
    socklen_t salen;
    int nconn;               /* connections of this target, idle or busy */
    struct hc_conn *idle;    /* most recently used first */
    struct hc_pool *next;
} hc_pool;

typedef struct hc_conn {
    httpc *hc;
    hc_pool *pool;
    int fd, connecting, reused, idle;
    uint32_t wev;            /* RK_WATCH_* currently asked for */
    rk_watch *w;
    rk_timer *ctimer;        /* connect timeout */
    httpc_req *req;          /* NULL while idle */
    char *rbuf;
    size_t rlen, rpos, rcap;
    struct hc_conn *next;    /* idle stack */
    struct hc_conn *aprev, *anext; /* every connection of the loop */
} hc_conn;

struct httpc_req {
    httpc *hc;
    hc_conn *conn;
    rk_http_handler h;
    void *ud;
    struct sockaddr_storage sa;
    socklen_t salen;
    char where[64];          /* host:port, for messages */
    char *out;
    size_t outlen, outoff;
    int64_t connect_us;
    int64_t remaining;
    int phase, head_only, close_after, got_bytes, retried, in_cb, dead, starting;
    int paused;              /* the reader is full: leave the socket unread */
    rk_timer *etimer;        /* a failure found while starting */
    rk_timer *rtimer;        /* resuming: hand on buffered bytes next turn */
    int estatus;
    char emsg[160];
};

struct httpc {
    loop *l;
    hc_pool *pools;
    hc_conn *all;
    int nidle;
    httpmsg_fields fields; /* of the response head being handed on */
};

static int conn_send(hc_conn *c);
static void req_connect(httpc_req *r);

/* ---- request lifetime ----------------------------------------------------- */

static void req_free(httpc_req *r)
{
    loop_timer_cancel(r->hc->l, r->etimer);
    loop_timer_cancel(r->hc->l, r->rtimer);
    free(r->out);
    free(r);
}

static void req_end(httpc_req *r, int status, const char *msg)
{
    if (r->h.on_done) r->h.on_done(r->ud, status, msg);
    req_free(r);
}

static void efire(void *ud)
{
    httpc_req *r = ud;
    r->etimer = NULL;
    req_end(r, r->estatus, r->emsg);
}

/* End a request that has no connection. While httpc_start runs, the
 * report waits for the next turn: the caller has no handle yet. */
static void req_fail(httpc_req *r, int status, const char *msg)
{
    if (!r->starting) {
        req_end(r, status, msg);
        return;
    }
    r->estatus = status;
    snprintf(r->emsg, sizeof r->emsg, "%s", msg);
    /* without a timer (out of memory) httpc_start fails instead */
    r->etimer = loop_timer_at(r->hc->l, loop_clock_us(), efire, r);
}

/* ---- connections ---------------------------------------------------------- */

static hc_pool *pool_find(httpc *hc, const struct sockaddr_storage *sa, socklen_t len)
{
    for (hc_pool *p = hc->pools; p; p = p->next)
        if (p->salen == len && memcmp(&p->sa, sa, len) == 0) return p;
    return NULL;
}

static hc_pool *pool_get(httpc *hc, const struct sockaddr_storage *sa, socklen_t len)
{
    hc_pool *p = pool_find(hc, sa, len);
    if (p) return p;
    p = calloc(1, sizeof *p);
    if (!p) return NULL;
    memcpy(&p->sa, sa, len);
    p->salen = len;
    p->next = hc->pools;
    hc->pools = p;
    return p;
}

static void pool_release(httpc *hc, hc_pool *p)
{
    if (--p->nconn > 0) return;
    for (hc_pool **pp = &hc->pools; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            free(p);
            return;
        }
}

static void idle_remove(hc_conn *c)
{
    for (hc_conn **pp = &c->pool->idle; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            c->hc->nidle--;
            c->idle = 0;
            return;
        }
}

static void conn_close(hc_conn *c)
{
    httpc *hc = c->hc;
    if (c->idle) idle_remove(c);
    loop_unwatch(hc->l, c->w);
    loop_timer_cancel(hc->l, c->ctimer);
    close(c->fd);
    if (c->aprev) c->aprev->anext = c->anext;
    else hc->all = c->anext;
    if (c->anext) c->anext->aprev = c->aprev;
    pool_release(hc, c->pool);
    free(c->rbuf);
    free(c);
}

static void on_io(void *ud, uint32_t ev);

/* Watch for ev; a connection unwatched by a pause is watched anew. */
static void watch_set(hc_conn *c, uint32_t ev)
{
    if (!c->w) {
        c->w = loop_watch(c->hc->l, c->fd, ev, on_io, c, NULL);
        c->wev = c->w ? ev : 0;
    } else if (c->wev != ev && loop_watch_events(c->hc->l, c->w, ev) == 0) {
        c->wev = ev;
    }
}

static void conn_idle(hc_conn *c)
{
    httpc *hc = c->hc;
    c->req = NULL;
    if (hc->nidle >= IDLE_MAX) {
        conn_close(c);
        return;
    }
    c->reused = c->idle = 1;
    c->rlen = c->rpos = 0;
    watch_set(c, RK_WATCH_READ);
    c->next = c->pool->idle;
    c->pool->idle = c;
    hc->nidle++;
}

/* "<prefix><where>: <what><detail>" into msg, by plain copies: passed to
 * snprintf, r->where would make the static analyzer take all of *r as
 * overwritten (r->starting too) and see req_fail free r under httpc_start. */
static void where_msg(char *msg, size_t cap, const char *prefix, const httpc_req *r,
                      const char *what, const char *detail)
{
    const char *part[] = {prefix, r->where, ": ", what, detail};
    size_t n = 0;
    for (size_t i = 0; i < sizeof part / sizeof *part; i++) {
        size_t l = strnlen(part[i], cap - 1 - n);
        memcpy(msg + n, part[i], l);
        n += l;
    }
    msg[n] = '\0';
}

/* The connection failed under its request: a reused one that had not
 * answered yet gets the request once more on a fresh connection. */
static void conn_broken(hc_conn *c)
{
    httpc_req *r = c->req;
    int again = c->reused && !r->got_bytes && !r->retried;
    char msg[160];
    where_msg(msg, sizeof msg, "upstream ", r, "",
              r->got_bytes ? "connection closed before the response was complete"
                           : "connection closed without a response");
    c->req = NULL;
    r->conn = NULL;
    conn_close(c);
    if (again) {
        r->retried = 1;
        r->outoff = 0;
        req_connect(r);
        return;
    }
    req_fail(r, RK_ERR_UNAVAILABLE, msg);
}

static void conn_fail(hc_conn *c, int status, const char *msg)
{
    httpc_req *r = c->req;
    c->req = NULL;
    r->conn = NULL;
    conn_close(c);
    req_fail(r, status, msg);
}

static void conn_complete(hc_conn *c)
{
    httpc_req *r = c->req;
    r->conn = NULL;
    /* bytes beyond the response, or a request not fully written (the
     * server answered early): the connection is out of step */
    if (r->close_after || c->rpos != c->rlen || r->outoff < r->outlen) {
        c->req = NULL;
        conn_close(c);
    } else {
        conn_idle(c); /* before on_done: the next request may reuse it */
    }
    req_end(r, RK_OK, NULL);
}

static void ctimer_fire(void *ud)
{
    hc_conn *c = ud;
    char msg[160];
    c->ctimer = NULL;
    snprintf(msg, sizeof msg, "connect to %s timed out after %lld ms", c->req->where,
             (long long)(c->req->connect_us / 1000));
    conn_fail(c, RK_ERR_TIMEOUT, msg);
}

/* ---- responses ------------------------------------------------------------ */

/* After a callback of r: 1 when the request goes on on c. */
static int cb_after(hc_conn *c, httpc_req *r, int rc)
{
    if (r->dead) { /* cancelled inside the callback */
        c->req = NULL;
        r->conn = NULL;
        conn_close(c);
        req_free(r);
        return 0;
    }
    if (rc) {
        conn_fail(c, RK_ERR_CANCELLED, "aborted by callback");
        return 0;
    }
    return 1;
}

/* How the body of this response ends (RFC 9112 6.3). */
static void frame_set(httpc_req *r, const httpmsg_head *f)
{
    r->close_after = f->close || (f->minor == 0 && !f->keep);
    if (r->head_only || f->status == 204 || f->status == 304) {
        r->phase = P_DONE;
    } else if (f->te) {
        r->phase = f->chunked ? P_CHUNK_SIZE : P_EOF;
    } else if (f->clen >= 0) {
        r->remaining = f->clen;
        r->phase = f->clen ? P_LEN : P_DONE;
    } else {
        r->phase = P_EOF;
    }
    if (r->phase == P_EOF) r->close_after = 1;
}

static int step_head(hc_conn *c, httpc_req *r)
{
    char *p = c->rbuf + c->rpos;
    size_t avail = c->rlen - c->rpos, len = httpmsg_head_end(p, avail);
    httpmsg_head f;
    if (!len) {
        if (avail < HEAD_MAX) return S_MORE;
        conn_fail(c, RK_ERR_IO, "malformed response: headers larger than 64 KiB");
        return S_STOP;
    }
    int rc = httpmsg_head_parse(p, len, &f, &c->hc->fields);
    if (rc == 0 && f.status == 101) rc = HTTPMSG_BAD_STATUS; /* no upgrade was asked for */
    if (rc < 0) {
        conn_fail(c, rc == HTTPMSG_NOMEM ? RK_ERR_NOMEM : RK_ERR_IO,
                  rc == HTTPMSG_NOMEM       ? "out of memory"
                  : rc == HTTPMSG_BAD_STATUS ? "malformed response: bad status line"
                                             : "malformed response: bad Content-Length");
        return S_STOP;
    }
    c->rpos += len;
    if (f.status < 200) return S_NEXT; /* interim: the final block follows */
    frame_set(r, &f);
    if (!r->h.on_response) return S_NEXT;
    r->in_cb = 1;
    rc = r->h.on_response(r->ud, f.status, c->hc->fields.v, f.nfields);
    r->in_cb = 0;
    return cb_after(c, r, rc) ? S_NEXT : S_STOP;
}

static int step_data(hc_conn *c, httpc_req *r)
{
    size_t n = c->rlen - c->rpos;
    if (!n) return S_MORE;
    if (r->phase != P_EOF && (int64_t)n > r->remaining) n = (size_t)r->remaining;
    const char *p = c->rbuf + c->rpos;
    c->rpos += n;
    if (r->phase != P_EOF) {
        r->remaining -= (int64_t)n;
        if (!r->remaining) r->phase = r->phase == P_LEN ? P_DONE : P_CHUNK_END;
    }
    if (!r->h.on_body) return S_NEXT;
    r->in_cb = 1;
    int rc = r->h.on_body(r->ud, p, n);
    r->in_cb = 0;
    return cb_after(c, r, rc) ? S_NEXT : S_STOP;
}

/* A chunk-size line, the CRLF after chunk data, or a trailer line. */
static int step_line(hc_conn *c, httpc_req *r)
{
    const char *s = c->rbuf + c->rpos, *nl = memchr(s, '\n', c->rlen - c->rpos);
    if (!nl && c->rlen - c->rpos <= LINE_MAX) return S_MORE;
    size_t n = nl ? (size_t)(nl - s) - (nl > s && nl[-1] == '\r') : 0;
    int64_t v = nl && r->phase == P_CHUNK_SIZE ? httpmsg_chunk_size(s, n) : 0;
    if (!nl || v < 0 || (r->phase == P_CHUNK_END && n)) {
        conn_fail(c, RK_ERR_IO, "malformed response: bad chunked encoding");
        return S_STOP;
    }
    c->rpos += (size_t)(nl - s) + 1;
    if (r->phase == P_CHUNK_SIZE) {
        r->remaining = v;
        r->phase = v ? P_CHUNK_DATA : P_TRAILER;
    } else if (r->phase == P_CHUNK_END) {
        r->phase = P_CHUNK_SIZE;
    } else if (!n) {
        r->phase = P_DONE; /* the blank line after the trailers */
    }
    return S_NEXT;
}

/* Parse what the buffer holds: 1 while the request waits for more bytes
 * on c, 0 once it has ended (c may be gone). */
static int process(hc_conn *c)
{
    httpc_req *r = c->req;
    for (;;) {
        int s;
        switch (r->phase) {
        case P_HEAD: s = step_head(c, r); break;
        case P_LEN:
        case P_CHUNK_DATA:
        case P_EOF: s = r->paused ? S_MORE : step_data(c, r); break;
        case P_DONE: conn_complete(c); return 0;
        default: s = step_line(c, r); break;
        }
        if (s == S_STOP) return 0;
        if (s == S_MORE) break;
    }
    if (c->rpos == c->rlen) {
        c->rpos = c->rlen = 0;
    } else if (c->rpos) {
        memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
        c->rlen -= c->rpos;
        c->rpos = 0;
    }
    return 1;
}

/* ---- i/o ------------------------------------------------------------------ */

static int buf_grow(hc_conn *c)
{
    size_t cap = c->rcap ? c->rcap * 2 : RBUF_MIN;
    if (cap > HEAD_MAX) return -1;
    char *b = realloc(c->rbuf, cap);
    if (!b) return -1;
    c->rbuf = b;
    c->rcap = cap;
    return 0;
}

static void conn_eof(hc_conn *c)
{
    httpc_req *r = c->req;
    if (r->phase != P_EOF) {
        conn_broken(c);
        return;
    }
    r->phase = P_DONE;
    conn_complete(c);
}

/* Read until the response ends or the socket is drained; a short read
 * means drained, so a whole response costs one recv(). */
static void conn_read(hc_conn *c)
{
    for (int round = 0; round < 16; round++) {
        if (c->req->paused) return; /* the buffer may be full of unread body */
        if (c->rlen == c->rcap && buf_grow(c) < 0) {
            conn_fail(c, RK_ERR_NOMEM, "out of memory");
            return;
        }
        size_t room = c->rcap - c->rlen;
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, room, 0);
        if (n > 0) {
            c->rlen += (size_t)n;
            c->req->got_bytes = 1;
            if (!process(c) || (size_t)n < room || c->req->paused) return;
        } else if (n == 0) {
            conn_eof(c);
            return;
        } else if (errno != EINTR) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) conn_broken(c);
            return;
        }
    }
}

/* Write what is left of the request: 1 while c goes on with it. */
static int conn_send(hc_conn *c)
{
    httpc_req *r = c->req;
    while (r->outoff < r->outlen) {
        ssize_t n = send(c->fd, r->out + r->outoff, r->outlen - r->outoff, MSG_NOSIGNAL);
        if (n > 0) {
            r->outoff += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            watch_set(c, RK_WATCH_READ | RK_WATCH_WRITE);
            return 1;
        } else if (n == 0 || errno != EINTR) {
            conn_broken(c);
            return 0;
        }
    }
    if (!c->reused || r->retried) { /* never sent again: drop the copy */
        free(r->out);
        r->out = NULL;
    }
    watch_set(c, RK_WATCH_READ);
    return 1;
}

static void connect_done(hc_conn *c)
{
    int e = 0;
    socklen_t len = sizeof e;
    char msg[160];
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0) e = errno;
    if (e == EINPROGRESS || e == EALREADY) return;
    if (e) {
        snprintf(msg, sizeof msg, "connect to %s: %s", c->req->where, strerror(e));
        conn_fail(c, RK_ERR_UNAVAILABLE, msg);
        return;
    }
    c->connecting = 0;
    loop_timer_cancel(c->hc->l, c->ctimer);
    c->ctimer = NULL;
    conn_send(c);
}

/* A paused request's socket is not watched: level-triggered readiness
 * would wake the loop for bytes nobody may read yet. */
static void conn_unwatch(hc_conn *c)
{
    loop_unwatch(c->hc->l, c->w);
    c->w = NULL;
    c->wev = 0;
}

static void on_io(void *ud, uint32_t ev)
{
    hc_conn *c = ud;
    if (c->connecting) { /* paused or not; only a request's own connection connects */
        connect_done(c);
        return;
    }
    if (c->req && c->req->paused) {
        conn_unwatch(c);
        return;
    }
    if (c->idle) { /* the peer closed it, or sent bytes nobody asked for */
        char b;
        ssize_t n = recv(c->fd, &b, 1, MSG_PEEK);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
        conn_close(c);
        return;
    }
    if ((ev & RK_WATCH_WRITE) && !conn_send(c)) return;
    if (ev & RK_WATCH_READ) conn_read(c);
}

/* ---- starting ------------------------------------------------------------- */

/* A connection to sa on fd, watched (and timed while connecting); the
 * caller attaches its request. It takes no request: the analyzer then sees
 * that a failure here leaves the request as it was. */
static hc_conn *conn_new(httpc *hc, const struct sockaddr_storage *sa, socklen_t salen,
                         int64_t connect_us, int fd, int connecting)
{
    hc_conn *c = calloc(1, sizeof *c);
    hc_pool *p = c ? pool_get(hc, sa, salen) : NULL;
    if (!p) {
        free(c);
        return NULL;
    }
    *c = (hc_conn){.hc = hc, .pool = p, .fd = fd, .connecting = connecting};
    c->wev = connecting ? RK_WATCH_WRITE : RK_WATCH_READ;
    c->w = loop_watch(hc->l, fd, c->wev, on_io, c, NULL);
    if (connecting && c->w)
        c->ctimer = loop_timer_at(hc->l, loop_clock_us() + connect_us, ctimer_fire, c);
    p->nconn++;
    if (!c->w || (connecting && !c->ctimer)) {
        loop_unwatch(hc->l, c->w);
        pool_release(hc, p);
        free(c);
        return NULL;
    }
    c->anext = hc->all;
    if (hc->all) hc->all->aprev = c;
    hc->all = c;
    return c;
}

static void req_connect(httpc_req *r)
{
    char msg[160];
    int fd = socket(r->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        where_msg(msg, sizeof msg, "connect to ", r, "socket: ", strerror(errno));
        req_fail(r, RK_ERR_UNAVAILABLE, msg);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    int rc = connect(fd, (const struct sockaddr *)&r->sa, r->salen);
    if (rc < 0 && errno != EINPROGRESS) {
        where_msg(msg, sizeof msg, "connect to ", r, "", strerror(errno));
        close(fd);
        req_fail(r, RK_ERR_UNAVAILABLE, msg);
        return;
    }
    hc_conn *c = conn_new(r->hc, &r->sa, r->salen, r->connect_us, fd, rc < 0);
    if (!c) {
        close(fd);
        req_fail(r, RK_ERR_NOMEM, "out of memory");
        return;
    }
    c->req = r;
    r->conn = c;
    if (!c->connecting) conn_send(c);
}

static hc_conn *pool_take(httpc *hc, const struct sockaddr_storage *sa, socklen_t len)
{
    hc_pool *p = pool_find(hc, sa, len);
    hc_conn *c = p ? p->idle : NULL;
    if (c) {
        p->idle = c->next;
        c->idle = 0;
        hc->nidle--;
    }
    return c;
}

httpc_req *httpc_start(httpc *hc, const httpmsg_target *t, const rk_http_request *req,
                       const rk_http_handler *h, void *ud, rk_err *err)
{
    httpc_req *r = malloc(sizeof *r); /* zeroed below (calloc skips the thread cache) */
    if (!r) {
        rk_fail(err, RK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    *r = (httpc_req){.hc = hc, .h = *h, .ud = ud, .salen = t->salen};
    memcpy(&r->sa, &t->sa, t->salen);
    size_t wl = t->authority_len < sizeof r->where ? t->authority_len : sizeof r->where - 1;
    memcpy(r->where, t->authority, wl); /* snprintf costs more than the request */
    r->where[wl] = '\0';
    r->connect_us = (req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 10000) * 1000;
    r->head_only = req->method && strcmp(req->method, "HEAD") == 0;
    if (!(r->out = httpmsg_request(t, req, &r->outlen, err))) {
        req_free(r);
        return NULL;
    }
    r->starting = 1;
    hc_conn *c = pool_take(hc, &r->sa, r->salen);
    if (c) {
        c->req = r;
        r->conn = c;
        conn_send(c);
    } else {
        req_connect(r);
    }
    r->starting = 0;
    if (r->estatus && !r->etimer) { /* no timer to report it: fail the start */
        rk_fail(err, r->estatus, "%s", r->emsg);
        req_free(r);
        return NULL;
    }
    return r;
}

/* Resuming runs from a timer, never inside the caller's callback: the
 * bytes already buffered are handed on first, then the socket is read. */
static void resume_fire(void *ud)
{
    httpc_req *r = ud;
    r->rtimer = NULL;
    hc_conn *c = r->conn;
    if (r->paused || !c || c->connecting) return;
    watch_set(c, RK_WATCH_READ | (r->outoff < r->outlen ? RK_WATCH_WRITE : 0));
    if (!c->w) {
        conn_fail(c, RK_ERR_NOMEM, "out of memory");
        return;
    }
    if (process(c)) conn_read(c);
}

void httpc_pause(httpc_req *r, int pause)
{
    if (!r || r->dead || !pause == !r->paused) return;
    r->paused = pause != 0;
    hc_conn *c = r->conn;
    if (pause) {
        loop_timer_cancel(r->hc->l, r->rtimer);
        r->rtimer = NULL;
        if (c && !c->connecting) conn_unwatch(c);
        return;
    }
    if (!r->rtimer) r->rtimer = loop_timer_at(r->hc->l, loop_clock_us(), resume_fire, r);
}

void httpc_cancel(httpc_req *r)
{
    if (!r) return;
    if (r->in_cb) {
        r->dead = 1; /* freed when the callback returns */
        return;
    }
    hc_conn *c = r->conn;
    if (c) { /* a response may be on its way: the connection is out of step */
        c->req = NULL;
        conn_close(c);
    }
    req_free(r);
}

httpc *httpc_new(loop *l, rk_err *err)
{
    httpc *hc = calloc(1, sizeof *hc);
    if (!hc) rk_fail(err, RK_ERR_NOMEM, "out of memory");
    else hc->l = l;
    return hc;
}

void httpc_free(httpc *hc)
{
    if (!hc) return;
    /* the next one is read before conn_close frees c (which unlinks it
     * through c->hc, the same httpc) */
    for (hc_conn *c = hc->all, *next; c; c = next) {
        next = c->anext;
        if (c->req) {
            c->req->conn = NULL;
            req_free(c->req);
            c->req = NULL;
        }
        conn_close(c);
    }
    free(hc->fields.v);
    free(hc);
}
