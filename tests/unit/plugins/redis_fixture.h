/*
 * redis_fixture — what the cache_redis tests share: the built
 * cache_redis.so, loaded with the real loader and driven through the real
 * host table against a real Redis on 127.0.0.1:$REDIS_PORT
 * (tests/integration/test_cache_redis.sh starts one), a run id that keeps
 * reruns apart, the plugin's metrics, a plain socket to look at what the
 * plugin wrote, and listeners that are not Redis. Header-only: each test
 * program compiles its own copy.
 */
#ifndef RK_TEST_REDIS_FIXTURE_H
#define RK_TEST_REDIS_FIXTURE_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cache_calls.h"
#include "metrics.h"
#include "plugin_harness.h"

#include <ragkernel/ragkernel.h>

static int g_port;     /* REDIS_PORT */
static char g_run[64]; /* unique per run: reruns never see old keys */

/* A started instance on `port` with key prefix "rkt:<run>:<tag>:"; extra
 * is more YAML mapping entries (", key: value ..."). start() works also
 * with Redis down; how long it took is in h->start_ms. */
static inline void h_open(ph *h, const char *name, const char *tag, int port, const char *extra)
{
    char yaml[512];
    snprintf(yaml, sizeof yaml, "{port: %d, prefix: \"rkt:%s:%s:\"%s}", port, g_run, tag,
             extra ? extra : "");
    ph_open(h, "cache_redis", RK_KIND_CACHE, name, yaml);
    ph_start(h);
}

typedef struct got {
    char *data;
    size_t len;
    int calls;
} got;

static inline void on_value(void *ud, const void *data, size_t len)
{
    got *g = ud;
    g->calls++;
    free(g->data);
    g->data = malloc(len + 1);
    memcpy(g->data, data, len);
    g->len = len;
}

static inline int get_bin(ph *h, const void *key, size_t klen, got *g, rk_err *err)
{
    free(g->data);
    memset(g, 0, sizeof *g);
    int rc = h->cache->get(h->ctx, key, klen, on_value, g, err);
    ck_assert_int_eq(g->calls, rc == RK_OK ? 1 : 0);
    return rc;
}

static inline int get_str(ph *h, const char *key, got *g)
{
    rk_err err = {{0}};
    return get_bin(h, key, strlen(key), g, &err);
}

static inline void set_str(ph *h, const char *key, const char *val, int64_t ttl)
{
    rk_err err = {{0}};
    int rc = h->cache->set(h->ctx, key, strlen(key), val, strlen(val), ttl, &err);
    ck_assert_msg(rc == RK_OK, "set %s: %s", key, err.msg);
}

static inline int is(const got *g, const char *val)
{
    return g->calls == 1 && g->len == strlen(val) && memcmp(g->data, val, g->len) == 0;
}

static inline double metric(rk_metric_type type, const char *name, const char *inst)
{
    char labels[96];
    snprintf(labels, sizeof labels, "instance=\"%s\"", inst);
    return metrics_value(metrics_get(type, name, "", labels));
}

#define M_UP "ragkernel_cache_redis_up"
#define M_ERR "ragkernel_cache_redis_errors_total"

/* ---- a plain socket to Redis, to look at what the plugin wrote ----------- */

static inline int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Sends one inline command (no spaces in arguments) and returns the first
 * reply line, e.g. ":1234" or "+OK", in line. */
static inline void raw(const char *cmd, char *line, size_t cap)
{
    int fd = dial(g_port);
    ck_assert_msg(fd >= 0, "cannot connect to redis on %d", g_port);
    char buf[512];
    int n = snprintf(buf, sizeof buf, "%s\r\n", cmd);
    ck_assert_int_eq(write(fd, buf, (size_t)n), n);
    size_t len = 0;
    while (len < cap - 1 && (len == 0 || line[len - 1] != '\n')) {
        ssize_t r = read(fd, line + len, 1);
        if (r <= 0)
            break;
        len++;
    }
    line[len] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    close(fd);
}

/* ---- listeners that are not Redis -------------------------------------- */

static inline int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static inline int port_of(int fd)
{
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &l);
    return ntohs(a.sin_port);
}

#endif
