/*
 * docs_prev — the version of a document that an upload replaces, held in
 * memory from before the new version is stored until it is indexed. If the
 * index step fails, the upload must leave nothing of itself and lose
 * nothing of what was there: the previous version is stored again and
 * indexed again. Only replacements pay for this (one stat per upload, one
 * read per replacement); the copy is bounded by the upload size limit of
 * the transport that stored it.
 */
#define _GNU_SOURCE
#include "docs_prev.h"

#include <stdlib.h>
#include <string.h>


static void on_meta(void *ud, const rk_doc_meta *m)
{
    docs_prev *p = ud;
    free(p->filename);
    free(p->ctype);
    free(p->sha256);
    p->filename = m->filename ? strdup(m->filename) : NULL;
    p->ctype = m->content_type ? strdup(m->content_type) : NULL;
    p->sha256 = m->sha256 ? strdup(m->sha256) : NULL;
    p->meta = *m;
    p->meta.struct_size = sizeof p->meta;
    p->meta.filename = p->filename;
    p->meta.content_type = p->ctype;
    p->meta.sha256 = p->sha256;
    p->have = 1;
}

int docs__prev_load(docs *d, const char *tenant, const char *id, docs_prev *p, rk_err *err)
{
    memset(p, 0, sizeof *p);
    int rc = docs__stat(d, tenant, id, on_meta, p, err);
    if (rc == RK_ERR_NOT_FOUND) return RK_OK; /* p->have stays 0 */
    if (rc == RK_OK && p->have)
        rc = docs__fetch(d, tenant, id, 0, 0, docs__blob_write, &p->blob, err);
    if (rc != RK_OK) {
        docs__prev_free(p);
        return rc;
    }
    p->meta.tenant = tenant; /* the caller's, alive as long as p */
    p->meta.id = id;
    return RK_OK;
}

int docs__prev_restore(docs *d, docs_prev *p, rk_err *err)
{
    ingest_doc doc = {0};
    rk_err e = {{0}};
    int rc = docs__store(d, &p->meta, sb_str(&p->blob), p->blob.len, &e);
    if (rc == RK_OK)
        rc = ingest_run(d->ingest, sb_str(&p->blob), p->blob.len, p->filename, p->ctype, &doc, &e);
    if (rc == RK_OK) rc = docs__index(d, p->meta.tenant, p->meta.id, &doc, p->sha256, &e);
    ingest_doc_free(&doc);
    if (rc != RK_OK) rk_fail(err, rc, "%s", e.msg);
    return rc;
}

void docs__prev_free(docs_prev *p)
{
    free(p->filename);
    free(p->ctype);
    free(p->sha256);
    sb_free(&p->blob);
    memset(p, 0, sizeof *p);
}
