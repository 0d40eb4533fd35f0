/*
 * s3_object — how a document maps onto an S3 object: the key
 * "<prefix><tenant>/<id>", and the metadata carried in the object's own
 * headers (Content-Type and x-amz-meta-{filename,sha256,created-ms,size}),
 * so one PUT or one multipart completion publishes blob and metadata
 * together.
 */
#ifndef RK_S3_OBJECT_H
#define RK_S3_OBJECT_H

#include <stddef.h>

#include <ragkernel/ragkernel.h>

#include "s3_http.h"
#include "sigv4.h"

#define S3_NAME_MAX 64

/* [A-Za-z0-9_-]{1,64}: what tenants and ids may be. */
int s3_name_ok(const char *s, size_t n);
/* RK_OK, or RK_ERR_INVALID naming the bad one; id NULL checks the tenant only. */
int s3_check_names(const char *tenant, const char *id, rk_err *err);
/* "<prefix><tenant>/<id>" (malloc'd), NULL on no memory. */
char *s3_object_key(const char *prefix, const char *tenant, const char *id);

#define S3_META_HEADERS 5
typedef struct s3_meta_headers {
    sigv4_header h[S3_META_HEADERS];
    size_t n;
    char *owned[S3_META_HEADERS];
} s3_meta_headers;

/* The headers that store m (created_ms replaces m->created_ms). */
int s3_meta_headers_make(const rk_doc_meta *m, int64_t created_ms, s3_meta_headers *out,
                         rk_err *err);
void s3_meta_headers_free(s3_meta_headers *h);

typedef struct s3_meta_doc {
    rk_doc_meta m; /* points into this struct */
    char tenant[S3_NAME_MAX + 1], id[S3_NAME_MAX + 1];
    char *filename, *content_type, *sha256;
} s3_meta_doc;

/* The metadata of a HEAD (or GET) answer. Objects written by other tools
 * lack our headers: the filename falls back to the id, the time to
 * Last-Modified, the hash to "". */
int s3_meta_from_response(const s3_response *r, const char *tenant, const char *id,
                          s3_meta_doc *out, rk_err *err);
void s3_meta_doc_free(s3_meta_doc *d);

/* HEAD of key, as the document (tenant, id). RK_ERR_NOT_FOUND if absent. */
int s3_stat_key(s3_client *c, const char *key, const char *tenant, const char *id,
                s3_meta_doc *out, rk_err *err);

#endif
