/*
 * listeners — owns the listening sockets of the process. Why the host
 * holds them and not the transport: a reload starts the new generation's
 * transport beside the old one and then stops the old one. With a socket
 * per generation, the old listener's close resets every connection that
 * the kernel had queued on it (SO_REUSEPORT spreads new connections over
 * all the listeners of a port), and clients of a reload see resets. Here
 * the new generation gets a dup of the very socket the old one accepts
 * from; when the old daemon lets go of its dup, the queue stays where it
 * is and the new daemon accepts from it.
 *
 * The same registry tells a reload apart from a second process: an address
 * that none of our sockets is bound to is first probed without
 * SO_REUSEPORT, which fails while any other socket listens on it (with
 * SO_REUSEPORT alone, a second ragkernel would silently share the port).
 * SO_REUSEADDR on the probe keeps TIME_WAIT leftovers of an earlier run
 * from looking like a live listener.
 */
#define _GNU_SOURCE
#include "listeners.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct lsock {
    struct lsock *next;
    struct sockaddr_storage want;  /* as asked (port 0 = any) */
    struct sockaddr_storage bound; /* getsockname */
    int index;
    int fd;              /* the host's copy; callers get dups */
    char *name;          /* instance that bound it (port-0 matching) */
    const void **groups; /* who uses it now */
    size_t n, cap;
} lsock;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static lsock *g_socks; /* under g_mu */

static unsigned port_of(const struct sockaddr *a)
{
    if (a->sa_family == AF_INET) return ntohs(((const struct sockaddr_in *)a)->sin_port);
    if (a->sa_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)a)->sin6_port);
    return 0;
}

static int same_addr(const struct sockaddr_storage *s, const struct sockaddr *a)
{
    if (s->ss_family != a->sa_family || port_of((const struct sockaddr *)s) != port_of(a))
        return 0;
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *)s)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)a)->sin_addr.s_addr;
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)s;
    const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)a;
    return a->sa_family == AF_INET6 && x->sin6_scope_id == y->sin6_scope_id &&
           memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

void listeners_format(const struct sockaddr *a, char *out, size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (a->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)a)->sin6_addr, ip, sizeof ip);
        snprintf(out, cap, "[%s]:%u", ip, port_of(a));
    } else {
        if (a->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, ip, sizeof ip);
        snprintf(out, cap, "%s:%u", ip, port_of(a));
    }
}

static int used_by(const lsock *e, const void *group)
{
    for (size_t i = 0; i < e->n; i++)
        if (e->groups[i] == group) return 1;
    return 0;
}

/* A socket of another group this caller may share (g_mu held). */
static lsock *find_reusable(const void *group, const char *name, const struct sockaddr *a,
                            int index)
{
    for (lsock *e = g_socks; e; e = e->next) {
        if (e->index != index || used_by(e, group)) continue;
        if (port_of(a) == 0) {
            if (same_addr(&e->want, a) && strcmp(e->name, name) == 0) return e;
        } else if (same_addr(&e->want, a) || same_addr(&e->bound, a)) {
            return e;
        }
    }
    return NULL;
}

static int ours(const struct sockaddr *a)
{
    for (lsock *e = g_socks; e; e = e->next)
        if (same_addr(&e->bound, a)) return 1;
    return 0;
}

static int bind_error(const struct sockaddr *a, int errnum, rk_err *err)
{
    char where[128];
    listeners_format(a, where, sizeof where);
    if (errnum == EADDRINUSE)
        return rk_fail(err, RK_ERR_IO, "address %s is in use by another process", where);
    return rk_fail(err, RK_ERR_IO, "cannot listen on %s: %s", where, strerror(errnum));
}

