/*
 * http_router — the MHD access handler: route table (with /documents/{id}),
 * method checks, API key, scope and request budget (http_auth), Content-Type
 * checks, body accumulation up to max_body, JSON parsing, and dispatch to
 * the endpoint modules. Re-entry after a resume goes to the request's job
 * (r->ops->resume).
 */
#ifndef RK_HTTP_ROUTER_H
#define RK_HTTP_ROUTER_H

#include <stddef.h>

#include <microhttpd.h>

enum MHD_Result router_access(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls);

#endif
