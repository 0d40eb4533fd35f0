/*
 * docs_prev — the previous version of a document an upload replaces, kept
 * so a failed index step can put it back (see docs_prev.c). Worker threads,
 * inside the document service.
 */
#ifndef RK_CORE_DOCS_PREV_H
#define RK_CORE_DOCS_PREV_H

#include "docs_impl.h"
#include "strbuf.h"

typedef struct docs_prev {
    int have;         /* a version existed */
    rk_doc_meta meta; /* its metadata; strings owned here or by the caller */
    char *filename, *ctype, *sha256;
    strbuf blob;      /* its bytes */
} docs_prev;

/* Read what is stored under tenant/id into p (p->have = 0 if nothing is):
 * RK_OK, or the storage's error. tenant and id must outlive p. */
int docs__prev_load(docs *d, const char *tenant, const char *id, docs_prev *p, rk_err *err);
/* Store p again and index it again: RK_OK or the first error. */
int docs__prev_restore(docs *d, docs_prev *p, rk_err *err);
void docs__prev_free(docs_prev *p);

#endif
