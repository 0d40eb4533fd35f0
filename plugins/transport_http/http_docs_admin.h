/*
 * http_docs_admin — document administration over HTTP:
 *   GET  /documents/{id}/status   state, chunks, size, version, progress
 *   POST /documents/{id}/reindex  re-extract and re-index from storage
 *   POST /documents with ?async=1, "Prefer: respond-async", or a body over
 *        documents_async_over -> 202 + Location: /documents/{id}/status
 * Handlers run on the MHD thread after http_router checked the key, its
 * scope and the id (r->doc_id); the host's "documents" service (1.1 slots
 * doc_status, doc_reindex, doc_put_async) does the work.
 */
#ifndef RK_HTTP_DOCS_ADMIN_H
#define RK_HTTP_DOCS_ADMIN_H

#include <microhttpd.h>

#include <ragkernel/ragkernel.h>

#include "http_req.h"

enum MHD_Result docs_status_handle(http_req *r);
enum MHD_Result docs_reindex_handle(http_req *r);

/* Whether an upload of len bytes is to be answered 202 (see above;
 * ?async=0 forces a synchronous answer): 1, 0, or -1 for an ?async value
 * other than 1, true, 0, false or empty. */
int docs_admin_async_wanted(http_req *r, size_t len);

/* Hand up to the host's doc_put_async and answer 202 when it is
 * accepted; 501 when the host lacks the slot. up->data may be freed once
 * this returns (the host copies it). */
enum MHD_Result docs_admin_upload_async(http_req *r, const rk_doc_upload *up);

#endif
