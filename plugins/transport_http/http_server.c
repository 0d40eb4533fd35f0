/*
 * http_server — owns the libmicrohttpd daemons and their lifecycle: reading
 * and checking the instance config, binding (one external-epoll daemon per
 * host loop through http_loops when the host offers loops, else MHD's own
 * epoll thread pool; suspend/resume; an explicit connection limit because
 * MHD's default is FD_SETSIZE-4 even with epoll; the per-client limits of
 * http_limits), reporting the bound
 * address, and draining on stop. Draining matters because MHD aborts the
 * process if it is stopped while a connection is suspended, so every
 * request we suspended must be resumed (and every host call it started must
 * end) first. It also refuses to listen beyond loopback while no API keys
 * are configured: an open port that answers anyone with every tenant's
 * documents is a mistake we would rather stop at start-up than discover
 * later.
 */
#include "http_server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <microhttpd.h>

#include "http_assets.h"
#include "http_drain.h"
#include "http_limits.h"
#include "http_loops.h"
#include "http_router.h"
#include "http_static.h"


/* "host:port", "[v6]:port", ":port"; port 0 = ephemeral. */
static int parse_listen(http_server *s, const char *spec, rk_err *err)
{
    char host[256];
    const char *port;
    if (spec[0] == '[') {
        const char *end = strchr(spec, ']');
        if (!end || end[1] != ':' || (size_t)(end - spec - 1) >= sizeof host)
            return rk_fail(err, RK_ERR_CONFIG, "listen: bad address '%s'", spec);
        memcpy(host, spec + 1, (size_t)(end - spec - 1));
        host[end - spec - 1] = '\0';
        port = end + 2;
    } else {
        const char *colon = strrchr(spec, ':');
        if (!colon || (size_t)(colon - spec) >= sizeof host)
            return rk_fail(err, RK_ERR_CONFIG,
                           "listen: expected host:port, got '%s'", spec);
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
        port = colon + 1;
    }
    char *end;
    errno = 0;
    unsigned long p = strtoul(port, &end, 10);
    if (!*port || *end || errno || p > 65535)
        return rk_fail(err, RK_ERR_CONFIG, "listen: bad port in '%s'", spec);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
    if (rc != 0 || !ai)
        return rk_fail(err, RK_ERR_CONFIG, "listen: cannot resolve '%s': %s",
                       spec, gai_strerror(rc));
    memcpy(&s->addr, ai->ai_addr, ai->ai_addrlen);
    s->addrlen = ai->ai_addrlen;
    freeaddrinfo(ai);
    return RK_OK;
}

static int read_config(http_server *s, rk_err *err)
{
    const rk_host *h = s->host;
    char where[160];
    const char *listen = h->cfg_string(s->self, "listen");
    rk_err lerr = {{0}};
    if (parse_listen(s, listen ? listen : "127.0.0.1:8080", &lerr) < 0)
        return rk_fail(err, RK_ERR_CONFIG, "%s: %s",
                       h->cfg_where(s->self, "listen", where, sizeof where),
                       lerr.msg);
    int64_t threads = h->cfg_int(s->self, "threads");
    int64_t maxc = h->cfg_int(s->self, "max_connections");
    int64_t body = h->cfg_int(s->self, "max_body");
    int64_t tmo = h->cfg_int(s->self, "connection_timeout");
    int64_t mem = h->cfg_int(s->self, "connection_memory");
    if (threads < 1 || threads > 1024)
        return rk_fail(err, RK_ERR_CONFIG, "%s: threads must be 1..1024",
                       h->cfg_where(s->self, "threads", where, sizeof where));
    if (maxc < 1 || maxc > 1000000)
        return rk_fail(err, RK_ERR_CONFIG,
                       "%s: max_connections must be 1..1000000",
                       h->cfg_where(s->self, "max_connections", where,
                                    sizeof where));
    if (body < 1 || body > ((int64_t)1 << 32))
        return rk_fail(err, RK_ERR_CONFIG, "%s: max_body must be 1..4GiB",
                       h->cfg_where(s->self, "max_body", where, sizeof where));
    if (mem < 4096 || mem > ((int64_t)1 << 30))
        return rk_fail(err, RK_ERR_CONFIG,
                       "%s: connection_memory must be 4k..1GiB",
                       h->cfg_where(s->self, "connection_memory", where,
                                    sizeof where));
    if (tmo < 0 || tmo > (int64_t)86400000)
        return rk_fail(err, RK_ERR_CONFIG,
                       "%s: connection_timeout must be 0..24h",
                       h->cfg_where(s->self, "connection_timeout", where,
                                    sizeof where));
    s->threads = (unsigned)threads;
    s->max_connections = (unsigned)maxc;
    s->max_body = (size_t)body;
    int64_t async_over = h->cfg_int(s->self, "documents_async_over");
    s->async_over = async_over > 0 ? (size_t)async_over : 0;
    s->timeout_s = (unsigned)((tmo + 999) / 1000);
    s->conn_memory = (size_t)mem;
    s->request_id_header = h->cfg_string(s->self, "request_id_header");
    if (!s->request_id_header || !s->request_id_header[0])
        s->request_id_header = "X-Request-Id";
    s->auth_by_proxy = h->cfg_bool(s->self, "auth_by_proxy");
    s->public_health = h->cfg_bool(s->self, "public_health");
    s->public_ready = h->cfg_bool(s->self, "public_ready");
    s->public_metrics = h->cfg_bool(s->self, "public_metrics");
    return limits_read_config(s, err);
}

