/*
 * http_router — owns the first steps of every request, where MHD calls the
 * access handler repeatedly: the framing check (http_frame), route and
 * method checks, a body on a route that takes none, authentication,
 * scopes, the request budget and the cheap rejections (415, 413 from
 * Content-Length) happen on the first call so the body is never read for
 * them (no client can make us buffer a body before it has been let in);
 * the body is then accumulated up to max_body; the final call parses
 * JSON (reporting jansson's line and column) or hands the raw bytes to an
 * upload. A request that suspended itself comes back here on resume and is
 * passed to its job.
 */
#include "http_router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "http_admin_keys.h"
#include "http_auth.h"
#include "http_chat.h"
#include "http_conversations.h"
#include "http_docs.h"
#include "http_docs_admin.h"
#include "http_download.h"
#include "http_embed.h"
#include "http_frame.h"
#include "http_info.h"
#include "http_limits.h"
#include "http_openapi.h"
#include "http_req.h"
#include "http_resp.h"
#include "http_server.h"
#include "http_static.h"

/* Who may call a route. */
typedef enum route_access {
    ACCESS_KEY = 0, /* a key with the route's scopes */
    ACCESS_HEALTH,  /* public unless public_health is off */
    ACCESS_READY,   /* public unless public_ready is off; else admin */
    ACCESS_METRICS, /* public only with public_metrics; else admin */
    ACCESS_PUBLIC   /* always public: the API description, the web UI's files */
} route_access;

typedef struct route {
    const char *path;
    int with_id;       /* path + "/" + a document id (+ suffix) */
    http_route id;
    route_access who;
    int json_any_type; /* any Content-Type whose body is a JSON object */
    uint32_t read_scope, write_scope; /* GET/HEAD; POST/DELETE */
    enum MHD_Result (*get)(http_req *r);
    enum MHD_Result (*post)(http_req *r, json_t *body); /* JSON body */
    enum MHD_Result (*upload)(http_req *r);             /* raw r->body */
    enum MHD_Result (*del)(http_req *r);
    /* a JSON body the handler parses itself (the chat routes: every chat
     * request, read without building a tree) */
    enum MHD_Result (*post_json_raw)(http_req *r, const char *body, size_t len);
    const char *suffix; /* with_id: what follows the id ("/status"), or NULL */
    int conv_id;        /* with_id: a conversation id, not a document id */
    /* an id route whose id is not a document id: checks what follows
     * "<path>/" and keeps the id in r->doc_id (NULL: a document id) */
    int (*take_id)(http_req *r, const char *rest, enum MHD_Result *rc);
} route;

