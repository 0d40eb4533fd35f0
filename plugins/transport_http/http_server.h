/*
 * http_server — the transport instance: configuration, the libmicrohttpd
 * daemons (one per host loop, see http_loops, or one with its own
 * threads), routing, and the list of requests in flight (for draining on
 * stop). Other modules reach the host through srv->host / srv->self.
 */
#ifndef RK_HTTP_SERVER_H
#define RK_HTTP_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/socket.h>

#include <ragkernel/ragkernel.h>

#include "http_metrics.h"
#include "http_req.h"

struct http_server {
    const rk_host *host;
    rk_instance *self;

    /* configuration (validated in server_create) */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    unsigned threads;
    unsigned max_connections;
    unsigned timeout_s;
    size_t max_body;
    size_t conn_memory;
    const char *request_id_header; /* host-owned */
    int public_health;   /* /health answers without a key */
    int public_ready;    /* /ready answers without a key (else admin) */
    int public_metrics;  /* /metrics answers without a key (else admin) */

    struct MHD_Daemon *daemon; /* the (first) daemon: bound address */
    struct http_loops *loops;  /* one daemon per host loop, or NULL */
    unsigned n_daemons;
    char listening[128];

    pthread_mutex_t mu;  /* guards reqs, n_reqs, aborting */
    pthread_cond_t idle; /* signalled whenever a request is freed */
    http_req *reqs;
    size_t n_reqs;
    int aborting;        /* stop passed its deadline: new requests abort */
    atomic_int draining; /* stop began: answers close their connection */

    http_metrics metrics;
};

int server_create(const rk_host *host, rk_instance *self, http_server **out,
                  rk_err *err);
int server_start(http_server *s, rk_err *err);
/* Any thread that may run MHD: a daemon with the instance's options, the
 * address s->addr (SO_REUSEPORT) and max_connections / n connections.
 * NULL on failure (MHD logged why). */
struct MHD_Daemon *server_mhd_start(http_server *s, unsigned flags, unsigned n);
void server_stop(http_server *s, int64_t deadline_ms);
void server_destroy(http_server *s);
int server_listening(http_server *s, char *buf, size_t cap);

/* http_req's view of the request list (locks srv->mu). */
void server_add_req(http_server *s, http_req *r);
void server_remove_req(http_server *s, http_req *r);

#endif
