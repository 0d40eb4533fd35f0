/*
 * s3_list — the storage list() call over ListObjectsV2.
 */
#ifndef RK_S3_LIST_H
#define RK_S3_LIST_H

#include <stddef.h>

#include <ragkernel/ragkernel.h>

#include "s3_http.h"

typedef struct s3_list_args {
    s3_client *c;
    const char *prefix; /* the instance's key prefix */
    const char *tenant; /* NULL: every tenant, cursor "<tenant>/<id>" */
    const char *after;  /* cursor: list what comes after it; NULL from the start */
    size_t limit;       /* 0: no limit */
    void (*on_meta)(void *ud, const rk_doc_meta *m);
    void *ud;
} s3_list_args;

/* Objects in key order (per tenant that is id order), one on_meta each.
 * Returns how many were listed, or <0 with err set. */
int s3_list(const s3_list_args *a, rk_err *err);

#endif
