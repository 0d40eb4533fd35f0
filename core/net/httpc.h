/*
 * httpc — the loop's own HTTP/1.1 client for plain-http upstreams at a
 * numeric address (an IPv4 literal, an [IPv6] literal or localhost): the
 * common case of a local vLLM, Ollama or llama.cpp server, a sidecar, or
 * an S3-compatible store on the same network. It keeps connections alive
 * per target, sends a request with one send() and reads a response with
 * as few recv() calls as its framing allows. upstream.c decides which
 * calls it takes (libcurl keeps https, host names and proxies) and wraps
 * it with the deadlines every call has. Loop calls only.
 */
#ifndef RK_CORE_HTTPC_H
#define RK_CORE_HTTPC_H

#include "httpmsg.h"
#include "loop.h"

typedef struct httpc httpc;         /* one per loop */
typedef struct httpc_req httpc_req; /* one request in flight */

httpc *httpc_new(loop *l, rk_err *err);
/* Close every connection; requests still in flight must be cancelled. */
void httpc_free(httpc *hc);

/* Start req to t. The callbacks follow rk_http_handler's contract: once
 * on_end (its on_done) has been called, req is gone. Failures found while
 * starting (a refused connect) are reported by on_done on a later turn.
 * NULL + err for a request that cannot be sent (a CR/LF in a header). */
httpc_req *httpc_start(httpc *hc, const httpmsg_target *t, const rk_http_request *req,
                       const rk_http_handler *h, void *ud, rk_err *err);
/* Stop (pause != 0) or go on reading r's response: a paused request's
 * socket is not watched, so the peer's bytes wait in the kernel. Bytes
 * already read are handed on after resuming, on a later turn. */
void httpc_pause(httpc_req *r, int pause);
/* No callback after this. Safe inside this request's own callbacks. */
void httpc_cancel(httpc_req *r);

#endif
