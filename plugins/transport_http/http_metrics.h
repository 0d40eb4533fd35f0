/*
 * http_metrics — the transport's Prometheus series, registered through
 * host->metric and cached so the request path does no lookups:
 *   ragkernel_http_requests_total{route,code,method}   counter
 *   ragkernel_http_request_seconds{route}       histogram
 *   ragkernel_http_active_streams               gauge
 */
#ifndef RK_HTTP_METRICS_H
#define RK_HTTP_METRICS_H

#include <stdatomic.h>

#include <ragkernel/host.h>

#include "http_req.h"

#define HM_CODES 501 /* 100..599, plus one slot for anything else */
#define HM_METHODS (METHOD_OTHER + 1)

typedef struct http_metrics {
    const rk_host *host;
    _Atomic(rk_metric *) total[ROUTE__COUNT][HM_METHODS][HM_CODES];
    rk_metric *seconds[ROUTE__COUNT];
    rk_metric *streams;
} http_metrics;

const char *route_label(http_route r);
void hm_init(http_metrics *m, const rk_host *host);
/* any thread: one finished request (code 0 = no response was sent). */
void hm_request(http_metrics *m, http_route r, http_method meth, int code, double seconds);
void hm_streams(http_metrics *m, double delta);

#endif
