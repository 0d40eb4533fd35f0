/*
 * http_download — GET and HEAD /documents/{id}: the document's bytes,
 * streamed, with ETag ("<sha256>"), Last-Modified, Accept-Ranges,
 * Content-Disposition (RFC 5987 filename*), If-None-Match -> 304, one
 * byte range (bytes=a-b, a-, -n) -> 206 with Content-Range, 416 when it
 * cannot be satisfied (see http_range.h for what is ignored).
 *
 * MHD thread; r->doc_id was checked by the router.
 */
#ifndef RK_HTTP_DOWNLOAD_H
#define RK_HTTP_DOWNLOAD_H

#include <microhttpd.h>

#include "http_req.h"

enum MHD_Result download_handle(http_req *r);

#endif
