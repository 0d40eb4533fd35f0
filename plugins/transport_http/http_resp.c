/*
 * http_resp — owns response construction so that every answer, including
 * every error, carries the request id and a Content-Type, and so that no 5xx
 * ever leaves without a JSON body: all error paths funnel through
 * hr_send_error, which falls back to a static body if even building the JSON
 * fails. Errors follow OpenAI's shape because OpenAI SDKs parse it into
 * their APIError types.
 */
#include "http_resp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_server.h"

json_t *hj_strn(const char *s, size_t n)
{
    if (!s)
        return json_null();
    json_t *j = json_stringn(s, n);
    if (j)
        return j;
    /* jansson refuses invalid UTF-8; repair rather than drop the text */
    char *fixed = utf8_sanitize(s, n);
    if (!fixed)
        return NULL;
    j = json_string(fixed);
    free(fixed);
    return j;
}

json_t *hj_str(const char *s)
{
    return s ? hj_strn(s, strlen(s)) : json_null();
}

int hr_headers_add(http_req *r, struct MHD_Response *resp, const char *ctype,
                   const char *const *extra)
{
    int ok = !ctype || MHD_add_response_header(
                           resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) == MHD_YES;
    ok &= MHD_add_response_header(resp, r->srv->request_id_header, r->id) ==
          MHD_YES;
    /* stopping (or replaced by a reload): still answer requests arriving
     * on open keep-alive connections, but make the client reconnect */
    if (atomic_load(&r->srv->draining))
        ok &= MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
                                      "close") == MHD_YES;
    for (size_t i = 0; extra && extra[i] && extra[i + 1]; i += 2)
        ok &= MHD_add_response_header(resp, extra[i], extra[i + 1]) == MHD_YES;
    return ok ? 0 : -1;
}

void hr_hold_locked(http_req *r) { r->holding = 1; }

static enum MHD_Result queue_now(http_req *r, int status, struct MHD_Response *resp)
{
    enum MHD_Result rc = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    if (rc == MHD_YES) {
        r->status = status;
        r->phase = PHASE_ANSWERED;
    }
    return rc;
}

enum MHD_Result hr_queue(http_req *r, int status, struct MHD_Response *resp)
{
    if (!r->holding)
        return queue_now(r, status, resp);
    if (r->held) /* one response per request: the first one stands */
        MHD_destroy_response(resp);
    else {
        r->held = resp;
        r->held_status = status;
    }
    return MHD_YES;
}

enum MHD_Result hr_release(http_req *r, enum MHD_Result rc)
{
    struct MHD_Response *resp = r->held;
    r->holding = 0;
    r->held = NULL;
    if (!resp)
        return rc;
    if (rc != MHD_YES) {
        MHD_destroy_response(resp);
        return rc;
    }
    return queue_now(r, r->held_status, resp);
}

enum MHD_Result hr_send_buf(http_req *r, int status, const char *ctype,
                            char *body, size_t len, const char *const *extra)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, body ? body : (char *)"", body ? MHD_RESPMEM_MUST_FREE
                                            : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    if (hr_headers_add(r, resp, ctype, extra) < 0) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    return hr_queue(r, status, resp);
}

enum MHD_Result hr_send_empty(http_req *r, int status,
                              const char *const *extra)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    if (hr_headers_add(r, resp, NULL, extra) < 0) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    return hr_queue(r, status, resp);
}

static ssize_t no_body(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)cls, (void)pos, (void)out, (void)max;
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

/* MHD labels a bodiless buffer "Content-Length: 0", which a cache may take
 * as the new length of the document; a reader response of the document's
 * size carries the length a 200 would, and MHD sends no body for a 304. */
