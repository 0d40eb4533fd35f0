/*
 * good_transport — a minimal transport for tests: start() binds a loopback
 * TCP socket on an ephemeral port (accepting nothing), listening() reports
 * it, stop() closes it. Enough to exercise the start/stop ordering of the
 * registry and the transport contract of the conformance checker.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ragkernel/ragkernel.h>

typedef struct gt {
    int fd;
    int port;
} gt;

static int gt_start(void *ctx, rk_err *err)
{
    gt *t = ctx;
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    t->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (t->fd < 0 || bind(t->fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(t->fd, 4) != 0 || getsockname(t->fd, (struct sockaddr *)&sa, &len) != 0) {
        int e = errno;
        if (t->fd >= 0) close(t->fd);
        t->fd = -1;
        return rk_fail(err, RK_ERR_IO, "cannot listen: %s", strerror(e));
    }
    t->port = ntohs(sa.sin_port);
    return RK_OK;
}

static void gt_stop(void *ctx, int64_t deadline_ms)
{
    gt *t = ctx;
    if (t->fd >= 0) close(t->fd);
    t->fd = -1;
}

static int gt_listening(void *ctx, char *buf, size_t cap)
{
    gt *t = ctx;
    if (t->fd < 0) return RK_ERR_UNAVAILABLE;
    snprintf(buf, cap, "127.0.0.1:%d", t->port);
    return RK_OK;
}

static int gt_create(const rk_host *host, rk_instance *self, void **ctx,
                     rk_err *err)
{
    gt *t = calloc(1, sizeof *t);
    if (!t) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    t->fd = -1;
    *ctx = t;
    return RK_OK;
}

static void gt_destroy(void *ctx)
{
    gt *t = ctx;
    if (t->fd >= 0) close(t->fd);
    free(t);
}

/* rk_plugin.check: refuses what check_refuse says, at its position, and
 * (check_needs_keys) a configuration without API keys, as asked of the
 * auth service the host scopes to the configuration being checked. */
static int gt_check(const rk_host *host, rk_instance *self, rk_err *err)
{
    char where[160];
    const char *refuse = host->cfg_string(self, "check_refuse");
    if (refuse && *refuse)
        return rk_fail(err, RK_ERR_CONFIG, "%s: check_refuse: %s",
                       host->cfg_where(self, "check_refuse", where, sizeof where), refuse);
    if (!host->cfg_bool(self, "check_needs_keys")) return RK_OK;
    const rk_auth_service *a =
        RK_SERVICE(host, self, rk_auth_service, RK_SERVICE_AUTH, authenticate);
    if (a && a->auth_required()) return RK_OK;
    return rk_fail(err, RK_ERR_CONFIG, "check_needs_keys: no API keys");
}

static const rk_config_key gt_config[] = {
    {"check_refuse", RK_CFG_STRING, NULL, 0, "check() refuses with this message"},
    {"check_needs_keys", RK_CFG_BOOL, "false", 0, "check() refuses a config without keys"},
    {NULL, 0, NULL, 0, NULL}};

static const rk_transport_vtable vt = {
    .struct_size = sizeof(rk_transport_vtable),
    .listening = gt_listening,
};

static const rk_plugin desc = {
    .struct_size = sizeof(rk_plugin),
    .abi_major = RK_ABI_MAJOR,
    .abi_minor = RK_ABI_MINOR,
    .kind = RK_KIND_TRANSPORT,
    .name = "good_transport",
    .version = "1.0.0",
    .description = "listens on a loopback port, serves nothing",
    .create = gt_create,
    .start = gt_start,
    .stop = gt_stop,
    .destroy = gt_destroy,
    .vtable = &vt,
    .config = gt_config,
    .check = gt_check,
};

RK_PLUGIN_DEFINE(desc)
