/*
 * http_docmeta — what every document module of the transport shares
 * (http_docs, http_docs_admin, http_download, http_conversations): the JSON
 * shape of one document and the tenant a request acts for. A leaf: it
 * calls no other module of the transport.
 */
#ifndef RK_HTTP_DOCMETA_H
#define RK_HTTP_DOCMETA_H

#include <jansson.h>

#include <ragkernel/storage.h>

#include "http_req.h"

/* {"id","filename","content_type","size","sha256","created_at"}: the shape
 * of one document in every answer (created_at in Unix seconds). */
json_t *docmeta_json(const rk_doc_meta *m);

/* The tenant to pass to the host for r (NULL = the default tenant). */
const char *docmeta_tenant(const http_req *r);

#endif
