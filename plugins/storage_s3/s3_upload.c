/*
 * s3_upload — the write path. A small body is read into memory and sent as
 * one PUT carrying its sha256, so S3 verifies the bytes and a failed PUT
 * leaves nothing behind. A large one goes up in parts, each buffered and
 * hashed the same way; the object appears only when CompleteMultipartUpload
 * succeeds, and any failure on the way (a read error, a short body, S3
 * unreachable) ends in AbortMultipartUpload so no parts linger. Part
 * buffers bound the memory of a put to one part, whatever the object size.
 */
#include "s3_upload.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_xml.h"

/* Reads until buf holds want bytes or the body ends; returns the count, or
 * <0 (with err set) when read() fails. */
static int64_t fill(rk_read_fn read, void *rud, char *buf, size_t want, rk_err *err)
{
    size_t got = 0;
    while (got < want) {
        int64_t r = read(rud, buf + got, want - got);
        if (r < 0)
            return rk_fail(err, (int)r, "reading the body failed: %s", rk_strerror((int)r));
        if (r == 0)
            break;
        if ((uint64_t)r > want - got)
            return rk_fail(err, RK_ERR_INTERNAL, "read callback overran its buffer");
        got += (size_t)r;
    }
    return (int64_t)got;
}

/* After the declared size: the body has to end here. */
static int at_end(rk_read_fn read, void *rud, uint64_t size, rk_err *err)
{
    char extra;
    int64_t r = read(rud, &extra, 1);
    if (r < 0)
        return rk_fail(err, (int)r, "reading the body failed: %s", rk_strerror((int)r));
    if (r > 0)
        return rk_fail(err, RK_ERR_INVALID, "body is longer than the declared %" PRIu64 " bytes",
                       size);
    return RK_OK;
}

static int short_body(uint64_t got, uint64_t size, rk_err *err)
{
    return rk_fail(err, RK_ERR_INVALID, "body has %" PRIu64 " bytes, declared %" PRIu64, got,
                   size);
}

static int put_single(s3_client *c, const char *key, const s3_meta_headers *mh,
                      uint64_t size, rk_read_fn read, void *rud, rk_err *err)
{
    char *buf = malloc(size ? (size_t)size : 1);
    if (!buf)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory for a %" PRIu64 "-byte body", size);
    int rc = RK_OK;
    int64_t got = fill(read, rud, buf, (size_t)size, err);
    if (got < 0)
        rc = (int)got;
    else if ((uint64_t)got < size)
        rc = short_body((uint64_t)got, size, err);
    else
        rc = at_end(read, rud, size, err);
    if (rc == RK_OK) {
        s3_request r = {.op = "put", .method = "PUT", .key = key, .headers = mh->h,
                        .n_headers = mh->n, .body = buf, .body_len = (size_t)size};
        s3_response resp;
        rc = s3_perform(c, &r, &resp, err);
        s3_response_free(&resp);
    }
    free(buf);
    return rc;
}

/* ---- multipart ---------------------------------------------------------- */

typedef struct mpu {
    s3_client *c;
    const char *key;
    char *upload_id; /* NULL until CreateMultipartUpload answered */
    char **etags;    /* etags[i] of part i + 1 */
    size_t n_parts;
} mpu;

static int mpu_create(mpu *u, const s3_meta_headers *mh, rk_err *err)
{
    static const sigv4_param q[] = {{"uploads", NULL}};
    char *query = sigv4_query(q, 1);
    if (!query)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    s3_request r = {.op = "mpu_create", .method = "POST", .key = u->key, .query = query,
                    .headers = mh->h, .n_headers = mh->n};
    s3_response resp;
    size_t pos = 0;
    int rc = s3_perform(u->c, &r, &resp, err);
    if (rc == RK_OK &&
        s3_xml_text(resp.body.p, resp.body.len, "UploadId", &pos, &u->upload_id) != 1)
        rc = rk_fail(err, RK_ERR_UPSTREAM, "S3 CreateMultipartUpload answered without UploadId");
    s3_response_free(&resp);
    free(query);
    return rc;
}

/* "partNumber=N&uploadId=ID" for a part, "uploadId=ID" when part is 0. */
static char *upload_query(const mpu *u, size_t part)
{
    char num[24];
    snprintf(num, sizeof num, "%zu", part);
    sigv4_param q[] = {{"partNumber", num}, {"uploadId", u->upload_id}};
    return part ? sigv4_query(q, 2) : sigv4_query(q + 1, 1);
}

static int mpu_part(mpu *u, const char *data, size_t len, rk_err *err)
{
    char **grown = realloc(u->etags, (u->n_parts + 1) * sizeof *grown);
    if (!grown)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    u->etags = grown;
    char *query = upload_query(u, u->n_parts + 1);
    if (!query)
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    s3_request r = {.op = "mpu_part", .method = "PUT", .key = u->key, .query = query,
                    .body = data, .body_len = len};
    s3_response resp;
    int rc = s3_perform(u->c, &r, &resp, err);
    const char *etag = rc == RK_OK ? s3_response_header(&resp, "etag") : NULL;
    if (rc == RK_OK && !etag)
        rc = rk_fail(err, RK_ERR_UPSTREAM, "S3 UploadPart answered without an ETag");
    if (rc == RK_OK && !(u->etags[u->n_parts] = strdup(etag)))
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
    if (rc == RK_OK)
        u->n_parts++;
    s3_response_free(&resp);
    free(query);
    return rc;
}

