/*
 * http_metrics — owns the transport's metric handles. host->metric is a
 * registry lookup; the per-(route, code) counters are resolved once and
 * cached in atomics so the completion path is a load and an add. Two
 * threads racing to fill one slot get the same metric from the host, so the
 * race is harmless.
 */
#include "http_metrics.h"

#include <stdio.h>

static const char *const route_names[ROUTE__COUNT] = {
    [ROUTE_COMPLETIONS] = "/v1/chat/completions",
    [ROUTE_CHAT] = "/chat",
    [ROUTE_EMBEDDINGS] = "/v1/embeddings",
    [ROUTE_MODELS] = "/v1/models",
    [ROUTE_HEALTH] = "/health",
    [ROUTE_READY] = "/ready",
    [ROUTE_METRICS] = "/metrics",
    [ROUTE_DOCUMENTS] = "/documents",
    [ROUTE_DOCUMENT] = "/documents/{id}",
    [ROUTE_OPENAPI] = "/openapi.json",
    [ROUTE_UI] = "/{ui file}",
    [ROUTE_DOCUMENT_STATUS] = "/documents/{id}/status",
    [ROUTE_DOCUMENT_REINDEX] = "/documents/{id}/reindex",
    [ROUTE_CONVERSATIONS] = "/v1/conversations",
    [ROUTE_CONVERSATION] = "/v1/conversations/{id}",
    [ROUTE_CONVERSATION_EXPORT] = "/v1/conversations/{id}/export",
    [ROUTE_ADMIN_KEYS] = "/admin/keys",
    [ROUTE_ADMIN_KEY] = "/admin/keys/{id}",
    [ROUTE_ADMIN_KEY_ROTATE] = "/admin/keys/{id}/rotate",
    [ROUTE_OTHER] = "other",
};

static const char *const method_names[HM_METHODS] = {
    [METHOD_GET] = "GET", [METHOD_HEAD] = "HEAD", [METHOD_POST] = "POST",
    [METHOD_DELETE] = "DELETE", [METHOD_OTHER] = "other",
};

const char *route_label(http_route r)
{
    return (unsigned)r < ROUTE__COUNT ? route_names[r] : "other";
}

void hm_init(http_metrics *m, const rk_host *host)
{
    char labels[96];
    m->host = host;
    for (int r = 0; r < ROUTE__COUNT; r++) {
        for (int k = 0; k < HM_METHODS; k++)
            for (int c = 0; c < HM_CODES; c++)
                atomic_init(&m->total[r][k][c], NULL);
        snprintf(labels, sizeof labels, "route=\"%s\"", route_names[r]);
        m->seconds[r] = host->metric(RK_METRIC_HISTOGRAM,
                                     "ragkernel_http_request_seconds",
                                     "HTTP request duration in seconds",
                                     labels);
    }
    m->streams = host->metric(RK_METRIC_GAUGE, "ragkernel_http_active_streams",
                              "SSE responses currently streaming", NULL);
}

void hm_request(http_metrics *m, http_route r, http_method meth, int code, double seconds)
{
    if ((unsigned)r >= ROUTE__COUNT)
        r = ROUTE_OTHER;
    if ((unsigned)meth >= HM_METHODS)
        meth = METHOD_OTHER;
    int slot = code >= 100 && code <= 599 ? code - 100 : HM_CODES - 1;
    rk_metric *c = atomic_load_explicit(&m->total[r][meth][slot],
                                        memory_order_acquire);
    if (!c) {
        char labels[128];
        char codebuf[8];
        snprintf(codebuf, sizeof codebuf, "%03d",
                 slot == HM_CODES - 1 ? 0 : code);
        snprintf(labels, sizeof labels, "route=\"%s\",code=\"%s\",method=\"%s\"",
                 route_names[r], codebuf, method_names[meth]);
        c = m->host->metric(RK_METRIC_COUNTER, "ragkernel_http_requests_total",
                            "HTTP requests by route, status code and method", labels);
        atomic_store_explicit(&m->total[r][meth][slot], c, memory_order_release);
    }
    if (c)
        m->host->metric_add(c, 1);
    if (m->seconds[r])
        m->host->metric_observe(m->seconds[r], seconds);
}

void hm_streams(http_metrics *m, double delta)
{
    if (m->streams)
        m->host->metric_add(m->streams, delta);
}
