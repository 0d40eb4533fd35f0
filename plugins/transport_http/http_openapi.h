/*
 * http_openapi — GET /openapi.json: the OpenAPI 3.1 description of every
 * route (plugins/transport_http/openapi.json, compiled in), served with
 * info.version set to the host's version. MHD thread.
 */
#ifndef RK_HTTP_OPENAPI_H
#define RK_HTTP_OPENAPI_H

#include <stddef.h>

#include <microhttpd.h>

#include "http_req.h"

/* openapi.json as written, NUL-terminated; generated into the build dir
 * from the source file by plugin.mk. */
extern const char http_openapi_json[];
extern const size_t http_openapi_json_len;

enum MHD_Result openapi_handle(http_req *r);

#endif