int server_create(const rk_host *host, rk_instance *self, http_server **out,
                  rk_err *err)
{
    http_server *s = calloc(1, sizeof *s);
    if (!s)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    s->host = host;
    s->self = self;
    s->chat = RK_SERVICE(host, self, rk_chat_service, RK_SERVICE_CHAT, embed_start);
    s->status = RK_SERVICE(host, self, rk_status_service, RK_SERVICE_STATUS, render_metrics);
    s->docs = RK_SERVICE(host, self, rk_docs_service, RK_SERVICE_DOCUMENTS, doc_delete);
    s->auth = RK_SERVICE(host, self, rk_auth_service, RK_SERVICE_AUTH, authenticate);
    s->limits = RK_SERVICE(host, self, rk_limits_service, RK_SERVICE_LIMITS, rate_limit);
    s->listen = RK_SERVICE(host, self, rk_listen_service, RK_SERVICE_LISTEN, listen_socket);
    s->convs = RK_SERVICE(host, self, rk_conv_service, RK_SERVICE_CONVERSATIONS, conv_delete);
    if (!s->chat || !s->status) {
        const char *missing = s->chat ? RK_SERVICE_STATUS : RK_SERVICE_CHAT;
        free(s);
        return rk_fail(err, RK_ERR_UNSUPPORTED,
                       "the host offers no \"%s\" service to this instance (host ABI %u.%u)",
                       missing, (unsigned)host->abi_major, (unsigned)host->abi_minor);
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->idle, NULL);
    atomic_init(&s->draining, 0);
    atomic_init(&s->n_conns, 0);
    atomic_init(&s->last_active_ms, 0);
    int rc = read_config(s, err);
    if (rc == RK_OK)
        rc = static_open(s, err);
    if (rc < 0) {
        server_destroy(s);
        return rc;
    }
    hm_init(&s->metrics, host);
    *out = s;
    return RK_OK;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    http_server *s = cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    /* mostly clients that went away mid-answer: not worth a warning; real
     * failures (bind, out of memory) also fail start() or the request */
    s->host->log(s->self, RK_LOG_INFO, "libmicrohttpd: %s", line);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    http_req *r = *con_cls;
    *con_cls = NULL;
    if (r && r != STATIC_NUL_PATH) /* MHD ended it before the router ran */
        req_completed(r, toe);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **sctx,
                          enum MHD_ConnectionNotificationCode code)
{
    http_server *s = cls;
    int opened = code == MHD_CONNECTION_NOTIFY_STARTED;
    atomic_fetch_add(&s->n_conns, opened ? 1 : -1);
    if (opened)
        atomic_store(&s->last_active_ms, s->host->now_ms());
    limits_on_connection(cls, c, sctx, code); /* the header timeout */
}

/* "a.b.c.d:port" or "[v6]:port". */
static void format_addr(const struct sockaddr_storage *ss, char *out,
                        size_t cap)
{
    char ip[INET6_ADDRSTRLEN] = "";
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        snprintf(out, cap, "[%s]:%u", ip, ntohs(a->sin6_port));
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        snprintf(out, cap, "%s:%u", ip, ntohs(a->sin_port));
    }
}

static void format_bound(http_server *s)
{
    const union MHD_DaemonInfo *di =
        MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    s->listening[0] = '\0';
    if (!di || getsockname(di->listen_fd, (struct sockaddr *)&ss, &len) != 0)
        return;
    format_addr(&ss, s->listening, sizeof s->listening);
}

/* 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. */
static int is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family != AF_INET6)
        return 0;
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(a6))
        return 1;
    return IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127;
}

