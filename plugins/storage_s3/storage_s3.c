/*
 * storage_s3 — documents in an S3 bucket (AWS or any S3-compatible
 * server): the plugin descriptor, its config, and the five storage calls
 * on top of s3_http (signed requests with retries), s3_upload (single or
 * multipart put, all or nothing), s3_list and s3_object (key layout and
 * metadata headers). Each object is "<prefix><tenant>/<id>" and carries
 * its metadata in its own headers, so S3's per-object atomicity is the
 * whole consistency story: there is nothing else to keep in step. Calls
 * block on the host's worker threads and may run concurrently; the
 * instance holds no per-call state.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

#include "s3_http.h"
#include "s3_list.h"
#include "s3_object.h"
#include "s3_upload.h"

#define PREFIX_MAX 512

typedef struct s3_ctx {
    const rk_host *host;
    rk_instance *self;
    s3_client *client;
    char *prefix;
    char *region;
    int create_bucket;
    s3_upload_opts up;
} s3_ctx;

static const rk_config_key s3_keys[] = {
    {"endpoint", RK_CFG_STRING, NULL, 0,
     "S3 URL, scheme://host[:port]; default https://s3.<region>.amazonaws.com"},
    {"region", RK_CFG_STRING, "us-east-1", 0, "region the requests are signed for"},
    {"bucket", RK_CFG_STRING, NULL, 1, "bucket holding the documents"},
    {"prefix", RK_CFG_STRING, "ragkernel/", 0, "key prefix; objects are <prefix><tenant>/<id>"},
    {"path_style", RK_CFG_BOOL, "false", 0,
     "endpoint/bucket/key URLs instead of bucket.endpoint/key (most S3-compatible servers)"},
    {"access_key", RK_CFG_STRING, NULL, 0,
     "access key id, e.g. ${AWS_ACCESS_KEY_ID}; unset = anonymous requests"},
    {"secret_key", RK_CFG_STRING, NULL, 0, "secret access key, e.g. ${AWS_SECRET_ACCESS_KEY}"},
    {"session_token", RK_CFG_STRING, NULL, 0,
     "session token of temporary credentials, e.g. ${AWS_SESSION_TOKEN}"},
    {"create_bucket", RK_CFG_BOOL, "false", 0, "create the bucket on start if it is missing"},
    {"timeout", RK_CFG_DURATION, "30s", 0,
     "per request; for a download, the longest time without progress"},
    {"connect_timeout", RK_CFG_DURATION, "5s", 0, "connecting (TCP and TLS)"},
    {"max_retries", RK_CFG_INT, "3", 0,
     "retries after 5xx, connection failures and timeouts, with jittered exponential backoff"},
    {"multipart_threshold", RK_CFG_SIZE, "16MB", 0,
     "bodies this large go up as multipart uploads; smaller ones are buffered whole"},
    {"part_size", RK_CFG_SIZE, "8MB", 0, "multipart part size, at least 5MB"},
    {NULL, 0, NULL, 0, NULL}};

/* ---- calls ---------------------------------------------------------------- */

static int s3s_put(void *ctxp, const rk_doc_meta *meta, rk_read_fn read, void *rud,
                   rk_err *err)
{
    s3_ctx *c = ctxp;
    if (!meta || !read)
        return rk_fail(err, RK_ERR_INVALID, "put without metadata or body");
    int rc = s3_check_names(meta->tenant, meta->id, err);
    if (rc != RK_OK)
        return rc;
    int64_t created = meta->created_ms ? meta->created_ms : c->host->wall_ms();
    s3_meta_headers mh;
    if ((rc = s3_meta_headers_make(meta, created, &mh, err)) != RK_OK)
        return rc;
    char *key = s3_object_key(c->prefix, meta->tenant, meta->id);
    if (!key)
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
    else
        rc = s3_upload(c->client, key, &mh, meta->size, read, rud, &c->up, err);
    free(key);
    s3_meta_headers_free(&mh);
    return rc;
}

/* The requested window of a body, enforced here and not trusted to the
 * server: one that ignores Range answers 200 with the whole object, and
 * some S3-compatible servers answer 206 with more than was asked for
 * (s3rver 3.7.1 sends everything for "bytes=0-0"). Content-Range says
 * where the bytes start; surplus is skipped, and once the window is full
 * the transfer is cut short. */
