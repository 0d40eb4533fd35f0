/*
 * docs_impl — the document service's internals, shared by its files, from
 * the lowest layer up: docs_store.c (storage calls), docs_index.c (index
 * calls, per-document locks), docs_prev.c (the previous version of a
 * replaced document), docs.c (the upload path, lifecycle), docs_jobs.c
 * (the public calls as pool jobs) and docs_reindex.c (seeding and
 * re-indexing at start-up); each uses only those before it. Not for other
 * modules: use docs.h.
 */
#ifndef RK_CORE_DOCS_IMPL_H
#define RK_CORE_DOCS_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "docs.h"
#include "ingest.h"
#include "registry.h"
#include "sha256.h"

#define DOCS_STRIPES 64

struct docs {
    rk_instance *storage, *retriever; /* borrowed; retriever may be NULL */
    rk_instance *cache;               /* borrowed, may be NULL: see docver.h */
    ingest_set *ingest;               /* owned; NULL = no extractor (uploads get 415) */
    const rk_storage_vtable *svt;
    const rk_retriever_vtable *rvt;   /* NULL without a retriever */
    pool *pool;                       /* borrowed */
    char *seed_dir;                   /* owned, or NULL */
    pthread_mutex_t mu;               /* guards inflight, stopping */
    pthread_cond_t idle;              /* inflight reached 0 */
    int inflight;                     /* accepted jobs not yet finished */
    int stopping;
    atomic_int stop;                  /* read by the background work */
    atomic_int reindexing;
    rk_metric *m_uploaded, *m_deleted, *m_ingest;
    pthread_mutex_t doc_mu[DOCS_STRIPES]; /* docs_index.c: one document's writes */
    struct docs_track *track;         /* owned: docs_track.h */
};

/* One upload through the whole path (validate, extract + chunk, store,
 * index); tenant must be set. */
typedef struct docs_put_req {
    const char *tenant, *id, *filename, *content_type;
    const void *data;
    size_t len;
} docs_put_req;

typedef struct docs_put_res {
    char id[DOCS_ID_MAX + 1];
    char sha256[SHA256_HEX_LEN];
    rk_doc_meta meta; /* points into this struct and the request */
    int http;         /* 201 on success, else the status that fits */
    size_t chunks;
} docs_put_res;

int docs__put(docs *d, const docs_put_req *req, docs_put_res *res, rk_err *err);

/* docs_store.c: storage calls, each under the instance's serial lock when
 * it asks. */
int docs__store(docs *d, const rk_doc_meta *m, const void *data, size_t len, rk_err *err);
int docs__unstore(docs *d, const char *tenant, const char *id, rk_err *err);
int docs__list(docs *d, const char *tenant, const char *after, size_t limit,
               void (*on_meta)(void *ud, const rk_doc_meta *m), void *ud, rk_err *err);
int docs__fetch(docs *d, const char *tenant, const char *id, uint64_t off, uint64_t len,
                rk_write_fn write, void *wud, rk_err *err);
int docs__stat(docs *d, const char *tenant, const char *id,
               void (*on_meta)(void *ud, const rk_doc_meta *m), void *ud, rk_err *err);
/* An rk_write_fn that appends to the strbuf at ud (RK_ERR_NOMEM once it
 * ran out of memory): a whole document into memory. */
int docs__blob_write(void *ud, const void *data, size_t len);
/* docs_reindex.c. Index what storage holds now under (tenant, id), under
 * the caller's docs__doc_lock; *chunks (may be NULL) gets the count.
 * RK_ERR_NOT_FOUND when storage no longer has it (its chunks are gone). */
int docs__redo(docs *d, const char *tenant, const char *id, size_t *chunks, rk_err *err);

/* docs_index.c. Index the chunks of doc, recording version (the stored
 * sha256; NULL = none) when the retriever keeps versions. */
int docs__index(docs *d, const char *tenant, const char *id, const ingest_doc *doc,
                const char *version, rk_err *err);
int docs__unindex(docs *d, const char *tenant, const char *id, rk_err *err);
/* 1 when the index holds the document at version sha256 (a retriever
 * without versions: when it holds any chunks of it), 0 when not, <0 on an
 * error. */
int docs__index_current(docs *d, const char *tenant, const char *id, const char *sha256,
                        rk_err *err);
/* Serialise the store and index steps of one (tenant, id) on this host:
 * uploads, deletes and the start-up pass take it around both. */
void docs__doc_lock(docs *d, const char *tenant, const char *id);
void docs__doc_unlock(docs *d, const char *tenant, const char *id);
void docs__locks_init(docs *d);
void docs__locks_destroy(docs *d);

/* Job accounting: submit counts the job (RK_ERR_UNAVAILABLE once stopping
 * or when the pool refuses); every accepted job ends with job_done. */
int docs__submit(docs *d, void (*fn)(void *), void *arg, rk_err *err);
void docs__job_done(docs *d);

#endif
