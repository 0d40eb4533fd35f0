/*
 * transport_http — the plugin descriptor: config schema, lifecycle entry
 * points and the transport vtable, each a thin call into http_server. Kept
 * separate so the schema (what --check-config and --list-plugins read) sits
 * in one obvious place.
 */
#include <ragkernel/ragkernel.h>

#include "http_server.h"
#include "rk_paths.h" /* RK_UI_DIR */

static const rk_config_key http_config[] = {
    {"listen", RK_CFG_STRING, "127.0.0.1:8080", 0,
     "address to listen on: host:port, [v6]:port; port 0 = ephemeral"},
    {"threads", RK_CFG_INT, "2", 0,
     "libmicrohttpd epoll threads, only with a host that has no loops to "
     "lend (otherwise one daemon runs on each host loop)"},
    {"max_connections", RK_CFG_INT, "4096", 0,
     "simultaneous client connections (MHD_OPTION_CONNECTION_LIMIT), "
     "split evenly across the loops"},
    {"max_body", RK_CFG_SIZE, "1MB", 0,
     "largest request body, document uploads included; larger ones get 413"},
    {"documents_async_over", RK_CFG_SIZE, "0", 0,
     "document uploads larger than this are answered 202 Accepted with "
     "Location: /documents/{id}/status while the host ingests them "
     "(?async=1 or Prefer: respond-async ask for it at any size, "
     "?async=0 never); 0 = only when asked, so clients that expect 201 "
     "keep getting it (set e.g. 1MB with a larger max_body)"},
    {"max_messages", RK_CFG_INT, "1000", 0,
     "messages in one chat request, checked while the body is parsed; "
     "more get 413 (pipeline.max_messages then applies to what passes)"},
    {"max_content_parts", RK_CFG_INT, "256", 0,
     "content parts in one chat message; more get 413"},
    {"max_text_bytes", RK_CFG_SIZE, "1MB", 0,
     "text of all the messages of one chat request, decoded; more gets "
     "413"},
    {"max_connections_per_ip", RK_CFG_INT, "0", 0,
     "connections one client address may hold "
     "(MHD_OPTION_PER_IP_CONNECTION_LIMIT, split across the loops like "
     "max_connections); 0 = half of max_connections, so one address never "
     "takes every slot. Behind a proxy every client has the proxy's "
     "address: set it to max_connections there"},
    {"connection_timeout", RK_CFG_DURATION, "120s", 0,
     "idle connection timeout (not applied while an answer is pending)"},
    {"header_timeout", RK_CFG_DURATION, "10s", 0,
     "a new connection that sends no complete request headers within "
     "this (counted from its last byte) is closed; after its first "
     "request it has connection_timeout"},
    {"connection_memory", RK_CFG_SIZE, "32k", 0,
     "per-connection memory pool (headers and I/O buffers)"},
    {"request_id_header", RK_CFG_STRING, "X-Request-Id", 0,
     "header carrying the request id (echoed; generated when absent)"},
    {"auth_by_proxy", RK_CFG_BOOL, "false", 0,
     "clients are authenticated by a proxy in front (a container behind an "
     "authenticating gateway): listen beyond loopback without API keys, "
     "which is otherwise refused; logged as a warning at every start. "
     "Anyone who reaches the port directly gets every scope"},
    {"public_health", RK_CFG_BOOL, "true", 0,
     "/health answers without an API key"},
    {"public_ready", RK_CFG_BOOL, "true", 0,
     "/ready answers without an API key (otherwise it needs the admin "
     "scope)"},
    {"public_metrics", RK_CFG_BOOL, "false", 0,
     "/metrics answers without an API key (otherwise it needs the admin "
     "scope; with no keys configured everyone has every scope)"},
    {"ui_dir", RK_CFG_STRING, RK_UI_DIR, 0,
     "directory of the web UI served at / (index.html, app.js, app.css; "
     "read once at start, no key needed for them); empty = no UI. The "
     "default is where make install puts it; a missing default only "
     "turns the UI off"},
    {NULL, 0, NULL, 0, NULL},
};

static int http_create(const rk_host *host, rk_instance *self, void **ctx,
                       rk_err *err)
{
    http_server *s = NULL;
    int rc = server_create(host, self, &s, err);
    if (rc == RK_OK)
        *ctx = s;
    return rc;
}

static int http_start(void *ctx, rk_err *err)
{
    return server_start(ctx, err);
}

static void http_stop(void *ctx, int64_t deadline_ms)
{
    server_stop(ctx, deadline_ms);
}

static void http_destroy(void *ctx)
{
    server_destroy(ctx);
}

static int http_listening(void *ctx, char *buf, size_t cap)
{
    return server_listening(ctx, buf, cap);
}

static const rk_transport_vtable http_vtable = {
    .struct_size = sizeof(rk_transport_vtable),
    .listening = http_listening,
};

static const rk_plugin http_plugin = {
    RK_PLUGIN_HEADER,
    .kind = RK_KIND_TRANSPORT,
    .name = "transport_http",
    .version = "0.1.0",
    .description = "HTTP API (libmicrohttpd): OpenAI-compatible chat "
                   "completions, /chat, embeddings, models, documents, API "
                   "keys and rate limits, health, metrics",
    .flags = 0,
    .config = http_config,
    .create = http_create,
    .start = http_start,
    .stop = http_stop,
    .destroy = http_destroy,
    .vtable = &http_vtable,
    .check = server_check,
};

RK_PLUGIN_DEFINE(http_plugin)