typedef struct window {
    rk_write_fn write;
    void *wud;
    const s3_response *resp;
    uint64_t offset, left; /* left: UINT64_MAX = to the end */
    uint64_t skip;
    int started, full, bad;
} window;

/* Where the body starts in the object: "bytes START-END/TOTAL" on a 206. */
static int window_start(window *w)
{
    uint64_t base = 0;
    const char *cr = s3_response_header(w->resp, "content-range");
    if (w->resp->status == 206) {
        if (!cr || sscanf(cr, "bytes %" SCNu64, &base) != 1)
            base = w->offset;
    }
    if (base > w->offset) {
        w->bad = 1;
        return -1;
    }
    w->skip = w->offset - base;
    w->started = 1;
    return 0;
}

static int window_write(void *ud, const void *data, size_t len)
{
    window *w = ud;
    if (!w->started && window_start(w) != 0)
        return -1;
    if (w->full)
        return -1; /* everything asked for arrived: stop the download */
    const char *p = data;
    size_t skip = w->skip < len ? (size_t)w->skip : len;
    p += skip, len -= skip, w->skip -= skip;
    int full = (uint64_t)len >= w->left;
    if (full)
        len = (size_t)w->left;
    w->left -= len;
    int rc = len ? w->write(w->wud, p, len) : 0;
    if (rc >= 0 && full)
        w->full = 1;
    return rc;
}

/* A 416 answer: fine (empty) when offset is exactly the end. */
static int past_end(s3_ctx *c, const char *key, const char *tenant, const char *id,
                    uint64_t offset, rk_err *err)
{
    s3_meta_doc d;
    int rc = s3_stat_key(c->client, key, tenant, id, &d, err);
    if (rc != RK_OK)
        return rc;
    uint64_t size = d.m.size;
    s3_meta_doc_free(&d);
    if (offset == size)
        return RK_OK;
    return rk_fail(err, RK_ERR_INVALID, "offset %" PRIu64 " is past the end (%" PRIu64 " bytes)",
                   offset, size);
}

static int s3s_get(void *ctxp, const char *tenant, const char *id, uint64_t offset,
                   uint64_t length, rk_write_fn write, void *wud, rk_err *err)
{
    s3_ctx *c = ctxp;
    int rc = s3_check_names(tenant, id, err);
    if (rc != RK_OK)
        return rc;
    if (!write)
        return rk_fail(err, RK_ERR_INVALID, "get without a write callback");
    char range[64];
    if (length && offset + length - 1 < offset)
        length = 0; /* to the end: offset + length overflows */
    if (length)
        snprintf(range, sizeof range, "bytes=%" PRIu64 "-%" PRIu64, offset, offset + length - 1);
    else
        snprintf(range, sizeof range, "bytes=%" PRIu64 "-", offset);
    sigv4_header rh = {"range", range};
    s3_response resp;
    window w = {.write = write, .wud = wud, .resp = &resp, .offset = offset,
                .left = length ? length : UINT64_MAX};
    char *key = s3_object_key(c->prefix, tenant, id);
    if (!key)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    s3_request r = {.op = "get", .method = "GET", .key = key, .headers = &rh,
                    .n_headers = offset || length, .sink = window_write, .sink_ud = &w};
    rc = s3_perform(c->client, &r, &resp, err);
    if (rc == RK_ERR_CANCELLED && w.full)
        rc = RK_OK;
    else if (rc == RK_ERR_CANCELLED && w.bad)
        rc = rk_fail(err, RK_ERR_UPSTREAM, "S3 answered a range that starts after %" PRIu64,
                     offset);
    else if (rc == RK_ERR_NOT_FOUND)
        rc = rk_fail(err, RK_ERR_NOT_FOUND, "no document %s", id);
    else if (rc != RK_OK && resp.status == 416)
        rc = past_end(c, key, tenant, id, offset, err);
    s3_response_free(&resp);
    free(key);
    return rc;
}

static int s3s_stat(void *ctxp, const char *tenant, const char *id,
                    void (*on_meta)(void *ud, const rk_doc_meta *m), void *ud, rk_err *err)
{
    s3_ctx *c = ctxp;
    int rc = s3_check_names(tenant, id, err);
    if (rc != RK_OK)
        return rc;
    char *key = s3_object_key(c->prefix, tenant, id);
    if (!key)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    s3_meta_doc d;
    rc = s3_stat_key(c->client, key, tenant, id, &d, err);
    if (rc == RK_OK && on_meta)
        on_meta(ud, &d.m);
    if (rc == RK_OK)
        s3_meta_doc_free(&d);
    free(key);
    return rc;
}

