/*
 * upstream_impl — what upstream.c (starting calls, the loop's own client,
 * attaching to the loop), upstream_call.c (a call's deadlines, end and
 * free) and upstream_curl.c (libcurl: its callbacks, driving the multi
 * handle, sockets, pauses) share: the call and upstream structs and the
 * functions the lower files offer the upper ones (upstream.c uses both
 * others, upstream_curl.c uses upstream_call.c). Loop thread only; no
 * other module includes it.
 */
#ifndef RK_CORE_UPSTREAM_IMPL_H
#define RK_CORE_UPSTREAM_IMPL_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdint.h>

#include "curlfd.h"
#include "httpc.h"
#include "loop.h"
#include "loop_internal.h"
#include "upstream.h"

typedef struct upstream upstream;

#define EASY_CACHE_MAX 256 /* idle easy handles kept for reuse */

struct rk_http_call {
    upstream *u;
    CURL *easy;              /* the libcurl transfer, or */
    httpc_req *lean;         /* the request of the loop's own client */
    rk_http_handler h;
    void *ud;
    struct curl_slist *hdrs;
    char *body;
    rk_timer *timer;
    int64_t start_us, last_us, deadline_us, first_byte_us, idle_us;
    int added, responded, got_body, zombie, done;
    int paused;              /* asked to stop reading (upstream_http_pause) */
    int curl_paused;         /* what libcurl was last told */
    int fail_status;         /* set by a callback that aborted the transfer */
    char *hbuf;              /* "name\0value\0" pairs of the current block */
    size_t hlen, hcap, nh;
    rk_http_call *prev, *next; /* live list */
    rk_http_call *dnext;       /* pending-add or zombie list */
    rk_http_call *pnext;       /* pause-change list */
    int pqueued;
    char errbuf[CURL_ERROR_SIZE];
};

struct upstream {
    loop *l;
    CURLM *multi;
    httpc *hc;
    atomic_int builtin; /* plain-http calls may use hc */
    rk_timer *curl_timer;
    int in_curl; /* inside curl_multi_socket_action: no add/remove */
    int defer;   /* cancellations must not free right now */
    int closing; /* the loop is stopping: no new calls */
    rk_http_call *calls, *pending, *zombies;
    rk_http_call *pchanges; /* calls whose pause libcurl has not been told */
    int pausing;            /* pause_apply is running */
    atomic_int inflight;
    CURL *easy_cache[EASY_CACHE_MAX];
    int n_easy;
    curlfd fds; /* libcurl's sockets and which of them are watched */
};

/* upstream_call.c */
/* An easy handle from the idle cache, or a new one (NULL: out of memory). */
CURL *up_easy_get(upstream *u);
/* Take c off the live list, its timer and the pause-change list. */
void up_call_unlink(upstream *u, rk_http_call *c);
void up_call_free(upstream *u, rk_http_call *c);
/* End a call that is still live: detach it from libcurl, report, free. */
void up_call_finish(upstream *u, rk_http_call *c, int status, const char *msg);
/* Arm c's deadline timer for req at the start: 0, or -1 out of memory. */
int up_call_arm(upstream *u, rk_http_call *c, const rk_http_request *req);
/* The deadlines changed (a resume): arm the timer for the new expiry. */
void up_call_rearm(rk_http_call *c);

/* upstream_curl.c */
/* curl_global_init, once per process: RK_OK or RK_ERR_INTERNAL + err. */
int upcurl_global_init(rk_err *err);
/* A proxy variable is set: every call must go through libcurl. */
int upcurl_env_proxy(void);
/* Socket and timer callbacks and connection limits of u->multi. */
void upcurl_multi_setup(upstream *u);
/* The options of c->easy for req (headers and body already in c). */
CURLcode upcurl_setup(rk_http_call *c, const rk_http_request *req);
/* Add deferred calls, free cancelled ones, apply pause changes: once no
 * libcurl callback is running. */
void upcurl_flush(upstream *u);
/* Tell libcurl about the calls whose pause changed (outside its callbacks). */
void upcurl_pause_apply(upstream *u);
/* curl_multi_socket_action on fd, then what it finished. */
void upcurl_drive(upstream *u, curl_socket_t fd, int flags);

#endif