/* Checked on the configured address, before binding: nothing may be
 * accepted on an open port first. A host without the auth slots has no
 * keys to offer. */
static int check_exposure(http_server *s, rk_err *err)
{
    if (is_loopback(&s->addr))
        return RK_OK;
    if (s->auth && s->auth->auth_required())
        return RK_OK;
    char addr[128], where[160];
    format_addr(&s->addr, addr, sizeof addr);
    if (s->auth_by_proxy) {
        s->host->log(s->self, RK_LOG_WARN,
                     "%s: listening on %s WITHOUT API KEYS (auth_by_proxy: true): "
                     "every client that reaches this port directly has every scope, "
                     "admin included; only a proxy that authenticates may reach it",
                     s->host->cfg_where(s->self, "auth_by_proxy", where, sizeof where),
                     addr);
        return RK_OK;
    }
    return rk_fail(err, RK_ERR_CONFIG,
                   "%s: refusing to listen on %s without API keys: configure "
                   "auth.keys, listen on 127.0.0.1, or (behind an authenticating "
                   "proxy) set auth_by_proxy: true",
                   s->host->cfg_where(s->self, "listen", where, sizeof where), addr);
}

/* What create and start would refuse, on a scratch server that never binds:
 * the config's values and the exposure rule against the keys of the
 * configuration being checked (the host scopes its auth service to it). */
int server_check(const rk_host *host, rk_instance *self, rk_err *err)
{
    http_server *s = calloc(1, sizeof *s);
    if (!s)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    s->host = host;
    s->self = self;
    s->auth = RK_SERVICE(host, self, rk_auth_service, RK_SERVICE_AUTH, authenticate);
    int rc = read_config(s, err);
    if (rc == RK_OK)
        rc = static_check(s, err);
    if (rc == RK_OK)
        rc = check_exposure(s, err);
    free(s);
    return rc;
}

static unsigned backlog_of(const http_server *s)
{
    return s->max_connections < 4096 ? s->max_connections : 4096;
}

/* Main: the host's listening socket number `index` for s->addr (a dup
 * the caller hands to MHD), so a reload's daemons accept from the same
 * sockets; *fd = -1 when the host has no "listen" service (MHD binds).
 * RK_OK, or the host's error prefixed with the listen key's location. */
static int server_listen_fd(http_server *s, int index, int *fd, rk_err *err)
{
    const rk_host *h = s->host;
    *fd = -1;
    if (!s->listen)
        return RK_OK;
    rk_err e = {{0}};
    int rc = s->listen->listen_socket(s->self, (const struct sockaddr *)&s->addr,
                              (uint32_t)s->addrlen, index,
                              (int)backlog_of(s), &e);
    if (rc >= 0) {
        *fd = rc;
        return RK_OK;
    }
    char where[160];
    return rk_fail(err, rc, "%s: %s",
                   h->cfg_where(s->self, "listen", where, sizeof where),
                   e.msg[0] ? e.msg : "cannot listen");
}

/* Any thread that may run MHD: a daemon with the instance's options, on
 * lfd (from server_listen_fd; MHD owns it from here) or, when lfd < 0, on
 * s->addr bound here with SO_REUSEPORT; max_connections / n connections.
 * NULL on failure (MHD logged why). */
static struct MHD_Daemon *server_mhd_start(http_server *s, unsigned flags, unsigned n,
                                           int lfd)
{
    unsigned backlog = backlog_of(s);
    unsigned limit = s->max_connections / (n ? n : 1);
    /* the host's socket (a dup: MHD may close it), else bind here */
    struct MHD_OptionItem where[3] = {
        {MHD_OPTION_SOCK_ADDR, 0, &s->addr},
        {MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL},
        {MHD_OPTION_END, 0, NULL}};
    if (lfd >= 0) {
        where[0] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, lfd, NULL};
        where[1] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
        /* with its own threads MHD wakes them by shutdown() of the listen
         * socket unless it has an ITC, and that would end the socket for
         * the next generation too */
        if (flags & MHD_USE_INTERNAL_POLLING_THREAD)
            flags |= MHD_USE_ITC;
    }
    unsigned per_ip = limits_per_ip(s, n);
    /* one epoll loop per pool thread; a single thread needs no pool */
    struct MHD_OptionItem pool[2] = {{MHD_OPTION_END, 0, NULL},
                                     {MHD_OPTION_END, 0, NULL}};
    if (s->threads > 1 && (flags & MHD_USE_INTERNAL_POLLING_THREAD))
        pool[0] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
                                          (intptr_t)s->threads, NULL};
    if (s->addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    return MHD_start_daemon(
        flags, 0, NULL, NULL, router_access, s, MHD_OPTION_EXTERNAL_LOGGER,
        mhd_log, s, MHD_OPTION_ARRAY, where,
        MHD_OPTION_CONNECTION_LIMIT, limit ? limit : 1,
        MHD_OPTION_CONNECTION_TIMEOUT, s->timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, s->conn_memory,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, backlog, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_URI_LOG_CALLBACK, static_uri_log, NULL, MHD_OPTION_ARRAY,
        pool, MHD_OPTION_END);
}

