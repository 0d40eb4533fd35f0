/*
 * httpc_impl — what the two layers of the loop's own HTTP client share:
 * httpc.c (requests: starting, the response handed on, retry, pause,
 * cancel) and httpc_conn.c (connections: sockets, the keep-alive pool,
 * reading and writing). The request layer calls the connection layer
 * directly; the connection layer calls back up only through the httpc's
 * upcall table, so neither file depends on the other in a loop. Loop
 * thread only; no other module includes it.
 */
#ifndef RK_CORE_HTTPC_IMPL_H
#define RK_CORE_HTTPC_IMPL_H

#include <stdint.h>
#include <sys/socket.h>

#include "httpc.h"
#include "httprd.h"
#include "loop_internal.h"

typedef struct hc_conn hc_conn;

/* What a connection tells its request layer (httpc.c). */
typedef struct hc_upcalls {
    /* bytes arrived in c->rbuf: 1 while the request goes on on c, 0 once
     * it ended (c may be gone) */
    int (*process)(hc_conn *c);
    void (*eof)(hc_conn *c);    /* the peer closed c */
    void (*broken)(hc_conn *c); /* a send or receive failed */
    void (*fail)(hc_conn *c, int status, const char *msg);
} hc_upcalls;

#define RBUF_MIN 8192     /* read buffer of a connection */
#define IDLE_MAX 1024     /* idle connections kept per loop */


typedef struct hc_pool {
    struct sockaddr_storage sa;
    socklen_t salen;
    int nconn;               /* connections of this target, idle or busy */
    struct hc_conn *idle;    /* most recently used first */
    struct hc_pool *next;
} hc_pool;

struct hc_conn {
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
};

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
    httprd rd;               /* the response being read */
    int got_bytes, retried, in_cb, dead, starting;
    int paused;              /* the reader is full: leave the socket unread */
    rk_timer *etimer;        /* a failure found while starting */
    rk_timer *rtimer;        /* resuming: hand on buffered bytes next turn */
    int estatus;
    char emsg[160];
};

struct httpc {
    loop *l;
    const hc_upcalls *up; /* httpc.c's request layer */
    hc_pool *pools;
    hc_conn *all;
    int nidle;
    httpmsg_fields fields; /* of the response head being handed on */
};


/* ---- httpc_conn.c --------------------------------------------------------- */

/* A connection to sa on fd, watched (and timed while connecting); the
 * caller attaches its request. NULL when out of memory. */
hc_conn *hc_conn_new(httpc *hc, const struct sockaddr_storage *sa, socklen_t salen,
                     int64_t connect_us, int fd, int connecting);
/* An idle connection to sa, taken out of the pool, or NULL. */
hc_conn *hc_pool_take(httpc *hc, const struct sockaddr_storage *sa, socklen_t len);
/* Close and free c (its request, if any, must be detached first). */
void hc_conn_close(hc_conn *c);
/* c's request ended cleanly: keep it alive in the pool (or close it). */
void hc_conn_idle(hc_conn *c);
/* Watch c for ev (RK_WATCH_*); one unwatched by a pause is watched anew. */
void hc_conn_watch(hc_conn *c, uint32_t ev);
/* Stop watching c (a paused request's socket is left unread). */
void hc_conn_unwatch(hc_conn *c);
/* Write what is left of the request: 1 while c goes on with it. */
int hc_conn_send(hc_conn *c);
/* Read until the response ends or the socket is drained. */
void hc_conn_read(hc_conn *c);

#endif
