/*
 * http_auth — owns the transport's side of API keys and rate limits. The
 * decision itself (which keys exist, their tenants, scopes and budgets)
 * belongs to the host; this module only finds the key in the request,
 * turns the host's answer into OpenAI-shaped 401/403/429 errors, and runs
 * on the MHD thread before anything is read or started, so a refused
 * request costs no body upload and no pipeline work. Messages name the
 * key's configured name at most, never the secret: error bodies and logs
 * are read by people who must not learn it.
 */
#include "http_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_resp.h"
#include "http_server.h"

#define HDR_API_KEY "X-API-Key"

const char *auth_scope_name(uint32_t scopes)
{
    if (scopes & RK_SCOPE_ADMIN)
        return "admin";
    if (scopes & RK_SCOPE_DOCS_WRITE)
        return "documents:write";
    if (scopes & RK_SCOPE_DOCS_READ)
        return "documents:read";
    if (scopes & RK_SCOPE_CHAT)
        return "chat";
    return "";
}

/* The presented key, pointing into MHD's copy of the headers, or NULL.
 * A non-Bearer Authorization (Basic, ...) is not a key. */
static const char *presented_key(struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    if (v) {
        while (*v == ' ' || *v == '\t')
            v++;
        if (strncasecmp(v, "Bearer", 6) == 0 && (v[6] == ' ' || v[6] == '\t')) {
            v += 7;
            while (*v == ' ' || *v == '\t')
                v++;
            if (*v)
                return v;
        }
    }
    v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, HDR_API_KEY);
    while (v && (*v == ' ' || *v == '\t'))
        v++;
    return v && *v ? v : NULL;
}

static enum MHD_Result unauthorized(http_req *r, int missing)
{
    static const char *const hdrs[] = {MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                       "Bearer", NULL};
    r->srv->host->log(r->srv->self, RK_LOG_INFO,
                      "request %s %s: 401 %s API key", r->id,
                      route_label(r->route), missing ? "missing" : "invalid");
    hr_error e = {
        .status = 401,
        .type = "authentication_error",
        .code = "invalid_api_key",
        .message = missing ? "Missing API key: send it as \"Authorization: "
                             "Bearer <key>\" or \"X-API-Key: <key>\""
                           : "Incorrect API key provided",
        .headers = hdrs,
    };
    return hr_send_error(r, &e);
}

int auth_request(http_req *r, uint32_t scopes, enum MHD_Result *rc)
{
    const rk_auth_service *a = r->srv->auth;
    if (!a)
        return 0;
    const char *key = presented_key(r->conn);
    rk_err err = {{0}};
    int st = a->authenticate(key, &r->who, &err);
    if (st == RK_ERR_AUTH) {
        *rc = unauthorized(r, key == NULL);
        return -1;
    }
    if (st != RK_OK) {
        /* err.msg comes from the host and names no secret */
        *rc = hr_fail(r, hr_status_for(st), NULL,
                      "Cannot check the API key: %s", err.msg);
        return -1;
    }
    r->authed = 1;
    if ((r->who.scopes & scopes) != scopes) {
        hr_error e = {.status = 403, .type = "permission_error",
                      .code = "missing_scope"};
        char msg[256];
        snprintf(msg, sizeof msg,
                 "API key '%s' does not have the '%s' scope needed for %s",
                 r->who.key_id, auth_scope_name(scopes & ~r->who.scopes),
                 route_label(r->route));
        e.message = msg;
        *rc = hr_send_error(r, &e);
        return -1;
    }
    return 0;
}

int auth_charge(http_req *r, int64_t requests, int64_t tokens,
                enum MHD_Result *rc)
{
    const rk_limits_service *l = r->srv->limits;
    if (!r->authed || !l)
        return 0;
    int64_t retry = 0;
    rk_err err = {{0}};
    int st = l->rate_limit(&r->who, requests, tokens, 0, &retry, &err);
    if (st != RK_ERR_RATE_LIMITED)
        return 0; /* the host fails open when its limiter is down */
    char msg[256];
    snprintf(msg, sizeof msg,
             "Rate limit exceeded for API key '%s': retry in %lld s",
             r->who.key_id, (long long)((retry + 999) / 1000));
    hr_error e = {.status = 429,
                  .type = "rate_limit_error",
                  .code = "rate_limit_exceeded",
                  .message = msg,
                  .retry_after_ms = retry > 0 ? retry : 1};
    *rc = hr_send_error(r, &e);
    return -1;
}

typedef struct charge {
    const rk_limits_service *limits;
    rk_principal who;
    int64_t tokens;
} charge;

static void charge_run(void *ud)
{
    charge *c = ud;
    int64_t retry = 0;
    rk_err err = {{0}};
    c->limits->rate_limit(&c->who, 0, c->tokens, 1, &retry, &err);
    free(c);
}

void auth_charge_after(const http_server *s, const rk_principal *who,
                       int64_t tokens)
{
    /* without keys there are no limits to charge, and the charge would
     * cost a worker-thread wakeup per answer */
    if (tokens <= 0 || !s->limits || !s->auth || !s->auth->auth_required())
        return;
    charge *c = malloc(sizeof *c);
    if (!c)
        return;
    c->limits = s->limits;
    c->who = *who;
    c->tokens = tokens;
    if (s->host->run_blocking(charge_run, c) != RK_OK)
        free(c); /* shutting down: nothing left to limit */
}