static char *complete_body(const mpu *u)
{
    s3_buf b = {0};
    s3_buf_str(&b, "<CompleteMultipartUpload>");
    for (size_t i = 0; i < u->n_parts; i++) {
        s3_buf_printf(&b, "<Part><PartNumber>%zu</PartNumber><ETag>", i + 1);
        s3_xml_escape(&b, u->etags[i]);
        s3_buf_str(&b, "</ETag></Part>");
    }
    s3_buf_str(&b, "</CompleteMultipartUpload>");
    return s3_buf_take(&b);
}

/* S3 may answer 200 and still report a failure in the body. */
static int complete_failed(const s3_response *resp, rk_err *err)
{
    size_t pos = 0, s, e;
    if (!resp->body.p || !s3_xml_element(resp->body.p, resp->body.len, "Error", &pos, &s, &e))
        return RK_OK;
    char *code = NULL;
    pos = s;
    s3_xml_text(resp->body.p, e, "Code", &pos, &code);
    int internal = code && (!strcmp(code, "InternalError") || !strcmp(code, "SlowDown") ||
                            !strcmp(code, "ServiceUnavailable"));
    rk_fail(err, internal ? RK_ERR_UNAVAILABLE : RK_ERR_UPSTREAM,
            "S3 CompleteMultipartUpload failed: %s", code ? code : "unknown error");
    free(code);
    return internal ? RK_ERR_UNAVAILABLE : RK_ERR_UPSTREAM;
}

static int mpu_complete(mpu *u, rk_err *err)
{
    static const sigv4_header xml[] = {{"content-type", "application/xml"}};
    char *body = complete_body(u), *query = upload_query(u, 0);
    int rc = RK_OK;
    if (!body || !query) {
        rc = rk_fail(err, RK_ERR_NOMEM, "out of memory");
    } else {
        s3_request r = {.op = "mpu_complete", .method = "POST", .key = u->key, .query = query,
                        .headers = xml, .n_headers = 1, .body = body, .body_len = strlen(body)};
        s3_response resp;
        rc = s3_perform(u->c, &r, &resp, err);
        if (rc == RK_OK)
            rc = complete_failed(&resp, err);
        s3_response_free(&resp);
    }
    free(body);
    free(query);
    return rc;
}

/* Best effort: when S3 is unreachable the parts stay until a lifecycle
 * rule (AbortIncompleteMultipartUpload) removes them; they are never
 * visible as an object either way. */
static void mpu_abort(mpu *u)
{
    rk_err err = {{0}};
    char *query = upload_query(u, 0);
    s3_request r = {.op = "mpu_abort", .method = "DELETE", .key = u->key, .query = query,
                    .cleanup = 1};
    s3_response resp;
    int rc = query ? s3_perform(u->c, &r, &resp, &err) : RK_ERR_NOMEM;
    if (query)
        s3_response_free(&resp);
    if (rc != RK_OK && rc != RK_ERR_NOT_FOUND)
        s3_log(u->c, RK_LOG_WARN, "could not abort multipart upload of %s: %s", u->key,
               rc == RK_ERR_NOMEM ? "out of memory" : err.msg);
    free(query);
}

/* Parts of at least o->part_size, grown so the body fits S3_MAX_PARTS. */
static size_t part_size_for(uint64_t size, const s3_upload_opts *o)
{
    uint64_t p = (uint64_t)o->part_size, need = (size + S3_MAX_PARTS - 1) / S3_MAX_PARTS;
    return (size_t)(p > need ? p : need);
}

static int put_multipart(s3_client *c, const char *key, const s3_meta_headers *mh,
                         uint64_t size, rk_read_fn read, void *rud, const s3_upload_opts *o,
                         rk_err *err)
{
    size_t psize = part_size_for(size, o);
    char *buf = malloc(psize);
    mpu u = {.c = c, .key = key};
    uint64_t total = 0;
    int rc = buf ? RK_OK : rk_fail(err, RK_ERR_NOMEM, "out of memory for a part buffer");
    while (rc == RK_OK && total < size) {
        size_t want = size - total < psize ? (size_t)(size - total) : psize;
        int64_t got = fill(read, rud, buf, want, err);
        if (got < 0) {
            rc = (int)got;
            break;
        }
        total += (uint64_t)got;
        if ((size_t)got < want)
            rc = short_body(total, size, err);
        else if (!u.upload_id) /* only once there is a part to send */
            rc = mpu_create(&u, mh, err);
        if (rc == RK_OK)
            rc = mpu_part(&u, buf, (size_t)got, err);
    }
    if (rc == RK_OK)
        rc = at_end(read, rud, size, err);
    if (rc == RK_OK)
        rc = mpu_complete(&u, err);
    if (rc != RK_OK && u.upload_id)
        mpu_abort(&u);
    for (size_t i = 0; i < u.n_parts; i++)
        free(u.etags[i]);
    free(u.etags);
    free(u.upload_id);
    free(buf);
    return rc;
}

int s3_upload(s3_client *c, const char *key, const s3_meta_headers *mh, uint64_t size,
              rk_read_fn read, void *rud, const s3_upload_opts *o, rk_err *err)
{
    if (size > (uint64_t)S3_MAX_PARTS * (5ULL << 30))
        return rk_fail(err, RK_ERR_TOO_LARGE, "%" PRIu64 " bytes is more than S3 stores",
                       size);
    if (size < (uint64_t)o->multipart_threshold)
        return put_single(c, key, mh, size, read, rud, err);
    return put_multipart(c, key, mh, size, read, rud, o, err);
}
