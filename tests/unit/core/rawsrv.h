/*
 * rawsrv — a scripted raw TCP server for HTTP client tests: one thread,
 * 127.0.0.1, an ephemeral port, poll() over the listening socket and every
 * accepted connection. Nothing in it speaks HTTP beyond finding the end of a
 * request: it reads a request head and its Content-Length body, records the
 * bytes (with the accept number of the connection they came on), and answers
 * with the next step of the script, byte for byte as given, so a test can
 * serve exactly the malformed, split, truncated or reset responses it needs.
 * Steps are taken in the order requests arrive, whatever the connection; a
 * request past the end of the script gets a 599 and a close, which no test
 * expects. Every write and sleep is bounded (SO_SNDTIMEO, stop checks), so
 * rawsrv_stop always joins the thread promptly.
 */
#ifndef RK_RAWSRV_H
#define RK_RAWSRV_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define RS_MAX_CONNS 64
#define RS_MAX_REQS 64
#define RS_MAX_STEPS 16
#define RS_MAX_BUF (64u << 20) /* a request larger than this is dropped */
#define RS_NONE (-1)
#define RS_EXTRA (-2) /* a request the script has no step for */

/* What happens to the connection once the step's bytes are written:
 * kept open, closed with a FIN or a RST, or half-closed (a FIN, while what
 * the client still sends on it is read and recorded). */
enum { RS_KEEP = 0, RS_CLOSE = 1, RS_RST = 2, RS_HALF = 3 };

typedef struct rs_step {
    const char *resp; /* bytes to write; NULL writes nothing */
    size_t len;       /* 0: strlen(resp) */
    size_t piece;     /* > 0: write in pieces of this many bytes */
    int gap_ms;       /* pause before each piece after the first */
    int after;        /* RS_KEEP, RS_CLOSE, RS_RST, RS_HALF */
    int close_ms;     /* pause between the last byte and the close */
    int gate;         /* answer only once this many requests arrived in all */
} rs_step;

typedef struct rs_req {
    int conn;        /* accept number of its connection, from 0 */
    char *head;      /* request line and headers, CRLFs kept, NUL-terminated */
    char *body;      /* Content-Length bytes, NUL-terminated */
    size_t body_len;
} rs_req;

typedef struct rs_conn {
    int fd, id, step; /* step: RS_NONE, or the step waiting for its gate */
    char *buf;
    size_t len, cap;
} rs_conn;

typedef struct rawsrv {
    int fd, port, started;
    pthread_t t;
    atomic_int stop, accepted, arrived;
    pthread_mutex_t mu; /* reqs and nreqs, read by the test thread */
    rs_step steps[RS_MAX_STEPS]; /* a copy: the caller's may be on its stack */
    int nsteps, next_step, nreqs, nconns;
    rs_req reqs[RS_MAX_REQS];
    rs_conn conns[RS_MAX_CONNS];
} rawsrv;

