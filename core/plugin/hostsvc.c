/*
 * hostsvc — owns the role service tables (services.h) and their lookup by
 * name. The functions behind them are the host table's own transport slots,
 * which 1.0 transports still call directly: one implementation, two ways
 * in, so the deprecated slots cannot drift from the services that replace
 * them. Who may have what is decided here, per role, as Janus gives each
 * plugin role its own table: every service so far is a transport's, so any
 * other kind gets NULL and learns early that it reached for the wrong layer.
 */
#include "hostsvc.h"

#include <pthread.h>
#include <string.h>

#include "hostconv.h"
#include "hostdocs.h"
#include "hostkeys.h"
#include "listeners.h"
#include "pipeline.h"
#include "registry.h"

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_built;
static rk_chat_service g_chat;
static rk_docs_service g_docs;
static rk_auth_service g_auth;
static rk_limits_service g_limits;
static rk_status_service g_status;
static rk_listen_service g_listen;
static rk_conv_service g_conv;

static int listen_socket(const rk_instance *self, const struct sockaddr *addr,
                         uint32_t addrlen, int index, int backlog, rk_err *err)
{
    if (!self) return rk_fail(err, RK_ERR_INVALID, "listen_socket: no instance");
    return listeners_get(registry_group(self), self->name, addr, (socklen_t)addrlen, index,
                         backlog, err);
}

static void build(const rk_host *h)
{
    g_chat = (rk_chat_service){.struct_size = sizeof g_chat,
                               .chat_start = h->chat_start,
                               .chat_cancel = h->chat_cancel,
                               .list_models = h->list_models,
                               .embed_start = h->embed_start,
                               .chat_flow = pipeline_chat_flow};
    g_docs = (rk_docs_service){.struct_size = sizeof g_docs,
                               .doc_put = h->doc_put,
                               .doc_list = h->doc_list,
                               .doc_get = h->doc_get,
                               .doc_delete = h->doc_delete,
                               .doc_status = hostdocs_status,
                               .doc_reindex = hostdocs_reindex,
                               .doc_put_async = hostdocs_put_async};
    g_auth = (rk_auth_service){.struct_size = sizeof g_auth,
                               .auth_required = h->auth_required,
                               .authenticate = h->authenticate,
                               .key_create = hostkeys_create,
                               .key_list = hostkeys_list,
                               .key_rotate = hostkeys_rotate,
                               .key_revoke = hostkeys_revoke};
    g_limits = (rk_limits_service){.struct_size = sizeof g_limits,
                                   .rate_limit = h->rate_limit};
    g_status = (rk_status_service){.struct_size = sizeof g_status,
                                   .ready = h->ready,
                                   .render_metrics = h->render_metrics};
    g_listen = (rk_listen_service){.struct_size = sizeof g_listen,
                                   .listen_socket = listen_socket};
    g_conv = (rk_conv_service){.struct_size = sizeof g_conv,
                               .conv_list = hostconv_list,
                               .conv_get = hostconv_get,
                               .conv_delete = hostconv_delete};
}

typedef struct svc {
    const char *name;
    rk_kind role;
    const void *table;
    size_t size;
} svc;

const void *hostsvc_lookup(const rk_host *h, const rk_instance *self, const char *name,
                           size_t min_size)
{
    if (!h || !self || !self->plugin || !name) return NULL;
    pthread_mutex_lock(&g_mu);
    if (!g_built) build(h);
    g_built = 1;
    pthread_mutex_unlock(&g_mu);
    const svc all[] = {
        {RK_SERVICE_CHAT, RK_KIND_TRANSPORT, &g_chat, sizeof g_chat},
        {RK_SERVICE_DOCUMENTS, RK_KIND_TRANSPORT, &g_docs, sizeof g_docs},
        {RK_SERVICE_AUTH, RK_KIND_TRANSPORT, &g_auth, sizeof g_auth},
        {RK_SERVICE_LIMITS, RK_KIND_TRANSPORT, &g_limits, sizeof g_limits},
        {RK_SERVICE_STATUS, RK_KIND_TRANSPORT, &g_status, sizeof g_status},
        {RK_SERVICE_LISTEN, RK_KIND_TRANSPORT, &g_listen, sizeof g_listen},
        {RK_SERVICE_CONVERSATIONS, RK_KIND_TRANSPORT, &g_conv, sizeof g_conv},
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(all[i].name, name) == 0)
            return self->plugin->kind == all[i].role && min_size <= all[i].size ? all[i].table
                                                                                 : NULL;
    return NULL;
}
