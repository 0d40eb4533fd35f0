/*
 * httpc_conn — the connection layer of the loop's own HTTP client (see
 * httpc_impl.h): one non-blocking socket per request in flight, kept
 * alive afterwards in a per-target pool and watched for reading while
 * idle, so a peer that closes one is noticed at once; a request's bytes
 * go out with as few send() calls as the socket takes, and a response is
 * read with as few recv() calls as it needs. What the bytes mean is the
 * request layer's (httpc.c), reached through the upcall table.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "httpc_impl.h"

static void on_io(void *ud, uint32_t ev);

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

void hc_conn_close(hc_conn *c)
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

/* Watch for ev; a connection unwatched by a pause is watched anew. */
void hc_conn_watch(hc_conn *c, uint32_t ev)
{
    if (!c->w) {
        c->w = loop_watch(c->hc->l, c->fd, ev, on_io, c, NULL);
        c->wev = c->w ? ev : 0;
    } else if (c->wev != ev && loop_watch_events(c->hc->l, c->w, ev) == 0) {
        c->wev = ev;
    }
}

void hc_conn_idle(hc_conn *c)
{
    httpc *hc = c->hc;
    c->req = NULL;
    if (hc->nidle >= IDLE_MAX) {
        hc_conn_close(c);
        return;
    }
    c->reused = c->idle = 1;
    c->rlen = c->rpos = 0;
    hc_conn_watch(c, RK_WATCH_READ);
    c->next = c->pool->idle;
    c->pool->idle = c;
    hc->nidle++;
}

static int buf_grow(hc_conn *c)
{
    size_t cap = c->rcap ? c->rcap * 2 : RBUF_MIN;
    if (cap > HTTPRD_HEAD_MAX) return -1;
    char *b = realloc(c->rbuf, cap);
    if (!b) return -1;
    c->rbuf = b;
    c->rcap = cap;
    return 0;
}

/* Read until the response ends or the socket is drained; a short read
 * means drained, so a whole response costs one recv(). */
void hc_conn_read(hc_conn *c)
{
    for (int round = 0; round < 16; round++) {
        /* process() keeps c->req while it returns 1; a paused reader's
         * buffer may be full of unread body */
        if (!c->req || c->req->paused) return;
        if (c->rlen == c->rcap && buf_grow(c) < 0) {
            c->hc->up->fail(c, RK_ERR_NOMEM, "out of memory");
            return;
        }
        size_t room = c->rcap - c->rlen;
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, room, 0);
        if (n > 0) {
            c->rlen += (size_t)n;
            c->req->got_bytes = 1;
            if (!c->hc->up->process(c) || (size_t)n < room) return;
        } else if (n == 0) {
            c->hc->up->eof(c);
            return;
        } else if (errno != EINTR) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) c->hc->up->broken(c);
            return;
        }
    }
}

/* Write what is left of the request: 1 while c goes on with it. */
int hc_conn_send(hc_conn *c)
{
    httpc_req *r = c->req;
    if (!r) { /* only a request's connection sends */
        hc_conn_close(c);
        return 0;
    }
    while (r->outoff < r->outlen) {
        ssize_t n = send(c->fd, r->out + r->outoff, r->outlen - r->outoff, MSG_NOSIGNAL);
        if (n > 0) {
            r->outoff += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            hc_conn_watch(c, RK_WATCH_READ | RK_WATCH_WRITE);
            return 1;
        } else if (n == 0 || errno != EINTR) {
            c->hc->up->broken(c);
            return 0;
        }
    }
    if (!c->reused || r->retried) { /* never sent again: drop the copy */
        free(r->out);
        r->out = NULL;
    }
    hc_conn_watch(c, RK_WATCH_READ);
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
        c->hc->up->fail(c, RK_ERR_UNAVAILABLE, msg);
        return;
    }
    c->connecting = 0;
    loop_timer_cancel(c->hc->l, c->ctimer);
    c->ctimer = NULL;
    hc_conn_send(c);
}

/* A paused request's socket is not watched: level-triggered readiness
 * would wake the loop for bytes nobody may read yet. */
void hc_conn_unwatch(hc_conn *c)
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
        hc_conn_unwatch(c);
        return;
    }
    if (c->idle) { /* the peer closed it, or sent bytes nobody asked for */
        char b;
        ssize_t n = recv(c->fd, &b, 1, MSG_PEEK);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
        hc_conn_close(c);
        return;
    }
    if (!c->req) { /* neither idle nor in use: out of step, never reused */
        hc_conn_close(c);
        return;
    }
    if ((ev & RK_WATCH_WRITE) && !hc_conn_send(c)) return;
    if (ev & RK_WATCH_READ) hc_conn_read(c);
}

static void ctimer_fire(void *ud)
{
    hc_conn *c = ud;
    char msg[160];
    c->ctimer = NULL;
    snprintf(msg, sizeof msg, "connect to %s timed out after %lld ms", c->req->where,
             (long long)(c->req->connect_us / 1000));
    c->hc->up->fail(c, RK_ERR_TIMEOUT, msg);
}

/* A connection to sa on fd, watched (and timed while connecting); the
 * caller attaches its request. It takes no request: the analyzer then sees
 * that a failure here leaves the request as it was. */
hc_conn *hc_conn_new(httpc *hc, const struct sockaddr_storage *sa, socklen_t salen,
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

hc_conn *hc_pool_take(httpc *hc, const struct sockaddr_storage *sa, socklen_t len)
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