/* A socket bound to a: reuseport 0 = the probe, 1 = the real listener. */
static int bind_one(const struct sockaddr *a, socklen_t len, int reuseport, rk_err *err)
{
    int fd = socket(a->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return bind_error(a, errno, err);
    int one = 1;
    int ok = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
             (!reuseport || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) == 0) &&
             (a->sa_family != AF_INET6 ||
              setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0) &&
             bind(fd, a, len) == 0;
    if (!ok) {
        int e = errno;
        close(fd);
        return bind_error(a, e, err);
    }
    return fd;
}

/* *out = a new entry with a socket bound to a and listening; RK_OK or the
 * failure's status (nothing left open). */
static int bind_new(const char *name, const struct sockaddr *a, socklen_t len, int index,
                    int backlog, lsock **out, rk_err *err)
{
    if (port_of(a) != 0 && !ours(a)) {
        int probe = bind_one(a, len, 0, err);
        if (probe < 0) return probe;
        close(probe);
    }
    int fd = bind_one(a, len, 1, err);
    if (fd < 0) return fd;
    lsock *e = calloc(1, sizeof *e);
    socklen_t blen = sizeof e->bound;
    if (!e || !(e->name = strdup(name))) {
        free(e);
        close(fd);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    if (listen(fd, backlog > 0 ? backlog : SOMAXCONN) != 0 ||
        getsockname(fd, (struct sockaddr *)&e->bound, &blen) != 0) {
        int rc = bind_error(a, errno, err);
        free(e->name);
        free(e);
        close(fd);
        return rc;
    }
    memcpy(&e->want, a, len < sizeof e->want ? len : sizeof e->want);
    e->index = index;
    e->fd = fd;
    *out = e;
    return RK_OK;
}

static void lsock_free(lsock *e)
{
    close(e->fd);
    free(e->groups);
    free(e->name);
    free(e);
}

/* Record group as a user of e (g_mu held); -1 when out of memory. */
static int add_group(lsock *e, const void *group)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 2;
        const void **g = realloc(e->groups, cap * sizeof *g);
        if (!g) return -1;
        e->groups = g;
        e->cap = cap;
    }
    e->groups[e->n++] = group;
    return 0;
}

int listeners_get(const void *group, const char *name, const struct sockaddr *addr,
                  socklen_t len, int index, int backlog, rk_err *err)
{
    if (!addr || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6) || index < 0 ||
        len > sizeof(struct sockaddr_storage))
        return rk_fail(err, RK_ERR_INVALID, "listen_socket: not an IPv4/IPv6 address");
    pthread_mutex_lock(&g_mu);
    lsock *e = find_reusable(group, name ? name : "", addr, index);
    int fresh = !e;
    int rc = fresh ? bind_new(name ? name : "", addr, len, index, backlog, &e, err) : RK_OK;
    int fd = -1;
    if (rc == RK_OK && (fd = fcntl(e->fd, F_DUPFD_CLOEXEC, 0)) < 0)
        rc = rk_fail(err, RK_ERR_IO, "listen_socket: dup: %s", strerror(errno));
    if (rc == RK_OK && add_group(e, group) != 0) {
        close(fd);
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    if (rc == RK_OK && fresh) {
        e->next = g_socks;
        g_socks = e;
    } else if (rc == RK_OK && backlog > 0) {
        listen(e->fd, backlog); /* this generation's backlog from now on */
    } else if (rc != RK_OK && fresh && e) {
        lsock_free(e);
    }
    pthread_mutex_unlock(&g_mu);
    return rc == RK_OK ? fd : rc;
}

void listeners_release(const void *group)
{
    pthread_mutex_lock(&g_mu);
    for (lsock **p = &g_socks; *p;) {
        lsock *e = *p;
        size_t i = 0;
        while (i < e->n) {
            if (e->groups[i] == group)
                e->groups[i] = e->groups[--e->n];
            else
                i++;
        }
        if (e->n == 0) {
            *p = e->next;
            lsock_free(e);
        } else {
            p = &e->next;
        }
    }
    pthread_mutex_unlock(&g_mu);
}
