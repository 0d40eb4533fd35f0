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

/* The route table as the API description sees it, for the test that keeps
 * openapi.json and the router in step. Entry i: its path in OpenAPI's form
 * ("/documents/{id}") into path (cap bytes) and the methods it serves
 * (bits 1u << http_method, HEAD with GET) into *methods; 0, or -1 past
 * the last entry. */
int router_entry(size_t i, char *path, size_t cap, unsigned *methods);
/* 1 when the router hands `method url` to a handler (neither the 404 of an
 * unknown URL nor a 405), else 0. */
int router_serves(const char *url, const char *method);

#endif
