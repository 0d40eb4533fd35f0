/*
 * http_req — owns the per-request state and the one rule that makes
 * suspend/resume safe across threads: our own `suspended` flag, changed only
 * under r->mu together with the MHD call. MHD_resume_connection on a
 * connection that is not suspended is undefined behaviour, and a resume that
 * runs ahead of its suspend is lost; because the MHD thread suspends with
 * r->mu held before the host call can even start, and a host callback only
 * resumes what it sees suspended under the same mutex, neither can happen.
 * The request is freed by whichever of "MHD finished" and "on_done arrived"
 * comes second, so neither side can touch freed memory. A request also
 * links itself into and out of its server's list of requests in flight
 * (what a stop drains), and kicks the daemon serving it through http_wake,
 * so that it depends on neither the server's lifecycle nor the loops'.
 */
#include "http_req.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "http_server.h"
#include "http_wake.h"

#define PEEK_INTERVAL_MS 250

/* splitmix64 per thread, seeded from the kernel: ids need to be unique and
 * unguessable enough for logs, not cryptographic. */
static uint64_t rand64(void)
{
    static __thread uint64_t state;
    static __thread int seeded;
    if (!seeded) {
        if (getrandom(&state, sizeof state, 0) != (ssize_t)sizeof state)
            state = (uint64_t)(uintptr_t)&state ^ (uint64_t)time(NULL);
        seeded = 1;
    }
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void req_random_hex(char *out, size_t nbytes)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t v = 0;
    for (size_t i = 0; i < nbytes; i++) {
        if (i % 8 == 0)
            v = rand64();
        unsigned char b = (unsigned char)(v >> (8 * (i % 8)));
        out[2 * i] = hex[b >> 4];
        out[2 * i + 1] = hex[b & 15];
    }
    out[2 * nbytes] = '\0';
}

/* A client-supplied id is echoed into our logs and headers: accept only a
 * short token of safe characters, else make our own. */
static int id_is_sane(const char *v)
{
    size_t n = 0;
    for (; v[n]; n++) {
        unsigned char c = (unsigned char)v[n];
        if (n >= HTTP_REQ_ID_MAX - 1)
            return 0;
        if (!isalnum(c) && !strchr("-_.:/+=@", c))
            return 0;
    }
    return n > 0;
}

/* The request list of the server (r->prev/next): counted for draining and
 * born with the server's abort state. */
static void list_add(http_server *s, http_req *r)
{
    pthread_mutex_lock(&s->mu);
    r->next = s->reqs;
    if (s->reqs)
        s->reqs->prev = r;
    s->reqs = r;
    s->n_reqs++;
    atomic_store(&s->last_active_ms, s->host->now_ms());
    /* set under s->mu so abort_all cannot miss a request being born */
    r->stopping = s->aborting;
    pthread_mutex_unlock(&s->mu);
}

static void list_remove(http_server *s, http_req *r)
{
    pthread_mutex_lock(&s->mu);
    if (r->prev)
        r->prev->next = r->next;
    else
        s->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    s->n_reqs--;
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
}

http_req *req_new(http_server *s, struct MHD_Connection *conn)
{
    /* malloc, not calloc: glibc's calloc skips its per-thread cache */
    http_req *r = malloc(sizeof *r);
    if (r)
        *r = (http_req){0};
    if (!r)
        return NULL;
    if (pthread_mutex_init(&r->mu, NULL) != 0) {
        free(r);
        return NULL;
    }
    r->srv = s;
    r->conn = conn;
    r->wake = wake_current();
    r->route = ROUTE_OTHER;
    r->start_ms = s->host->now_ms();
    /* a client that just sent its request is there: the first look is
     * due one interval later, so a quick answer costs no extra recv() */
    r->peeked_ms = r->start_ms;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    r->fd = ci ? ci->connect_fd : -1;
    const char *hv = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 s->request_id_header);
    if (hv && id_is_sane(hv))
        memcpy(r->id, hv, strlen(hv) + 1);
    else
        req_random_hex(r->id, 16);
    list_add(s, r);
    return r;
}

int req_suspend_locked(http_req *r)
{
    if (r->stopping)
        return -1;
    if (!r->suspended) {
        r->suspended = 1;
        MHD_suspend_connection(r->conn);
    }
    return 0;
}

void req_wake_locked(http_req *r)
{
    if (r->suspended) {
        r->suspended = 0;
        MHD_resume_connection(r->conn);
        wake_kick(r->wake);
    }
}

int req_client_gone_locked(http_req *r)
{
    /* only while suspended: then MHD keeps the socket open and untouched,
     * so the fd is still this client's */
    if (!r->suspended || r->fd < 0)
        return 0;
    int64_t now = r->srv->host->now_ms();
    if (now - r->peeked_ms < PEEK_INTERVAL_MS)
        return 0;
    r->peeked_ms = now;
    char c;
    ssize_t n = recv(r->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        return 1; /* orderly close: HTTP clients do not half-close */
    return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

int req_async_end_locked(http_req *r)
{
    r->pending = 0;
    if (r->completed)
        return 1;
    req_wake_locked(r);
    return 0;
}

void req_completed(http_req *r, enum MHD_RequestTerminationCode toe)
{
    http_server *s = r->srv;
    double secs = (double)(s->host->now_ms() - r->start_ms) / 1000.0;
    hm_request(&s->metrics, r->route, r->method, r->status, secs);
    if (r->stream)
        hm_streams(&s->metrics, -1);
    s->host->log(s->self, RK_LOG_DEBUG, "request %s %s status=%d ms=%lld%s",
                 r->id, route_label(r->route), r->status,
                 (long long)(secs * 1000),
                 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK
                     ? ""
                     : " (connection ended early)");

    pthread_mutex_lock(&r->mu);
    r->completed = 1;
    r->suspended = 0; /* MHD only completes connections it is running */
    /* cancel with the mutex held: on_done, which needs it, cannot run and
     * invalidate the host's chat handle while cancel uses it. The host
     * never calls back from inside chat_cancel (its on_done follows from
     * the loop later, even when this thread is that loop), so cancel
     * cannot call back into us synchronously. */
    if (r->pending && r->ops && r->ops->cancel)
        r->ops->cancel(r);
    int free_now = !r->pending;
    pthread_mutex_unlock(&r->mu);
    if (free_now)
        req_free(r);
}

void req_free(http_req *r)
{
    if (!r)
        return;
    list_remove(r->srv, r);
    if (r->ops && r->ops->free)
        r->ops->free(r->job);
    hbuf_free(&r->body);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
