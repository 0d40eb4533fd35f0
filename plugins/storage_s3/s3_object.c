/*
 * s3_object — keys and metadata headers. Metadata travels as x-amz-meta-*
 * headers rather than a sidecar object because S3 publishes an object's
 * headers atomically with its bytes: no reader ever sees a blob without its
 * metadata or the reverse, which is what all-or-nothing put needs. Header
 * values must be plain ASCII (S3 mangles anything else through RFC 2047),
 * so the free-text filename is percent-encoded.
 */
#include "s3_object.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FILENAME_MAX_ENC 1024 /* S3 allows 2 KB of user metadata in all */

int s3_name_ok(const char *s, size_t n)
{
    if (!s || n == 0 || n > S3_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int s3_check_names(const char *tenant, const char *id, rk_err *err)
{
    if (!tenant || !s3_name_ok(tenant, strnlen(tenant, S3_NAME_MAX + 1)))
        return rk_fail(err, RK_ERR_INVALID, "invalid tenant (want [A-Za-z0-9_-]{1,64})");
    if (id && !s3_name_ok(id, strnlen(id, S3_NAME_MAX + 1)))
        return rk_fail(err, RK_ERR_INVALID, "invalid document id (want [A-Za-z0-9_-]{1,64})");
    return RK_OK;
}

char *s3_object_key(const char *prefix, const char *tenant, const char *id)
{
    s3_buf b = {0};
    s3_buf_printf(&b, "%s%s/%s", prefix, tenant, id);
    return s3_buf_take(&b);
}

static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

static int add(s3_meta_headers *h, const char *name, char *value)
{
    if (!value)
        return -1;
    h->owned[h->n] = value;
    h->h[h->n++] = (sigv4_header){name, value};
    return 0;
}

static char *encoded(const char *s)
{
    s3_buf b = {0};
    sigv4_encode(&b, s, strlen(s), 0);
    return s3_buf_take(&b);
}

static char *number(int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return strdup(buf);
}

int s3_meta_headers_make(const rk_doc_meta *m, int64_t created_ms, s3_meta_headers *out,
                         rk_err *err)
{
    *out = (s3_meta_headers){0};
    const char *ct = m->content_type && *m->content_type ? m->content_type
                                                           : "application/octet-stream";
    if (!printable(ct) || strlen(ct) > 255)
        return rk_fail(err, RK_ERR_INVALID, "content type must be printable ASCII");
    if (m->filename && strlen(m->filename) > FILENAME_MAX_ENC / 3)
        return rk_fail(err, RK_ERR_INVALID, "filename longer than %d bytes",
                       FILENAME_MAX_ENC / 3);
    int bad = add(out, "content-type", strdup(ct));
    if (!bad && m->filename)
        bad = add(out, "x-amz-meta-filename", encoded(m->filename));
    if (!bad && m->sha256)
        bad = add(out, "x-amz-meta-sha256", encoded(m->sha256));
    if (!bad)
        bad = add(out, "x-amz-meta-created-ms", number(created_ms));
    if (!bad)
        bad = add(out, "x-amz-meta-size", number((int64_t)m->size));
    if (bad) {
        s3_meta_headers_free(out);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    return RK_OK;
}

void s3_meta_headers_free(s3_meta_headers *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->owned[i]);
    *h = (s3_meta_headers){0};
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent-decoded copy; a malformed escape is kept as written. */
static char *decoded(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

static uint64_t size_of(const s3_response *r)
{
    const char *cl = s3_response_header(r, "content-length");
    const char *ms = s3_response_header(r, "x-amz-meta-size");
    const char *v = cl ? cl : ms;
    return v ? strtoull(v, NULL, 10) : 0;
}

static int64_t created_of(const s3_response *r)
{
    const char *ms = s3_response_header(r, "x-amz-meta-created-ms");
    if (ms)
        return strtoll(ms, NULL, 10);
    const char *lm = s3_response_header(r, "last-modified");
    time_t t = lm ? curl_getdate(lm, NULL) : -1;
    return t < 0 ? 0 : (int64_t)t * 1000;
}

int s3_meta_from_response(const s3_response *r, const char *tenant, const char *id,
                          s3_meta_doc *out, rk_err *err)
{
    *out = (s3_meta_doc){0};
    snprintf(out->tenant, sizeof out->tenant, "%s", tenant);
    snprintf(out->id, sizeof out->id, "%s", id);
    const char *fn = s3_response_header(r, "x-amz-meta-filename");
    const char *ct = s3_response_header(r, "content-type");
    const char *sha = s3_response_header(r, "x-amz-meta-sha256");
    out->filename = decoded(fn ? fn : id);
    out->content_type = strdup(ct ? ct : "application/octet-stream");
    out->sha256 = decoded(sha ? sha : "");
    if (!out->filename || !out->content_type || !out->sha256) {
        s3_meta_doc_free(out);
        return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    }
    out->m = (rk_doc_meta){.struct_size = sizeof out->m,
                           .tenant = out->tenant,
                           .id = out->id,
                           .filename = out->filename,
                           .content_type = out->content_type,
                           .size = size_of(r),
                           .sha256 = out->sha256,
                           .created_ms = created_of(r)};
    return RK_OK;
}

void s3_meta_doc_free(s3_meta_doc *d)
{
    free(d->filename);
    free(d->content_type);
    free(d->sha256);
    d->filename = d->content_type = d->sha256 = NULL;
}

int s3_stat_key(s3_client *c, const char *key, const char *tenant, const char *id,
                s3_meta_doc *out, rk_err *err)
{
    s3_request r = {.op = "head", .method = "HEAD", .key = key};
    s3_response resp;
    *out = (s3_meta_doc){0};
    int rc = s3_perform(c, &r, &resp, err);
    if (rc == RK_ERR_NOT_FOUND)
        rc = rk_fail(err, RK_ERR_NOT_FOUND, "no document %s", id);
    else if (rc == RK_OK)
        rc = s3_meta_from_response(&resp, tenant, id, out, err);
    s3_response_free(&resp);
    return rc;
}
