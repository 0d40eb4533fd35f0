/*
 * http_info — the synchronous GET endpoints: /health, /ready, /metrics,
 * /v1/models. MHD thread; each queues its response.
 */
#ifndef RK_HTTP_INFO_H
#define RK_HTTP_INFO_H

#include <microhttpd.h>

#include "http_req.h"

enum MHD_Result info_health(http_req *r);
enum MHD_Result info_ready(http_req *r);
enum MHD_Result info_metrics(http_req *r);
enum MHD_Result info_models(http_req *r);

#endif