static const route routes[] = {
    {"/v1/chat/completions", 0, ROUTE_COMPLETIONS, ACCESS_KEY, 1, 0,
     RK_SCOPE_CHAT, NULL, NULL, NULL, NULL, chat_completions, NULL, 0, NULL},
    {"/chat", 0, ROUTE_CHAT, ACCESS_KEY, 1, 0, RK_SCOPE_CHAT, NULL, NULL,
     NULL, NULL, chat_legacy, NULL, 0, NULL},
    {"/v1/embeddings", 0, ROUTE_EMBEDDINGS, ACCESS_KEY, 0, 0, RK_SCOPE_CHAT,
     NULL, embed_handle, NULL, NULL, NULL, NULL, 0, NULL},
    {"/v1/models", 0, ROUTE_MODELS, ACCESS_KEY, 0, RK_SCOPE_CHAT, 0,
     info_models, NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {"/health", 0, ROUTE_HEALTH, ACCESS_HEALTH, 0, 0, 0, info_health, NULL,
     NULL, NULL, NULL, NULL, 0, NULL},
    {"/ready", 0, ROUTE_READY, ACCESS_READY, 0, RK_SCOPE_ADMIN, 0, info_ready,
     NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {"/metrics", 0, ROUTE_METRICS, ACCESS_METRICS, 0, RK_SCOPE_ADMIN, 0,
     info_metrics, NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {"/documents", 0, ROUTE_DOCUMENTS, ACCESS_KEY, 0, RK_SCOPE_DOCS_READ,
     RK_SCOPE_DOCS_WRITE, docs_list_handle, NULL, docs_upload_handle, NULL, NULL, NULL, 0, NULL},
    {"/documents", 1, ROUTE_DOCUMENT_STATUS, ACCESS_KEY, 0, RK_SCOPE_DOCS_READ, 0,
     docs_status_handle, NULL, NULL, NULL, NULL, "/status", 0, NULL},
    {"/documents", 1, ROUTE_DOCUMENT_REINDEX, ACCESS_KEY, 0, 0, RK_SCOPE_DOCS_WRITE,
     NULL, NULL, docs_reindex_handle, NULL, NULL, "/reindex", 0, NULL},
    {"/documents", 1, ROUTE_DOCUMENT, ACCESS_KEY, 0, RK_SCOPE_DOCS_READ,
     RK_SCOPE_DOCS_WRITE, download_handle, NULL, NULL, docs_delete_handle, NULL, NULL, 0, NULL},
    /* scopes checked by the handlers: chat for the key's own tenant, admin
     * for ?tenant= */
    {"/v1/conversations", 0, ROUTE_CONVERSATIONS, ACCESS_KEY, 0, 0, 0,
     conv_list_handle, NULL, NULL, NULL, NULL, NULL, 0, NULL},
    {"/v1/conversations", 1, ROUTE_CONVERSATION_EXPORT, ACCESS_KEY, 0, 0, 0,
     conv_export_handle, NULL, NULL, NULL, NULL, "/export", 1, NULL},
    {"/v1/conversations", 1, ROUTE_CONVERSATION, ACCESS_KEY, 0, 0, 0,
     conv_get_handle, NULL, NULL, conv_delete_handle, NULL, NULL, 1, NULL},
    {ADMIN_KEYS_PATH, 0, ROUTE_ADMIN_KEYS, ACCESS_KEY, 1, RK_SCOPE_ADMIN,
     RK_SCOPE_ADMIN, admin_keys_list, admin_keys_create, NULL, NULL, NULL, NULL, 0, NULL},
    {ADMIN_KEYS_PATH, 1, ROUTE_ADMIN_KEY_ROTATE, ACCESS_KEY, 1, RK_SCOPE_ADMIN,
     RK_SCOPE_ADMIN, NULL, NULL, NULL, NULL, admin_keys_rotate, "/rotate", 0,
     admin_keys_take_id},
    {ADMIN_KEYS_PATH, 1, ROUTE_ADMIN_KEY, ACCESS_KEY, 0, RK_SCOPE_ADMIN,
     RK_SCOPE_ADMIN, NULL, NULL, NULL, admin_keys_revoke, NULL, NULL, 0,
     admin_keys_take_id},
    {"/openapi.json", 0, ROUTE_OPENAPI, ACCESS_PUBLIC, 0, 0, 0, openapi_handle,
     NULL, NULL, NULL, NULL, NULL, 0, NULL},
    /* "/" and the file names of ui_dir: see route_of */
    {"/", 0, ROUTE_UI, ACCESS_PUBLIC, 0, 0, 0, static_handle, NULL, NULL,
     NULL, NULL, NULL, 0, NULL},
};

#define N_ROUTES (sizeof routes / sizeof routes[0])

/* The route takes a JSON body (parsed here or by its handler). */
static int json_body(const route *rt)
{
    return rt->post != NULL || rt->post_json_raw != NULL;
}

/* Whether rest ("<id><suffix>") ends in rt's suffix after a one-segment
 * id; *id_len gets the id's length. Routes without a suffix take the rest
 * whole (it may be empty or hold more slashes: checked later). */
static int id_suffix_match(const route *rt, const char *rest, size_t *id_len)
{
    size_t n = strlen(rest);
    if (!rt->suffix) {
        *id_len = n;
        return 1;
    }
    size_t k = strlen(rt->suffix);
    if (n <= k || strcmp(rest + n - k, rt->suffix) != 0)
        return 0;
    *id_len = n - k;
    return memchr(rest, '/', *id_len) == NULL;
}

/* The route for url; for an id route, *id_at points at what follows
 * "<path>/" and *id_len is the id's length (a suffix excluded). */
static const route *route_by_path(const char *url, const char **id_at,
                                  size_t *id_len)
{
    for (size_t i = 0; i < N_ROUTES; i++) {
        size_t n = strlen(routes[i].path);
        if (strncmp(routes[i].path, url, n) != 0)
            continue;
        if (!routes[i].with_id && url[n] == '\0')
            return &routes[i];
        if (routes[i].with_id && url[n] == '/' &&
            id_suffix_match(&routes[i], url + n + 1, id_len)) {
            *id_at = url + n + 1;
            return &routes[i];
        }
    }
    return NULL;
}

static const route *route_by_id(http_route id)
{
    for (size_t i = 0; i < N_ROUTES; i++)
        if (routes[i].id == id)
            return &routes[i];
    return NULL;
}

/* The API's routes first; what none of them takes and the web UI has
 * ("/" included, when the UI is on) is the UI's. */
static const route *route_of(http_server *s, http_req *r, const char *url,
                             const char **id_at, size_t *id_len)
{
    const route *rt = route_by_path(url, id_at, id_len);
    if (rt && rt->id != ROUTE_UI)
        return rt;
    r->asset = static_find(s, url);
    return r->asset ? route_by_id(ROUTE_UI) : NULL;
}

static http_method method_of(const char *m)
{
    if (strcmp(m, "GET") == 0)
        return METHOD_GET;
    if (strcmp(m, "HEAD") == 0)
        return METHOD_HEAD;
    if (strcmp(m, "POST") == 0)
        return METHOD_POST;
    if (strcmp(m, "DELETE") == 0)
        return METHOD_DELETE;
    return METHOD_OTHER;
}

static int has_handler(const route *rt, http_method m)
{
    switch (m) {
    case METHOD_GET:
    case METHOD_HEAD: return rt->get != NULL;
    case METHOD_POST: return json_body(rt) || rt->upload != NULL;
    case METHOD_DELETE: return rt->del != NULL;
    default: return 0;
    }
}

int router_entry(size_t i, char *path, size_t cap, unsigned *methods)
{
    if (i >= N_ROUTES)
        return -1;
    const route *rt = &routes[i];
    snprintf(path, cap, "%s%s%s", rt->path, rt->with_id ? "/{id}" : "",
             rt->suffix ? rt->suffix : "");
    *methods = 0;
    for (http_method m = METHOD_GET; m < METHOD_OTHER; m++)
        if (has_handler(rt, m))
            *methods |= 1u << m;
    return 0;
}

int router_serves(const char *url, const char *method)
{
    const char *id = NULL;
    size_t id_len = 0;
    const route *rt = route_by_path(url, &id, &id_len);
    return rt && has_handler(rt, method_of(method));
}

static enum MHD_Result not_allowed(http_req *r, const route *rt)
{
    char allow[48], msg[96];
    snprintf(allow, sizeof allow, "%s%s%s%s%s", rt->get ? "GET, HEAD" : "",
             rt->get && (json_body(rt) || rt->upload) ? ", " : "",
             json_body(rt) || rt->upload ? "POST" : "",
             rt->del && (rt->get || json_body(rt) || rt->upload) ? ", " : "",
             rt->del ? "DELETE" : "");
    snprintf(msg, sizeof msg, "Method not allowed: use %s", allow);
    hr_error e = {.status = 405, .allow = allow, .message = msg};
    return hr_send_error(r, &e);
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

/* A 400 after which the connection is closed: what follows the headers
 * cannot be trusted to be where the client says it is. */
static enum MHD_Result refuse_close(http_req *r, const char *msg)
{
    static const char *const close_hdr[] = {MHD_HTTP_HEADER_CONNECTION,
                                            "close", NULL};
    hr_error e = {.status = 400, .message = msg, .headers = close_hdr};
    return hr_send_error(r, &e);
}

static enum MHD_Result too_large(http_req *r)
{
    return hr_fail(r, 413, NULL,
                   "Request body too large: the limit is %zu bytes",
                   r->srv->max_body);
}

/* Whether the route needs a key here, and with which scopes. */
static int needs_key(const http_server *s, const route *rt, http_method m,
                     uint32_t *scopes)
{
    switch (rt->who) {
    case ACCESS_HEALTH: *scopes = 0; return !s->public_health;
    case ACCESS_READY: *scopes = RK_SCOPE_ADMIN; return !s->public_ready;
    case ACCESS_METRICS: *scopes = RK_SCOPE_ADMIN; return !s->public_metrics;
    case ACCESS_PUBLIC: *scopes = 0; return 0;
    default: break;
    }
    *scopes = m == METHOD_GET || m == METHOD_HEAD ? rt->read_scope
                                                   : rt->write_scope;
    return 1;
}

/* Authentication, scopes, the id in the path and, for every keyed route
 * whose cost is known before the body, one request of the key's budget.
 * Chats and embeddings are charged once their input size is known. */
static int admit(http_req *r, const route *rt, const char *id,
                 size_t id_len, enum MHD_Result *rc)
{
    uint32_t scopes = 0;
    if (!needs_key(r->srv, rt, r->method, &scopes))
        return 0;
    if (auth_request(r, scopes, rc) < 0)
        return -1;
    if (rt->with_id && rt->take_id) {
        if (rt->take_id(r, id ? id : "", rc) < 0)
            return -1;
    } else if (rt->with_id) {
        char buf[HTTP_PATH_ID_MAX + 1];
        if (id && id_len < sizeof buf) {
            memcpy(buf, id, id_len);
            buf[id_len] = '\0';
        }
        if (rt->conv_id && (!id || id_len >= sizeof buf || !conv_id_ok(buf))) {
            *rc = hr_fail(r, 400, "id",
                          "Invalid conversation id: use 1 to %d bytes without "
                          "control characters or '/'",
                          HTTP_PATH_ID_MAX);
            return -1;
        }
        if (!rt->conv_id && (!id || id_len >= sizeof buf || !docs_id_ok(buf))) {
            *rc = hr_fail(r, 400, "id",
                          "Invalid document id: use 1 to %d characters of "
                          "A-Z, a-z, 0-9, '_' and '-'",
                          HTTP_DOC_ID_MAX);
            return -1;
        }
        memcpy(r->doc_id, buf, id_len + 1);
    }
    if (rt->who == ACCESS_KEY && !json_body(rt))
        return auth_charge(r, 1, 0, rc);
    return 0;
}

static enum MHD_Result begin(http_server *s, http_req *r, const char *url,
                             const char *method, int nul_path)
{
    const char *id = NULL;
    size_t id_len = 0;
    char msg[160];
    frame_info f;
    const route *rt = route_of(s, r, url, &id, &id_len);
    r->route = rt ? rt->id : ROUTE_OTHER;
    r->method = method_of(method);
    if (nul_path) /* MHD decoded it into a NUL that cut the URL short */
        return refuse_close(r, "The URL path contains a NUL byte (%00)");
    if (frame_check(r->conn, &f, msg, sizeof msg) < 0)
        return refuse_close(r, msg);
    if (!rt)
        return hr_fail(r, 404, NULL, "Unknown request URL: %.16s %.200s",
                       method, url);
    if (!has_handler(rt, r->method))
        return not_allowed(r, rt);
    if (r->method != METHOD_POST && frame_has_body(&f)) {
        snprintf(msg, sizeof msg, "%.16s %.100s takes no request body",
                 method, url);
        return refuse_close(r, msg);
    }
    enum MHD_Result rc = MHD_YES;
    if (admit(r, rt, id, id_len, &rc) < 0)
        return rc;
    if (r->method == METHOD_POST) {
        if (json_body(rt) && !rt->json_any_type && !json_content_type(r->conn))
            return hr_fail(r, 415, NULL,
                           "Unsupported Content-Type: send application/json");
        if (f.length > s->max_body)
            return too_large(r);
    }
    /* everything else is answered on the final call: MHD closes a
     * connection whose response was queued before the request was fully
     * read */
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

static enum MHD_Result dispatch_json(http_req *r, const route *rt)
{
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

static enum MHD_Result dispatch(http_req *r)
{
    const route *rt = route_by_id(r->route);
    if (r->method != METHOD_POST) {
        hbuf_free(&r->body); /* a GET or DELETE body means nothing here */
        return r->method == METHOD_DELETE ? rt->del(r) : rt->get(r);
    }
    if (r->body_over)
        return too_large(r);
    if (rt->upload)
        return rt->upload(r);
    if (rt->post_json_raw) {
        enum MHD_Result rc = rt->post_json_raw(r, r->body.data, r->body.len);
        hbuf_free(&r->body);
        return rc;
    }
    return dispatch_json(r, rt);
}

enum MHD_Result router_access(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    (void)version;
    http_server *s = cls;
    http_req *r = *con_cls;
    if (!r || r == STATIC_NUL_PATH) {
        int nul_path = r != NULL;
        limits_headers_in(s, conn);
        r = req_new(s, conn);
        if (!r)
            return MHD_NO;
        *con_cls = r;
        return begin(s, r, url, method, nul_path);
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