static int s3s_list(void *ctxp, const char *tenant, const char *after, size_t limit,
                    void (*on_meta)(void *ud, const rk_doc_meta *m), void *ud, rk_err *err)
{
    s3_ctx *c = ctxp;
    s3_list_args a = {.c = c->client, .prefix = c->prefix, .tenant = tenant, .after = after,
                      .limit = limit, .on_meta = on_meta, .ud = ud};
    return s3_list(&a, err);
}

/* DELETE answers 204 whether or not the key existed, so a HEAD first tells
 * the caller about a missing document. */
static int s3s_remove(void *ctxp, const char *tenant, const char *id, rk_err *err)
{
    s3_ctx *c = ctxp;
    int rc = s3_check_names(tenant, id, err);
    if (rc != RK_OK)
        return rc;
    char *key = s3_object_key(c->prefix, tenant, id);
    if (!key)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    s3_request head = {.op = "head", .method = "HEAD", .key = key};
    s3_request del = {.op = "delete", .method = "DELETE", .key = key};
    s3_response resp;
    rc = s3_perform(c->client, &head, &resp, err);
    s3_response_free(&resp);
    if (rc == RK_ERR_NOT_FOUND)
        rc = rk_fail(err, RK_ERR_NOT_FOUND, "no document %s", id);
    if (rc == RK_OK) {
        rc = s3_perform(c->client, &del, &resp, err);
        s3_response_free(&resp);
    }
    free(key);
    return rc;
}

/* ---- lifecycle -------------------------------------------------------------- */

/* PUT bucket; outside us-east-1 S3 wants the region in the body. */
static int create_bucket(s3_ctx *c, rk_err *err)
{
    s3_buf body = {0};
    if (strcmp(c->region, "us-east-1") != 0)
        s3_buf_printf(&body,
                      "<CreateBucketConfiguration><LocationConstraint>%s"
                      "</LocationConstraint></CreateBucketConfiguration>",
                      c->region);
    if (body.failed)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    s3_request r = {.op = "create_bucket", .method = "PUT", .body = body.p,
                    .body_len = body.len};
    s3_response resp;
    int rc = s3_perform(c->client, &r, &resp, err);
    if (rc != RK_OK && resp.status == 409) /* created meanwhile, by us or another host */
        rc = RK_OK;
    s3_response_free(&resp);
    s3_buf_free(&body);
    return rc;
}

static int s3s_start(void *ctxp, rk_err *err)
{
    s3_ctx *c = ctxp;
    if (!c->create_bucket)
        return RK_OK;
    s3_request head = {.op = "head_bucket", .method = "HEAD"};
    s3_response resp;
    int rc = s3_perform(c->client, &head, &resp, err);
    s3_response_free(&resp);
    if (rc == RK_ERR_NOT_FOUND) {
        rc = create_bucket(c, err);
        if (rc == RK_OK)
            c->host->log(c->self, RK_LOG_INFO, "created bucket on %s",
                         s3_client_endpoint(c->client));
    }
    return rc;
}

static void s3s_stop(void *ctxp, int64_t deadline_ms)
{
    s3_ctx *c = ctxp;
    s3_client_stop(c->client, deadline_ms);
}

static void s3s_destroy(void *ctxp)
{
    s3_ctx *c = ctxp;
    if (!c)
        return;
    s3_client_free(c->client);
    free(c->prefix);
    free(c->region);
    free(c);
}

static const char *cfg_str(const s3_ctx *c, const char *key)
{
    const char *v = c->host->cfg_string(c->self, key);
    return v && *v ? v : NULL;
}

static int bad(const s3_ctx *c, const char *key, const char *why, rk_err *err)
{
    char where[128];
    return rk_fail(err, RK_ERR_CONFIG, "%s: %s: %s",
                   c->host->cfg_where(c->self, key, where, sizeof where), key, why);
}

