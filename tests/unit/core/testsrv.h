/*
 * testsrv — a tiny HTTP/1.1 server for unit tests, on 127.0.0.1 and an
 * ephemeral port, one thread per connection, keep-alive. The path picks the
 * behaviour:
 *   /fixed?n=N        200, Content-Length N, bytes 'a'+i%26
 *   /echo             200, the request body back; X-Echo: the X-Test header,
 *                     X-Method: the method
 *   /chunked?n=N&gap=G&stall=S
 *                     200 chunked, N chunks "chunk-<i>\n", G ms before each
 *                     one after the first, S ms before the last chunk
 *   /delay?ms=D       D ms before the status line, then "ok"
 *   /close?n=N        Content-Length N, N/2 bytes, then close
 *   /429              429 with Retry-After: 7
 *   /continue         100 Continue, then 200 "ok"
 * Every sleep ends early when the server stops; testsrv_stop joins every
 * thread it started.
 */
#ifndef RK_TESTSRV_H
#define RK_TESTSRV_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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

typedef struct tsrv_conn {
    struct testsrv *s;
    int fd;
    pthread_t t;
    atomic_int done;
    struct tsrv_conn *next;
} tsrv_conn;

typedef struct testsrv {
    int fd, port;
    pthread_t t;
    atomic_int stop, accepted;
    tsrv_conn *conns;
} testsrv;

