/*
 * http_static — the web UI at "/": the ui_dir key, its files (read into
 * memory by http_assets when the instance is created) and the GET handler
 * that serves them without authentication (the page itself asks for a key
 * and sends it with its API calls).
 */
#ifndef RK_HTTP_STATIC_H
#define RK_HTTP_STATIC_H

#include <microhttpd.h>

#include <ragkernel/ragkernel.h>

#include "http_req.h"

/* Main thread, from server_create: reads ui_dir into s->ui (NULL: the UI
 * is off, because ui_dir is empty or is the compiled-in default and that
 * does not exist). An explicit ui_dir that cannot be served is an error
 * naming the key's location. */
int static_open(http_server *s, rk_err *err);
/* Main thread, from server_check: the same refusals, reading no file. */
int static_check(http_server *s, rk_err *err);
/* The UI's file that url names ("/" is its index.html), or NULL. The
 * file lives as long as s. */
const struct asset *static_find(const http_server *s, const char *url);
/* MHD thread: GET/HEAD of r->asset, with its ETag, a 304 for a matching
 * If-None-Match, and the page's security headers. */
enum MHD_Result static_handle(http_req *r);
/* MHD_OPTION_URI_LOG_CALLBACK, with the raw request target before MHD
 * decodes it: STATIC_NUL_PATH (which MHD makes the request's first
 * *con_cls) when its path holds %00 (assets_path_has_nul), else NULL.
 * The router refuses such a request; nothing else may take the marker for
 * a request of its own. */
extern const char static_nul_path;
#define STATIC_NUL_PATH ((void *)&static_nul_path)
void *static_uri_log(void *cls, const char *uri, struct MHD_Connection *c);

#endif
