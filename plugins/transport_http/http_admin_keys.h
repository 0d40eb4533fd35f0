/*
 * http_admin_keys — API key management over HTTP (admin scope):
 *
 *   POST   /admin/keys               create; 201 with the secret, once
 *   GET    /admin/keys[?tenant=T]    list (no secrets, no digests)
 *   POST   /admin/keys/{id}/rotate   new secret; {"grace": s} keeps the old one s seconds
 *   DELETE /admin/keys/{id}          revoke; 204
 *
 * The work is the host's ("auth" service, since 1.1) and blocks on the
 * history store, so it runs on a host worker while the connection waits
 * suspended. A host without the slots answers 501.
 */
#ifndef RK_HTTP_ADMIN_KEYS_H
#define RK_HTTP_ADMIN_KEYS_H

#include <jansson.h>
#include <microhttpd.h>

#include "http_req.h"

#define ADMIN_KEYS_PATH "/admin/keys"

enum MHD_Result admin_keys_list(http_req *r);
enum MHD_Result admin_keys_create(http_req *r, json_t *body);
/* POST /admin/keys/{id}/rotate, body optional ({"grace": seconds}). */
enum MHD_Result admin_keys_rotate(http_req *r, const char *body, size_t len);
enum MHD_Result admin_keys_revoke(http_req *r);
/* The router's id check for /admin/keys/{id}[/rotate]: 0 with the key id
 * in r->doc_id, or -1 with a 400/404 queued (*rc). */
int admin_keys_take_id(http_req *r, const char *rest, enum MHD_Result *rc);

#endif
