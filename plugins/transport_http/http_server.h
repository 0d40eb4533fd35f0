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

#include "http_chat_parse.h"
#include "http_metrics.h"
#include "http_req.h"

struct http_server {
    const rk_host *host;
    rk_instance *self;
    /* the host's role services (services.h), looked up in server_create */
    const rk_chat_service *chat;     /* required */
    const rk_status_service *status; /* required */
    const rk_docs_service *docs;     /* NULL: the host has no documents */
    const rk_auth_service *auth;     /* NULL: no keys (every caller is default) */
    const rk_limits_service *limits; /* NULL: no per-key limits */
    const rk_listen_service *listen; /* NULL: MHD binds (no handoff on reload) */
    const rk_conv_service *convs;    /* NULL: a host without it (501) */

    /* configuration (validated in server_create) */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    unsigned threads;
    unsigned max_connections;
    unsigned timeout_s;        /* idle; 0 = none */
    unsigned header_timeout_s; /* until a request's headers are in */
    unsigned max_per_ip;       /* connections from one address */
    size_t max_body;
    size_t async_over; /* documents_async_over: uploads over it get 202 */
    size_t conn_memory;
    const char *request_id_header; /* host-owned */
    int auth_by_proxy;   /* beyond loopback without keys, warned about */
    int public_health;   /* /health answers without a key */
    int public_ready;    /* /ready answers without a key (else admin) */
    int public_metrics;  /* /metrics answers without a key (else admin) */
    chat_limits chat_limits; /* what one chat request may hold */
    struct http_assets *ui;  /* the web UI's files; NULL = off */

    struct MHD_Daemon *daemon; /* the (first) daemon: bound address */
    struct http_loops *loops;  /* one daemon per host loop, or NULL */
    unsigned n_daemons;
    char listening[128];

    /* the requests in flight: linked and unlinked by http_req, waited
     * for by http_drain */
    pthread_mutex_t mu;  /* guards reqs, n_reqs, aborting */
    pthread_cond_t idle; /* signalled whenever a request is freed */
    http_req *reqs;
    size_t n_reqs;
    int aborting;        /* stop passed its deadline: new requests abort */
    atomic_int draining; /* stop began: answers close their connection */
    atomic_int n_conns;  /* open client connections, all daemons */
    _Atomic int64_t last_active_ms; /* host ms: last new connection/request */

    http_metrics metrics;
};

int server_create(const rk_host *host, rk_instance *self, http_server **out,
                  rk_err *err);
int server_start(http_server *s, rk_err *err);
/* rk_plugin.check: create's and start's refusals without creating. */
int server_check(const rk_host *host, rk_instance *self, rk_err *err);
void server_stop(http_server *s, int64_t deadline_ms);
void server_destroy(http_server *s);
int server_listening(http_server *s, char *buf, size_t cap);

#endif