static const rs_step rs_extra_step = {
    "HTTP/1.1 599 Unscripted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    0, 0, 0, RS_CLOSE, 0, 0};

/* Sleep ms in 5 ms steps unless the server stops: 0 slept, -1 stopped. */
static int rs_sleep(rawsrv *s, int ms)
{
    for (int left = ms; left > 0; left -= 5) {
        if (atomic_load(&s->stop)) return -1;
        struct timespec ts = {0, (left < 5 ? left : 5) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return atomic_load(&s->stop) ? -1 : 0;
}

static int rs_send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Content-Length of a NUL-terminated request head; 0 when absent. */
static size_t rs_content_length(const char *head)
{
    static const char name[] = "\r\ncontent-length:";
    for (const char *p = head; (p = strchr(p, '\r')) != NULL; p++)
        if (strncasecmp(p, name, sizeof name - 1) == 0)
            return (size_t)strtoull(p + sizeof name - 1, NULL, 10);
    return 0;
}

/* Store one parsed request; the caller's copies become the record's. */
static void rs_record(rawsrv *s, rs_conn *c, char *head, char *body, size_t blen)
{
    pthread_mutex_lock(&s->mu);
    if (s->nreqs < RS_MAX_REQS) {
        s->reqs[s->nreqs++] = (rs_req){c->id, head, body, blen};
        head = body = NULL;
    }
    c->step = s->next_step < s->nsteps ? s->next_step++ : RS_EXTRA;
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_add(&s->arrived, 1);
    free(head);
    free(body);
}

/* Take one complete request off c->buf: 1 taken, 0 incomplete, -1 no memory. */
static int rs_take_request(rawsrv *s, rs_conn *c)
{
    char *end = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
    if (!end) return 0;
    size_t hlen = (size_t)(end - c->buf) + 4;
    char *head = strndup(c->buf, hlen - 4);
    if (!head) return -1;
    size_t blen = rs_content_length(head);
    if (c->len - hlen < blen) {
        free(head);
        return 0;
    }
    char *body = malloc(blen + 1);
    if (!body) {
        free(head);
        return -1;
    }
    memcpy(body, c->buf + hlen, blen);
    body[blen] = '\0';
    memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
    c->len -= hlen + blen;
    rs_record(s, c, head, body, blen);
    return 1;
}

/* Read what is there: 0 on data, -1 on EOF, error or an oversized request. */
static int rs_read(rs_conn *c)
{
    if (c->cap - c->len < 65536) {
        size_t cap = c->cap ? c->cap * 2 : 131072;
        char *b = cap <= RS_MAX_BUF ? realloc(c->buf, cap) : NULL;
        if (!b) return -1;
        c->buf = b;
        c->cap = cap;
    }
    ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    if (r <= 0) return -1;
    c->len += (size_t)r;
    return 0;
}

/* Write one step: what to do with the connection (RS_KEEP, ...). */
static int rs_answer(rawsrv *s, rs_conn *c, const rs_step *st)
{
    size_t len = st->resp ? (st->len ? st->len : strlen(st->resp)) : 0;
    size_t piece = st->piece ? st->piece : (len ? len : 1);
    for (size_t off = 0; off < len; off += piece) {
        if (off > 0 && rs_sleep(s, st->gap_ms) < 0) return RS_CLOSE;
        size_t n = len - off < piece ? len - off : piece;
        if (rs_send_all(c->fd, st->resp + off, n) < 0) return RS_CLOSE;
    }
    if (st->after != RS_KEEP && rs_sleep(s, st->close_ms) < 0) return RS_CLOSE;
    return st->after;
}

static void rs_drop(rawsrv *s, int i, int how)
{
    rs_conn *c = &s->conns[i];
    if (how == RS_RST) {
        struct linger lg = {1, 0}; /* close with a RST instead of a FIN */
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(c->fd);
    free(c->buf);
    s->conns[i] = s->conns[--s->nconns];
}

static void rs_accept(rawsrv *s)
{
    int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) return;
    int id = atomic_fetch_add(&s->accepted, 1);
    if (s->nconns == RS_MAX_CONNS) {
        close(fd);
        return;
    }
    int one = 1; /* every piece of a split response leaves as it is written */
    struct timeval tv = {2, 0}; /* a client that stops reading cannot hang us */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    s->conns[s->nconns++] = (rs_conn){fd, id, RS_NONE, NULL, 0, 0};
}

/* Read, parse and answer on connection i as far as the script allows. */
static void rs_service(rawsrv *s, int i, short revents)
{
    rs_conn *c = &s->conns[i];
    if (c->step == RS_NONE && (revents & (POLLIN | POLLHUP | POLLERR)) && rs_read(c) < 0) {
        rs_drop(s, i, RS_CLOSE);
        return;
    }
    if (c->step != RS_NONE && (revents & (POLLHUP | POLLERR))) {
        rs_drop(s, i, RS_CLOSE);
        return;
    }
    for (;;) {
        if (c->step == RS_NONE) {
            int rc = rs_take_request(s, c);
            if (rc < 0) rs_drop(s, i, RS_CLOSE);
            if (rc <= 0) return;
        }
        const rs_step *st = c->step == RS_EXTRA ? &rs_extra_step : &s->steps[c->step];
        if (atomic_load(&s->arrived) < st->gate) return;
        c->step = RS_NONE;
        int how = rs_answer(s, c, st);
        if (how == RS_HALF) {
            shutdown(c->fd, SHUT_WR);
            how = RS_KEEP;
        }
        if (how != RS_KEEP) {
            rs_drop(s, i, how);
            return;
        }
    }
}

static void *rs_main(void *arg)
{
    rawsrv *s = arg;
    struct pollfd p[RS_MAX_CONNS + 1];
    while (!atomic_load(&s->stop)) {
        int n = s->nconns;
        p[0] = (struct pollfd){.fd = s->fd, .events = POLLIN};
        for (int i = 0; i < n; i++) /* a connection waiting on its gate reads nothing */
            p[i + 1] = (struct pollfd){s->conns[i].fd,
                                       s->conns[i].step == RS_NONE ? POLLIN : 0, 0};
        if (poll(p, (nfds_t)n + 1, 10) < 0 && errno != EINTR) break;
        if (p[0].revents & POLLIN) rs_accept(s);
        /* backwards: rs_drop moves the last connection into the freed slot */
        for (int i = n - 1; i >= 0; i--) rs_service(s, i, p[i + 1].revents);
    }
    while (s->nconns > 0) rs_drop(s, s->nconns - 1, RS_CLOSE);
    return NULL;
}

/* Listen on 127.0.0.1 and serve `steps` until stopped. The steps are
 * copied, the response bytes they point to are not: those must outlive
 * rawsrv_stop. A small receive buffer makes large request bodies arrive in
 * pieces. */
static int rawsrv_start(rawsrv *s, const rs_step *steps, int nsteps)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    int one = 1, rcvbuf = 16384;
    memset(s, 0, sizeof *s);
    if (nsteps < 0 || nsteps > RS_MAX_STEPS) return -1;
    if (nsteps > 0) memcpy(s->steps, steps, (size_t)nsteps * sizeof *steps);
    s->nsteps = nsteps;
    pthread_mutex_init(&s->mu, NULL);
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0) return -1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (bind(s->fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(s->fd, 128) < 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &alen) < 0 ||
        pthread_create(&s->t, NULL, rs_main, s) != 0) {
        close(s->fd);
        pthread_mutex_destroy(&s->mu);
        return -1;
    }
    s->port = ntohs(a.sin_port);
    s->started = 1;
    return 0;
}

static void rawsrv_stop(rawsrv *s)
{
    if (!s->started) return;
    atomic_store(&s->stop, 1);
    pthread_join(s->t, NULL);
    close(s->fd);
    for (int i = 0; i < s->nreqs; i++) {
        free(s->reqs[i].head);
        free(s->reqs[i].body);
    }
    pthread_mutex_destroy(&s->mu);
    s->started = 0;
}

static inline int rawsrv_nreqs(rawsrv *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->nreqs;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Request i (in arrival order), or NULL; valid until rawsrv_stop. */
static const rs_req *rawsrv_req(rawsrv *s, int i)
{
    pthread_mutex_lock(&s->mu);
    const rs_req *r = i >= 0 && i < s->nreqs ? &s->reqs[i] : NULL;
    pthread_mutex_unlock(&s->mu);
    return r;
}

/* Value of header `name` in a recorded head, copied into out ("" if absent). */
static void rs_header(const char *head, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    out[0] = '\0';
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, n) != 0 || p[2 + n] != ':') continue;
        const char *v = p + 3 + n, *e = strstr(v, "\r\n");
        while (*v == ' ' || *v == '\t') v++;
        snprintf(out, cap, "%.*s", (int)(e ? (size_t)(e - v) : strlen(v)), v);
        return;
    }
}

#endif
