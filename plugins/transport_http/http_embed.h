/*
 * http_embed — POST /v1/embeddings through host->embed_start: float or
 * base64 encoding, OpenAI's list shape. Runs on the MHD thread, borrows body.
 */
#ifndef RK_HTTP_EMBED_H
#define RK_HTTP_EMBED_H

#include <jansson.h>
#include <microhttpd.h>

#include "http_req.h"

enum MHD_Result embed_handle(http_req *r, json_t *body);

#endif
