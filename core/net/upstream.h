/*
 * upstream — the loop's HTTP client for calls to upstreams (LLM providers,
 * S3, embeddings), so that thousands of slow streams wait with no thread
 * each: the loop's own client (httpc.c) for plain http at a numeric
 * address, libcurl's multi interface for the rest. It attaches itself to a
 * loop as the loop's part (loop_internal.h) and is freed with it.
 *
 * Calls marked "loop" must come from the loop's thread.
 */
#ifndef RK_CORE_UPSTREAM_H
#define RK_CORE_UPSTREAM_H

#include <ragkernel/host.h>

#include "loop.h"

/* A new loop with the client attached (loop_new + upstream_attach). */
loop *upstream_loop_new(rk_err *err);
/* Attach the client to l (before loop_start). */
int upstream_attach(loop *l, rk_err *err);

/* loop: upstream HTTP (see rk_host.http_start/http_cancel). NULL + err
 * when l has no client attached. */
rk_http_call *upstream_http_start(loop *l, const rk_http_request *req,
                                  const rk_http_handler *h, void *ud, rk_err *err);
void upstream_http_cancel(loop *l, rk_http_call *c);
/* loop: stop (pause != 0) or go on reading c's response (see
 * rk_host.http_pause); idle and first-byte timeouts wait meanwhile. */
void upstream_http_pause(loop *l, rk_http_call *c, int pause);

/* any: number of http calls in flight on l (for metrics and tests). */
int upstream_http_inflight(loop *l);

/* any: 1 (the default) lets plain-http calls to a numeric address use the
 * loop's own client (httpc.c); 0 sends every call through libcurl. Calls
 * already started keep the client they have. */
void upstream_set_builtin(loop *l, int on);

/* libcurl's socket callback (CURLMOPT_SOCKETFUNCTION; what is a
 * CURL_POLL_* value), callable by tests to replay a late remove. */
int upstream_curl_socket(loop *l, int fd, int what);

#endif
