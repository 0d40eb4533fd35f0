/*
 * http_docs — the document endpoints that answer with JSON or nothing:
 *   POST   /documents       upload (multipart/form-data, or the raw body
 *                           with ?filename= / X-Filename) -> 201
 *   GET    /documents       one page: ?limit=1..1000 (100) &after=<cursor>
 *   DELETE /documents/{id}  -> 204
 * Downloads are http_download. Handlers run on the MHD thread (final
 * access-handler call) after http_router checked the key, its scope and
 * the id in the path (r->doc_id); every call carries the key's tenant.
 */
#ifndef RK_HTTP_DOCS_H
#define RK_HTTP_DOCS_H

#include <jansson.h>
#include <microhttpd.h>

#include <ragkernel/storage.h>

#include "http_docmeta.h"
#include "http_req.h"

enum MHD_Result docs_upload_handle(http_req *r);
enum MHD_Result docs_list_handle(http_req *r);
enum MHD_Result docs_delete_handle(http_req *r);

/* [A-Za-z0-9_-]{1,64}: document ids and list cursors. */
int docs_id_ok(const char *id);

/* Whether the host offers the document slots. */
int docs_available(const http_req *r);

#endif