/* Sleep ms, in steps, unless the server stops: 0 slept, -1 stopped. */
static int tsrv_sleep(testsrv *s, long ms)
{
    for (long left = ms; left > 0; left -= 10) {
        if (atomic_load(&s->stop)) return -1;
        struct timespec ts = {0, (left < 10 ? left : 10) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return atomic_load(&s->stop) ? -1 : 0;
}

static int tsrv_send(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static long tsrv_arg(const char *path, const char *key, long dflt)
{
    char pat[32];
    snprintf(pat, sizeof pat, "%s=", key);
    const char *q = strchr(path, '?');
    for (const char *p = q; p; p = strchr(p + 1, '&')) {
        if (strncmp(p + 1, pat, strlen(pat)) == 0)
            return strtol(p + 1 + strlen(pat), NULL, 10);
    }
    return dflt;
}

/* Value of header `name` in the request head, copied into out. */
static void tsrv_header(const char *head, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        size_t n = strlen(name);
        if (strncasecmp(p + 2, name, n) != 0 || p[2 + n] != ':') continue;
        const char *v = p + 3 + n, *e = strstr(v, "\r\n");
        while (*v == ' ') v++;
        snprintf(out, cap, "%.*s", (int)(e ? e - v : 0), v);
        return;
    }
}

static int tsrv_chunked(testsrv *s, int fd, const char *path)
{
    long n = tsrv_arg(path, "n", 3), gap = tsrv_arg(path, "gap", 0),
         stall = tsrv_arg(path, "stall", 0);
    const char *h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                    "Content-Type: text/plain\r\n\r\n";
    if (tsrv_send(fd, h, strlen(h)) < 0) return -1;
    for (long i = 0; i < n; i++) {
        char chunk[64], line[16];
        if (i > 0 && tsrv_sleep(s, gap) < 0) return -1;
        int len = snprintf(chunk, sizeof chunk, "chunk-%ld\n", i);
        int hl = snprintf(line, sizeof line, "%x\r\n", len);
        if (tsrv_send(fd, line, (size_t)hl) < 0 || tsrv_send(fd, chunk, (size_t)len) < 0 ||
            tsrv_send(fd, "\r\n", 2) < 0)
            return -1;
    }
    if (tsrv_sleep(s, stall) < 0) return -1;
    return tsrv_send(fd, "0\r\n\r\n", 5);
}

static int tsrv_reply(int fd, const char *status, const char *extra,
                      const char *body, size_t len)
{
    char head[1024];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %s\r\nContent-Length: %zu\r\n%s\r\n",
                     status, len, extra ? extra : "");
    if (tsrv_send(fd, head, (size_t)n) < 0) return -1;
    return tsrv_send(fd, body, len);
}

/* Serve one request; 0 keeps the connection, -1 closes it. */
static int tsrv_serve(testsrv *s, int fd, const char *head, const char *body,
                      size_t blen)
{
    char method[16] = "", path[512] = "", extra[512], v[256];
    sscanf(head, "%15s %511s", method, path);
    if (strncmp(path, "/fixed", 6) == 0 || strncmp(path, "/close", 6) == 0) {
        size_t n = (size_t)tsrv_arg(path, "n", 10), send_n = n;
        char *b = malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++) b[i] = (char)('a' + i % 26);
        if (path[1] == 'c') send_n = n / 2;
        char hd[128];
        int hl = snprintf(hd, sizeof hd, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
        int rc = tsrv_send(fd, hd, (size_t)hl) < 0 || tsrv_send(fd, b, send_n) < 0;
        free(b);
        return path[1] == 'c' || rc ? -1 : 0;
    }
    if (strncmp(path, "/echo", 5) == 0) {
        tsrv_header(head, "X-Test", v, sizeof v);
        snprintf(extra, sizeof extra, "X-Echo: %s\r\nX-Method: %s\r\n", v, method);
        return tsrv_reply(fd, "200 OK", extra, body, blen);
    }
    if (strncmp(path, "/chunked", 8) == 0) return tsrv_chunked(s, fd, path);
    if (strncmp(path, "/delay", 6) == 0) {
        if (tsrv_sleep(s, tsrv_arg(path, "ms", 100)) < 0) return -1;
        return tsrv_reply(fd, "200 OK", NULL, "ok", 2);
    }
    if (strncmp(path, "/429", 4) == 0)
        return tsrv_reply(fd, "429 Too Many Requests",
                          "Retry-After: 7\r\nContent-Type: application/json\r\n",
                          "{\"error\":\"slow down\"}", 21);
    if (strncmp(path, "/continue", 9) == 0) {
        if (tsrv_send(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0) return -1;
        return tsrv_reply(fd, "200 OK", "X-Final: yes\r\n", "ok", 2);
    }
    return tsrv_reply(fd, "404 Not Found", NULL, "", 0);
}

/* Read until the head and its Content-Length body are in buf. */
static ssize_t tsrv_read_request(testsrv *s, int fd, char *buf, size_t cap,
                                 size_t *have, size_t *head_len, size_t *body_len)
{
    for (;;) {
        char *end = memmem(buf, *have, "\r\n\r\n", 4);
        if (end) {
            char cl[32];
            *head_len = (size_t)(end - buf) + 4;
            buf[*head_len - 2] = '\0';
            tsrv_header(buf, "Content-Length", cl, sizeof cl);
            buf[*head_len - 2] = '\r';
            *body_len = (size_t)strtoul(cl, NULL, 10);
            if (*head_len + *body_len > cap) return -1;
            if (*have >= *head_len + *body_len) return 0;
        }
        if (*have >= cap) return -1;
        ssize_t r = recv(fd, buf + *have, cap - *have, 0);
        if (r == 0) return -1;
        if (r < 0 && (errno == EAGAIN || errno == EINTR) && !atomic_load(&s->stop))
            continue;
        if (r < 0) return -1;
        *have += (size_t)r;
    }
}

static void *tsrv_conn_main(void *arg)
{
    tsrv_conn *c = arg;
    size_t cap = 1 << 20, have = 0, hl, bl;
    char *buf = malloc(cap + 1);
    while (buf && tsrv_read_request(c->s, c->fd, buf, cap, &have, &hl, &bl) == 0) {
        char save = buf[hl - 2];
        buf[hl - 2] = '\0';
        int rc = tsrv_serve(c->s, c->fd, buf, buf + hl, bl);
        buf[hl - 2] = save;
        if (rc < 0) break;
        memmove(buf, buf + hl + bl, have - hl - bl);
        have -= hl + bl;
    }
    free(buf);
    close(c->fd);
    atomic_store(&c->done, 1);
    return NULL;
}

static void tsrv_reap(testsrv *s, int all)
{
    for (tsrv_conn **pp = &s->conns; *pp;) {
        tsrv_conn *c = *pp;
        if (!all && !atomic_load(&c->done)) {
            pp = &c->next;
            continue;
        }
        pthread_join(c->t, NULL);
        *pp = c->next;
        free(c);
    }
}

static void *tsrv_accept_main(void *arg)
{
    testsrv *s = arg;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        tsrv_reap(s, 0);
        if (poll(&pfd, 1, 50) <= 0) continue;
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0) continue;
        struct timeval tv = {0, 50000}; /* recv wakes up to notice stop */
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        tsrv_conn *c = calloc(1, sizeof *c);
        c->s = s;
        c->fd = fd;
        if (pthread_create(&c->t, &attr, tsrv_conn_main, c) != 0) {
            close(fd);
            free(c);
            continue;
        }
        atomic_fetch_add(&s->accepted, 1);
        c->next = s->conns;
        s->conns = c;
    }
    pthread_attr_destroy(&attr);
    tsrv_reap(s, 1);
    return NULL;
}

static int testsrv_start(testsrv *s)
{
    memset(s, 0, sizeof *s);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        listen(s->fd, 1024) < 0 || getsockname(s->fd, (struct sockaddr *)&a, &alen) < 0)
        return -1;
    s->port = ntohs(a.sin_port);
    return pthread_create(&s->t, NULL, tsrv_accept_main, s) == 0 ? 0 : -1;
}

static void testsrv_stop(testsrv *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->t, NULL);
    close(s->fd);
}

/* A port nothing listens on: bound, then closed. */
static inline int testsrv_dead_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

#endif
