/*
 * http_auth — who is calling and what they may do: the API key from
 * `Authorization: Bearer <key>` or `X-API-Key: <key>`, host->authenticate,
 * the scope a route needs (401 / 403), and host->rate_limit (429 with
 * Retry-After) before the work, plus the tokens charged after an answer.
 *
 * The key is passed straight from MHD's header storage to the host and is
 * never copied, logged or echoed in an error.
 */
#ifndef RK_HTTP_AUTH_H
#define RK_HTTP_AUTH_H

#include <stdint.h>

#include <microhttpd.h>

#include <ragkernel/host.h>

#include "http_req.h"

/* MHD thread, access handler. Authenticates the request and checks that
 * the key holds every bit of `scopes` (0 = any valid key). 0: r->who is
 * filled and r->authed set; -1: a 401/403 (or 503) was queued and *rc is
 * what the access handler returns. A host without the auth slots has no
 * keys: the request goes on as the default tenant. */
int auth_request(http_req *r, uint32_t scopes, enum MHD_Result *rc);

/* MHD thread: charge `requests` and `tokens` to r->who before the work
 * (may block briefly on a shared limiter). 0: go on; -1: a 429 was queued
 * (*rc). A request that was not authenticated is not charged. */
int auth_charge(http_req *r, int64_t requests, int64_t tokens,
                enum MHD_Result *rc);

/* Any thread: charge `tokens` counted after an answer, without refusing.
 * Runs on a host worker because a shared limiter may block. */
void auth_charge_after(const http_server *s, const rk_principal *who,
                       int64_t tokens);

/* "chat", "documents:read", ... for messages; "" for 0. */
const char *auth_scope_name(uint32_t scopes);

#endif
