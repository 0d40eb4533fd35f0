/*
 * s3_upload — put one object, all or nothing: a single PUT below the
 * multipart threshold, otherwise a multipart upload that is aborted on any
 * failure. Either way nothing becomes visible until S3 accepted all of it,
 * and an older object under the key stays as it was until then.
 */
#ifndef RK_S3_UPLOAD_H
#define RK_S3_UPLOAD_H

#include <stdint.h>

#include <ragkernel/ragkernel.h>

#include "s3_http.h"
#include "s3_object.h"

#define S3_MIN_PART (5LL * 1024 * 1024)    /* S3's smallest part but the last */
#define S3_MAX_PARTS 10000
#define S3_MAX_SINGLE (5LL * 1024 * 1024 * 1024) /* largest single PUT */

typedef struct s3_upload_opts {
    int64_t multipart_threshold; /* size at which multipart starts; >= 1 */
    int64_t part_size;           /* >= S3_MIN_PART; grown to fit S3_MAX_PARTS */
} s3_upload_opts;

/* Reads exactly `size` bytes from read() (RK_ERR_INVALID if the body is
 * shorter or longer; a read() error aborts with its status) and stores
 * them under key with the metadata headers mh. */
int s3_upload(s3_client *c, const char *key, const s3_meta_headers *mh, uint64_t size,
              rk_read_fn read, void *rud, const s3_upload_opts *o, rk_err *err);

#endif
