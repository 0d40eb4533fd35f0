/*
 * fake_upstream — a minimal OpenAI-style upstream for benchmarks: answers
 * every POST with a fixed chat completion, either at once (JSON) or as an
 * SSE stream after a fixed delay. Single thread, epoll, keep-alive; the
 * delay is the same for every request, so a FIFO queue orders the timers.
 *
 *   fake_upstream PORT [DELAY_MS] [stream]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXFD 65536
static char inbuf[MAXFD][1024];
static size_t inlen[MAXFD];

static const char *JSON_BODY =
    "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"created\":1700000000,"
    "\"model\":\"bench\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
    "\"content\":\"The quick brown fox jumps over the lazy dog.\"},\"finish_reason\":"
    "\"stop\"}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":10,\"total_tokens\":20}}";

static const char *SSE_BODY =
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"bench\","
    "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"The quick \"},"
    "\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"bench\","
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"brown fox.\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"bench\","
    "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
    "data: [DONE]\n\n";

static char resp[4096];
static size_t resp_len;

typedef struct pending { int fd; long long due; } pending;
static pending *queue;
static size_t qhead, qtail, qcap = 1 << 17;

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void respond(int fd)
{
    ssize_t w = write(fd, resp, resp_len);
    (void)w;
}

/* Consumes one complete request (headers + Content-Length body): returns 0
 * if none is in yet, 2 for a GET, 1 for anything else. */
static int request_complete(int fd)
{
    char *end = memmem(inbuf[fd], inlen[fd], "\r\n\r\n", 4);
    if (!end) return 0;
    size_t hdr = (size_t)(end - inbuf[fd]) + 4, body = 0;
    char *cl = strcasestr(inbuf[fd], "content-length:");
    if (cl && cl < end) body = strtoul(cl + 15, NULL, 10);
    if (inlen[fd] < hdr + body) return 0;
    int is_get = strncmp(inbuf[fd], "GET ", 4) == 0;
    memmove(inbuf[fd], inbuf[fd] + hdr + body, inlen[fd] - hdr - body);
    inlen[fd] -= hdr + body;
    return is_get ? 2 : 1;
}

static void on_readable(int fd, int delay)
{
    for (;;) {
        ssize_t n = read(fd, inbuf[fd] + inlen[fd], sizeof inbuf[fd] - inlen[fd] - 1);
        if (n <= 0) {
            if (n < 0 && errno == EAGAIN) break;
            close(fd);
            inlen[fd] = 0;
            return;
        }
        inlen[fd] += (size_t)n;
        inbuf[fd][inlen[fd]] = 0;
        int kind;
        while ((kind = request_complete(fd)) != 0) {
            /* readiness probes (GET) are answered at once; POSTs wait */
            if (delay <= 0 || kind == 2) respond(fd);
            else if (qtail - qhead < qcap) queue[qtail++ % qcap] = (pending){fd, now_ms() + delay};
        }
        if (inlen[fd] >= sizeof inbuf[fd] - 1) inlen[fd] = 0; /* oversized: drop */
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fake_upstream PORT [DELAY_MS] [stream]\n");
        return 2;
    }
    int port = atoi(argv[1]), delay = argc > 2 ? atoi(argv[2]) : 0;
    int stream = argc > 3 && strcmp(argv[3], "stream") == 0;
    const char *body = stream ? SSE_BODY : JSON_BODY;
    resp_len = (size_t)snprintf(resp, sizeof resp,
                                "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                                "Connection: keep-alive\r\n\r\n%s",
                                stream ? "text/event-stream" : "application/json", strlen(body), body);
    queue = calloc(qcap, sizeof *queue);
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 4096)) {
        perror("fake_upstream: bind/listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls}, evs[256];
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    for (;;) {
        int timeout = -1;
        if (qhead != qtail) {
            long long d = queue[qhead % qcap].due - now_ms();
            timeout = d < 0 ? 0 : (int)d;
        }
        int n = epoll_wait(ep, evs, 256, timeout);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd != ls) { on_readable(fd, delay); continue; }
            int c;
            while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                if (c >= MAXFD) { close(c); continue; }
                setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                inlen[c] = 0;
                struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
            }
        }
        long long t = now_ms();
        while (qhead != qtail && queue[qhead % qcap].due <= t) respond(queue[qhead++ % qcap].fd);
    }
}