enum MHD_Result hr_send_not_modified(http_req *r, uint64_t length,
                                     const char *const *extra)
{
    struct MHD_Response *resp =
        MHD_create_response_from_callback(length, 1024, no_body, NULL, NULL);
    if (!resp)
        return MHD_NO;
    if (hr_headers_add(r, resp, NULL, extra) < 0) {
        MHD_destroy_response(resp);
        return MHD_NO;
    }
    return hr_queue(r, 304, resp);
}

enum MHD_Result hr_send_json(http_req *r, int status, json_t *j,
                             const char *const *extra)
{
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!body) {
        hr_error e = {.status = 500, .message = "out of memory"};
        return status == 500 ? MHD_NO : hr_send_error(r, &e);
    }
    return hr_send_buf(r, status, CT_JSON, body, strlen(body), extra);
}

const char *hr_default_type(int status)
{
    switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 429: return "rate_limit_error";
    case 502: return "upstream_error";
    case 503: return "service_unavailable";
    case 504: return "timeout_error";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

int hr_status_for(int st)
{
    switch (st) {
    case RK_ERR_INVALID: return 400;
    case RK_ERR_UNSUPPORTED: return 400;
    case RK_ERR_AUTH: return 401;
    case RK_ERR_NOT_FOUND: return 404;
    case RK_ERR_TOO_LARGE: return 413;
    case RK_ERR_RATE_LIMITED: return 429;
    case RK_ERR_UPSTREAM: return 502;
    case RK_ERR_UNAVAILABLE: return 503;
    case RK_ERR_CANCELLED: return 503;
    case RK_ERR_NOMEM: return 503;
    case RK_ERR_TIMEOUT: return 504;
    default: return 500;
    }
}

json_t *hr_error_json(const hr_error *e)
{
    const char *type = e->type ? e->type : hr_default_type(e->status);
    return json_pack("{s:{s:o,s:s,s:o,s:o}}", "error", "message",
                     hj_str(e->message ? e->message : "error"), "type", type,
                     "param", e->param ? hj_str(e->param) : json_null(),
                     "code", e->code ? hj_str(e->code) : json_null());
}

/* Last resort when even the JSON cannot be built: still JSON, still ours. */
static enum MHD_Result send_static_error(http_req *r, int status)
{
    static const char body[] =
        "{\"error\":{\"message\":\"internal error\",\"type\":\"server_error\","
        "\"param\":null,\"code\":null}}";
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    hr_headers_add(r, resp, CT_JSON, NULL);
    return hr_queue(r, status, resp);
}

#define HR_EXTRA_MAX 8 /* name/value pairs from hr_error.headers */

enum MHD_Result hr_send_error(http_req *r, const hr_error *e)
{
    char retry[24];
    const char *extra[2 * (HR_EXTRA_MAX + 2) + 1] = {NULL};
    size_t n = 0;
    if (e->retry_after_ms > 0) {
        snprintf(retry, sizeof retry, "%lld",
                 (long long)((e->retry_after_ms + 999) / 1000));
        extra[n++] = MHD_HTTP_HEADER_RETRY_AFTER;
        extra[n++] = retry;
    }
    if (e->allow) {
        extra[n++] = MHD_HTTP_HEADER_ALLOW;
        extra[n++] = e->allow;
    }
    for (size_t i = 0; e->headers && e->headers[i] && e->headers[i + 1] &&
                       i < 2 * HR_EXTRA_MAX;
         i += 2) {
        extra[n++] = e->headers[i];
        extra[n++] = e->headers[i + 1];
    }
    json_t *j = hr_error_json(e);
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!body)
        return send_static_error(r, e->status);
    if (e->status >= 500)
        r->srv->host->log(r->srv->self, RK_LOG_WARN, "request %s: %d %s",
                          r->id, e->status, e->message ? e->message : "");
    return hr_send_buf(r, e->status, CT_JSON, body, strlen(body), extra);
}

enum MHD_Result hr_fail(http_req *r, int status, const char *param,
                        const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    hr_error e = {.status = status, .param = param, .message = msg};
    return hr_send_error(r, &e);
}
