/*
 * httpc — a lean HTTP/1.1 client for the loop (see httpc.h for which
 * calls it takes): the request layer. A request is written with one send()
 * (head and body in one buffer) on a connection of httpc_conn.c's (a kept
 * alive one when the pool has it); its response is decoded in place in
 * the connection's read buffer (httprd.c: the framing) and handed on piece
 * by piece. A request sent on a reused connection that gets no byte back
 * (the peer closed it as we wrote) is sent once more on a fresh one, as
 * every keep-alive client must. The message text itself (request bytes,
 * header blocks, chunk lines) is httpmsg.c's. Everything runs on the loop
 * thread; callbacks may cancel their own request, which is then freed when
 * the callback has returned.
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
#include "httprd.h"
#include "httpc_impl.h"

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
    hc_conn_close(c);
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
    hc_conn_close(c);
    req_fail(r, status, msg);
}

static void conn_complete(hc_conn *c)
{
    httpc_req *r = c->req;
    r->conn = NULL;
    /* bytes beyond the response, or a request not fully written (the
     * server answered early): the connection is out of step */
    if (r->rd.close_after || c->rpos != c->rlen || r->outoff < r->outlen) {
        c->req = NULL;
        hc_conn_close(c);
    } else {
        hc_conn_idle(c); /* before on_done: the next request may reuse it */
    }
    req_end(r, RK_OK, NULL);
}

/* ---- responses ------------------------------------------------------------ */

/* After a callback of r: 1 when the request goes on on c. */
static int cb_after(hc_conn *c, httpc_req *r, int rc)
{
    if (r->dead) { /* cancelled inside the callback */
        c->req = NULL;
        r->conn = NULL;
        hc_conn_close(c);
        req_free(r);
        return 0;
    }
    if (rc) {
        conn_fail(c, RK_ERR_CANCELLED, "aborted by callback");
        return 0;
    }
    return 1;
}

/* Hand one event to r's callbacks: 1 when the request goes on on c. */
static int deliver(hc_conn *c, httpc_req *r, httprd_kind k, const httprd_ev *ev)
{
    int rc = 0;
    r->in_cb = 1;
    if (k == HTTPRD_HEAD && r->h.on_response)
        rc = r->h.on_response(r->ud, ev->status, c->hc->fields.v, ev->nfields);
    else if (k == HTTPRD_DATA && r->h.on_body)
        rc = r->h.on_body(r->ud, ev->data, ev->len);
    r->in_cb = 0;
    return cb_after(c, r, rc);
}

/* Hand on what the buffer holds: 1 while the request waits for more bytes
 * on c, 0 once it has ended (c may be gone). */
static int process(hc_conn *c)
{
    httpc_req *r = c->req;
    for (;;) {
        httprd_ev ev;
        httprd_kind k = httprd_next(&r->rd, c->rbuf, c->rlen, &c->rpos, &c->hc->fields,
                                    !r->paused, &ev);
        if (k == HTTPRD_MORE) break;
        if (k == HTTPRD_DONE) {
            conn_complete(c);
            return 0;
        }
        if (k == HTTPRD_ERROR) {
            conn_fail(c, ev.status, ev.msg);
            return 0;
        }
        if (!deliver(c, r, k, &ev)) return 0;
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

static void conn_eof(hc_conn *c)
{
    if (!httprd_eof(&c->req->rd)) {
        conn_broken(c);
        return;
    }
    conn_complete(c);
}

/* ---- starting ------------------------------------------------------------- */

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
    hc_conn *c = hc_conn_new(r->hc, &r->sa, r->salen, r->connect_us, fd, rc < 0);
    if (!c) {
        close(fd);
        req_fail(r, RK_ERR_NOMEM, "out of memory");
        return;
    }
    c->req = r;
    r->conn = c;
    if (!c->connecting) hc_conn_send(c);
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
    httprd_init(&r->rd, req->method && strcmp(req->method, "HEAD") == 0);
    if (!(r->out = httpmsg_request(t, req, &r->outlen, err))) {
        req_free(r);
        return NULL;
    }
    r->starting = 1;
    hc_conn *c = hc_pool_take(hc, &r->sa, r->salen);
    if (c) {
        c->req = r;
        r->conn = c;
        hc_conn_send(c);
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
    hc_conn_watch(c, RK_WATCH_READ | (r->outoff < r->outlen ? RK_WATCH_WRITE : 0));
    if (!c->w) {
        conn_fail(c, RK_ERR_NOMEM, "out of memory");
        return;
    }
    if (process(c)) hc_conn_read(c);
}

void httpc_pause(httpc_req *r, int pause)
{
    if (!r || r->dead || !pause == !r->paused) return;
    r->paused = pause != 0;
    hc_conn *c = r->conn;
    if (pause) {
        loop_timer_cancel(r->hc->l, r->rtimer);
        r->rtimer = NULL;
        if (c && !c->connecting) hc_conn_unwatch(c);
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
        hc_conn_close(c);
    }
    req_free(r);
}

static const hc_upcalls upcalls = {process, conn_eof, conn_broken, conn_fail};

httpc *httpc_new(loop *l, rk_err *err)
{
    httpc *hc = calloc(1, sizeof *hc);
    if (!hc) {
        rk_fail(err, RK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    hc->l = l;
    hc->up = &upcalls;
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
        hc_conn_close(c);
    }
    free(hc->fields.v);
    free(hc);
}
