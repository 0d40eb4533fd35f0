/*
 * docs_index — the index side of the document service: writing a
 * document's chunks together with the version they were made from,
 * removing them, telling whether the index holds the version storage
 * holds, and the per-document locks that keep one host's store and index
 * steps of a document in order. Storage is the source of truth and every
 * write reaches it first, so a crash between the two steps leaves the
 * index behind storage, never ahead: recording the stored sha256 next to
 * the chunks (retriever ABI 1.1: index_versioned, doc_version) lets the
 * start-up pass find such documents by comparing versions instead of only
 * asking whether any chunks exist. A retriever without those slots gets
 * the old test (chunks or none). The locks are striped by (tenant, id):
 * two uploads of one name, or an upload racing the start-up pass, would
 * otherwise interleave as "store A, store B, index B, index A" and leave
 * the index on the version storage no longer has.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "docs_impl.h"
#include "gate.h"

static int has_versions(const docs *d)
{
    return d->rvt && RK_HAS_FIELD(d->rvt, rk_retriever_vtable, doc_version) &&
           d->rvt->index_versioned && d->rvt->doc_version;
}

int docs__index(docs *d, const char *tenant, const char *id, const ingest_doc *doc,
                const char *version, rk_err *err)
{
    rk_chunk *v = calloc(doc->chunks.n ? doc->chunks.n : 1, sizeof *v);
    if (!v) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < doc->chunks.n; i++)
        v[i] = (rk_chunk){.struct_size = sizeof v[i], .tenant = tenant, .doc_id = id,
                          .title = doc->title, .index = (uint32_t)i,
                          .text = doc->chunks.text[i], .lang = NULL};
    int rc = has_versions(d) && version
                 ? GATE_CALL(d->retriever, rk_retriever_vtable, index_versioned,
                             RK_ERR_UNSUPPORTED, v, doc->chunks.n, version, err)
                 : GATE_CALL(d->retriever, rk_retriever_vtable, index, RK_ERR_UNSUPPORTED, v,
                             doc->chunks.n, err);
    free(v);
    return rc;
}

int docs__unindex(docs *d, const char *tenant, const char *id, rk_err *err)
{
    return GATE_CALL(d->retriever, rk_retriever_vtable, remove, RK_ERR_UNSUPPORTED, tenant, id,
                     err);
}

int docs__index_current(docs *d, const char *tenant, const char *id, const char *sha256,
                        rk_err *err)
{
    if (!has_versions(d) || !sha256 || !*sha256) {
        int64_t n = GATE_CALL(d->retriever, rk_retriever_vtable, doc_chunks,
                              (int64_t)RK_ERR_UNSUPPORTED, tenant, id, err);
        return n < 0 ? (int)n : n > 0;
    }
    char have[RK_DOC_VERSION_MAX];
    int rc = GATE_CALL(d->retriever, rk_retriever_vtable, doc_version, RK_ERR_UNSUPPORTED, tenant,
                       id, have, sizeof have, err);
    if (rc == RK_ERR_NOT_FOUND) return 0;
    if (rc != RK_OK) return rc;
    have[sizeof have - 1] = '\0';
    return strcmp(have, sha256) == 0;
}

/* ---- per-document locks ------------------------------------------------ */

static pthread_mutex_t *stripe(docs *d, const char *tenant, const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a over "tenant/id" */
    for (const char *p = tenant; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    h = (h ^ '/') * 16777619u;
    for (const char *p = id; *p; p++) h = (h ^ (unsigned char)*p) * 16777619u;
    return &d->doc_mu[h % DOCS_STRIPES];
}

void docs__doc_lock(docs *d, const char *tenant, const char *id)
{
    pthread_mutex_lock(stripe(d, tenant, id));
}

void docs__doc_unlock(docs *d, const char *tenant, const char *id)
{
    pthread_mutex_unlock(stripe(d, tenant, id));
}

void docs__locks_init(docs *d)
{
    for (int i = 0; i < DOCS_STRIPES; i++) pthread_mutex_init(&d->doc_mu[i], NULL);
}

void docs__locks_destroy(docs *d)
{
    for (int i = 0; i < DOCS_STRIPES; i++) pthread_mutex_destroy(&d->doc_mu[i]);
}