static int read_limits(s3_ctx *c, s3_settings *s, rk_err *err)
{
    const rk_host *h = c->host;
    s->timeout_ms = h->cfg_int(c->self, "timeout");
    s->connect_timeout_ms = h->cfg_int(c->self, "connect_timeout");
    int64_t retries = h->cfg_int(c->self, "max_retries");
    c->up.multipart_threshold = h->cfg_int(c->self, "multipart_threshold");
    c->up.part_size = h->cfg_int(c->self, "part_size");
    if (s->timeout_ms <= 0)
        return bad(c, "timeout", "must be positive", err);
    if (s->connect_timeout_ms <= 0)
        return bad(c, "connect_timeout", "must be positive", err);
    if (retries < 0 || retries > 10)
        return bad(c, "max_retries", "must be between 0 and 10", err);
    if (c->up.multipart_threshold < 1 || c->up.multipart_threshold > S3_MAX_SINGLE)
        return bad(c, "multipart_threshold", "must be between 1 byte and 5GiB", err);
    if (c->up.part_size < S3_MIN_PART || c->up.part_size > S3_MAX_SINGLE)
        return bad(c, "part_size", "must be between 5MB and 5GiB", err);
    s->max_retries = (int)retries;
    return RK_OK;
}

static int read_settings(s3_ctx *c, s3_settings *s, char *endpoint, size_t cap, rk_err *err)
{
    const rk_host *h = c->host;
    s->region = cfg_str(c, "region") ? cfg_str(c, "region") : "us-east-1";
    s->bucket = cfg_str(c, "bucket");
    s->path_style = h->cfg_bool(c->self, "path_style");
    s->access_key = cfg_str(c, "access_key");
    s->secret_key = cfg_str(c, "secret_key");
    s->session_token = cfg_str(c, "session_token");
    s->endpoint = cfg_str(c, "endpoint");
    if (!s->endpoint) {
        snprintf(endpoint, cap, "https://s3.%s.amazonaws.com", s->region);
        s->endpoint = endpoint;
    }
    for (const char *p = s->region; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return bad(c, "region", "must be [a-z0-9-]+ like us-east-1", err);
    if (!s->bucket)
        return bad(c, "bucket", "is required", err);
    if (!s->access_key != !s->secret_key)
        return bad(c, s->access_key ? "secret_key" : "access_key",
                   "access_key and secret_key go together (or neither, for anonymous access)",
                   err);
    return read_limits(c, s, err);
}

static int s3s_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    s3_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    c->host = host, c->self = self;
    s3_settings s = {0};
    char endpoint[256];
    int rc = read_settings(c, &s, endpoint, sizeof endpoint, err);
    const char *prefix = host->cfg_string(self, "prefix");
    prefix = prefix ? prefix : "";
    if (rc == RK_OK && strlen(prefix) > PREFIX_MAX)
        rc = bad(c, "prefix", "is longer than 512 bytes", err);
    for (const char *p = prefix; rc == RK_OK && *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            rc = bad(c, "prefix", "has a control character", err);
    if (rc == RK_OK) {
        c->create_bucket = host->cfg_bool(self, "create_bucket");
        c->prefix = strdup(prefix);
        c->region = strdup(s.region);
        if (!c->prefix || !c->region)
            rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    if (rc == RK_OK && (rc = s3_client_new(&s, host, self, &c->client, err)) == RK_ERR_CONFIG) {
        char msg[RK_ERR_MSG_MAX]; /* "<key> <why>" */
        snprintf(msg, sizeof msg, "%s", err->msg);
        const char *key = strncmp(msg, "bucket ", 7) ? "endpoint" : "bucket";
        rc = bad(c, key, msg + strlen(key) + (strlen(msg) > strlen(key)), err);
    }
    if (rc != RK_OK) {
        s3s_destroy(c);
        return rc;
    }
    *ctx = c;
    return RK_OK;
}

static const rk_storage_vtable s3_vtable = {
    .struct_size = sizeof(rk_storage_vtable),
    .put = s3s_put,
    .get = s3s_get,
    .stat = s3s_stat,
    .list = s3s_list,
    .remove = s3s_remove,
};

static const rk_plugin storage_s3_plugin = {
    RK_PLUGIN_HEADER,
    .kind = RK_KIND_STORAGE,
    .name = "storage_s3",
    .version = "1.0.0",
    .description = "documents as objects in an S3 bucket (AWS or S3-compatible), SigV4-signed",
    .flags = 0,
    .config = s3_keys,
    .create = s3s_create,
    .start = s3s_start,
    .stop = s3s_stop,
    .destroy = s3s_destroy,
    .vtable = &s3_vtable,
};

RK_PLUGIN_DEFINE(storage_s3_plugin)