/* ---- the daemons of http_loops ------------------------------------------- */

/* MHD_USE_EPOLL without an internal thread: the host loop polls */
#define LOOP_FLAGS (MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_EPOLL)

static int loop_listen_fd(void *ctx, int i, int *fd, rk_err *err)
{
    return server_listen_fd(ctx, i, fd, err);
}

static struct MHD_Daemon *loop_daemon(void *ctx, unsigned n, int lfd)
{
    return server_mhd_start(ctx, LOOP_FLAGS, n, lfd);
}

/* Port 0 asks for any port: the first daemon's becomes everyone's. */
static void pin_port(void *ctx, struct MHD_Daemon *d)
{
    http_server *s = ctx;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (!di || getsockname(di->listen_fd, (struct sockaddr *)&ss, &len) != 0 ||
        ss.ss_family != s->addr.ss_family)
        return;
    if (ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&s->addr)->sin_port = ((struct sockaddr_in *)&ss)->sin_port;
    else if (ss.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&s->addr)->sin6_port = ((struct sockaddr_in6 *)&ss)->sin6_port;
}

int server_start(http_server *s, rk_err *err)
{
    int rc = check_exposure(s, err);
    if (rc != RK_OK)
        return rc;
    unsigned flags = MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (loops_available(s->host)) {
        const loops_daemon_ops ops = {.ctx = s,
                                      .listen_fd = loop_listen_fd,
                                      .start = loop_daemon,
                                      .first_started = pin_port};
        rc = loops_start(s->host, &ops, &s->loops, err);
        if (rc != RK_OK)
            return rc;
        s->daemon = loops_first(s->loops);
        s->n_daemons = (unsigned)s->host->loop_count();
    } else {
        int lfd = -1;
        rc = server_listen_fd(s, 0, &lfd, err);
        if (rc != RK_OK)
            return rc;
        s->daemon = server_mhd_start(s, flags | MHD_USE_EPOLL_INTERNAL_THREAD,
                                     1, lfd);
        s->n_daemons = 1;
    }
    if (!s->daemon)
        return rk_fail(err, RK_ERR_IO,
                       "cannot start the HTTP server (address in use or not "
                       "permitted? see the libmicrohttpd line above)");
    format_bound(s);
    if (s->loops)
        s->host->log(s->self, RK_LOG_INFO,
                     "listening on %s (one daemon on each of %u loops, "
                     "max_connections=%u, per address %u)",
                     s->listening, s->n_daemons, s->max_connections,
                     s->max_per_ip);
    else
        s->host->log(s->self, RK_LOG_INFO,
                     "listening on %s (threads=%u max_connections=%u)",
                     s->listening, s->threads, s->max_connections);
    return RK_OK;
}

int server_listening(http_server *s, char *buf, size_t cap)
{
    if (!cap)
        return RK_ERR_INVALID;
    int n = snprintf(buf, cap, "%s", s->listening);
    return n < 0 || (size_t)n >= cap ? RK_ERR_TOO_LARGE : RK_OK;
}

void server_stop(http_server *s, int64_t deadline_ms)
{
    if (!s->daemon)
        return;
    atomic_store(&s->draining, 1);
    /* MHD's own threads may still touch a quiesced socket until they stop */
    MHD_socket lfd = MHD_INVALID_SOCKET;
    if (s->loops)
        loops_quiesce(s->loops);
    else
        lfd = MHD_quiesce_daemon(s->daemon);
    drain_requests(s, deadline_ms);
    if (s->loops)
        loops_stop(s->loops); /* each daemon stops on its own loop */
    else
        MHD_stop_daemon(s->daemon);
    if (lfd != MHD_INVALID_SOCKET)
        close(lfd);
    s->loops = NULL;
    s->daemon = NULL;
    s->host->log(s->self, RK_LOG_INFO, "stopped");
}

void server_destroy(http_server *s)
{
    if (!s)
        return;
    if (s->daemon)
        server_stop(s, s->host->now_ms());
    assets_free(s->ui);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
