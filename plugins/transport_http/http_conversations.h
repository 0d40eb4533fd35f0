/*
 * http_conversations — stored conversations over HTTP:
 *   GET    /v1/conversations                 one page: ?limit=1..1000 (100)
 *                                            &after=<cursor> [&tenant=<t>]
 *   GET    /v1/conversations/{id}            its messages
 *          (?format=export, or /export: the whole conversation as one JSON
 *          document to save, with Content-Disposition: attachment)
 *   DELETE /v1/conversations/{id}            -> 204
 * A key sees its own tenant's conversations (chat or admin scope); ?tenant=
 * needs the admin scope. Another tenant's conversation is a 404, as an
 * absent one. Handlers run on the MHD thread after http_router checked
 * the key and the id (r->doc_id); the host's "conversations" service does
 * the work.
 */
#ifndef RK_HTTP_CONVERSATIONS_H
#define RK_HTTP_CONVERSATIONS_H

#include <microhttpd.h>

#include "http_req.h"

enum MHD_Result conv_list_handle(http_req *r);
enum MHD_Result conv_get_handle(http_req *r);
enum MHD_Result conv_export_handle(http_req *r);
enum MHD_Result conv_delete_handle(http_req *r);

/* 1..HTTP_PATH_ID_MAX bytes, no control character, no '/'. */
int conv_id_ok(const char *id);

#endif
