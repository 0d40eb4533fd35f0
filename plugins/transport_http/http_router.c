/*
 * http_router — owns the first steps of every request, where MHD calls the
 * access handler repeatedly: route and method checks and the cheap
 * rejections (415, 413 from Content-Length) happen on the first call so the
 * body is never read for them; the body is then accumulated up to max_body;
 * the final call parses JSON (reporting jansson's line and column) and hands
 * the object to the endpoint. A request that suspended itself comes back
 * here on resume and is passed to its job.
 */
#include "http_router.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "http_chat.h"
#include "http_embed.h"
#include "http_info.h"
#include "http_req.h"
#include "http_resp.h"
#include "http_server.h"

typedef struct route {
    const char *path;
    http_route id;
    enum MHD_Result (*get)(http_req *r);
    enum MHD_Result (*post)(http_req *r, json_t *body);
} route;

static const route routes[] = {
    {"/v1/chat/completions", ROUTE_COMPLETIONS, NULL, chat_completions},
    {"/chat", ROUTE_CHAT, NULL, chat_legacy},
    {"/v1/embeddings", ROUTE_EMBEDDINGS, NULL, embed_handle},
    {"/v1/models", ROUTE_MODELS, info_models, NULL},
    {"/health", ROUTE_HEALTH, info_health, NULL},
    {"/ready", ROUTE_READY, info_ready, NULL},
    {"/metrics", ROUTE_METRICS, info_metrics, NULL},
};

static const route *route_by_path(const char *url)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (strcmp(routes[i].path, url) == 0)
            return &routes[i];
    return NULL;
}

static const route *route_by_id(http_route id)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (routes[i].id == id)
            return &routes[i];
    return NULL;
}

/* application/json, with or without parameters; a missing Content-Type is
 * accepted too because many simple clients never send one. */
static int json_content_type(struct MHD_Connection *c)
{
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct)
        return 1;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    static const char want[] = "application/json";
    if (strncasecmp(ct, want, sizeof want - 1) != 0)
        return 0;
    char next = ct[sizeof want - 1];
    return next == '\0' || next == ';' || next == ' ' || next == '\t';
}

/* Content-Length over the limit: refuse before reading a byte of it. */
static int declared_too_large(http_server *s, struct MHD_Connection *c)
{
    const char *cl = MHD_lookup_connection_value(
        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!cl)
        return 0;
    char *end;
    unsigned long long n = strtoull(cl, &end, 10);
    return end != cl && n > s->max_body;
}

static enum MHD_Result too_large(http_req *r)
{
    return hr_fail(r, 413, NULL,
                   "Request body too large: the limit is %zu bytes",
                   r->srv->max_body);
}

static enum MHD_Result begin(http_server *s, http_req *r, const char *url,
                             const char *method)
{
    const route *rt = route_by_path(url);
    r->route = rt ? rt->id : ROUTE_OTHER;
    if (atomic_load(&s->draining)) {
        hr_error e = {.status = 503, .message = "The server is shutting down",
                      .retry_after_ms = 1000};
        return hr_send_error(r, &e);
    }
    if (!rt)
        return hr_fail(r, 404, NULL, "Unknown request URL: %.16s %.200s",
                       method, url);
    int is_get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (rt->get) {
        if (!is_get) {
            hr_error e = {.status = 405, .allow = "GET, HEAD",
                          .message = "Method not allowed: use GET"};
            return hr_send_error(r, &e);
        }
        /* answered on the final call: MHD closes a connection whose
         * response was queued before the request was fully read */
        r->phase = PHASE_BODY;
        return MHD_YES;
    }
    if (strcmp(method, "POST") != 0) {
        hr_error e = {.status = 405, .allow = "POST",
                      .message = "Method not allowed: use POST"};
        return hr_send_error(r, &e);
    }
    if (!json_content_type(r->conn))
        return hr_fail(r, 415, NULL,
                       "Unsupported Content-Type: send application/json");
    if (declared_too_large(s, r->conn))
        return too_large(r);
    r->phase = PHASE_BODY;
    return MHD_YES;
}

static enum MHD_Result take_body(http_server *s, http_req *r,
                                 const char *data, size_t *size)
{
    size_t n = *size;
    *size = 0;
    if (!r->body_over && r->body.len + n > s->max_body) {
        r->body_over = 1; /* a chunked body without Content-Length */
        hbuf_free(&r->body);
    }
    if (r->body_over) {
        /* MHD cannot answer mid-body: drain a bounded amount so the 413
         * can be sent, then give up on the connection */
        r->discarded += n;
        return r->discarded > s->max_body ? MHD_NO : MHD_YES;
    }
    return hbuf_append(&r->body, data, n) < 0 ? MHD_NO : MHD_YES;
}

static enum MHD_Result dispatch(http_req *r)
{
    const route *rt = route_by_id(r->route);
    if (rt->get) {
        hbuf_free(&r->body); /* a GET body means nothing here */
        return rt->get(r);
    }
    if (r->body_over)
        return too_large(r);
    json_error_t je;
    json_t *root = json_loadb(r->body.data ? r->body.data : "", r->body.len,
                              0, &je);
    hbuf_free(&r->body);
    if (!root)
        return hr_fail(r, 400, NULL,
                       "We could not parse the JSON body of your request: %s "
                       "(line %d, column %d)",
                       je.text, je.line, je.column);
    enum MHD_Result rc;
    if (!json_is_object(root))
        rc = hr_fail(r, 400, NULL, "The request body must be a JSON object");
    else
        rc = rt->post(r, root);
    json_decref(root);
    return rc;
}

enum MHD_Result router_access(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    (void)version;
    http_server *s = cls;
    http_req *r = *con_cls;
    if (!r) {
        r = req_new(s, conn);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        return begin(s, r, url, method);
    }
    switch (r->phase) {
    case PHASE_BODY:
        if (*upload_data_size)
            return take_body(s, r, upload_data, upload_data_size);
        return dispatch(r);
    case PHASE_ASYNC:
        return r->ops->resume(r);
    default:
        /* MHD stops calling once a response is queued */
        return MHD_YES;
    }
}
