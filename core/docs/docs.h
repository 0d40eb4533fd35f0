/*
 * docs — the document service behind rk_host.doc_put/list/get/delete:
 * upload = extract + chunk (ingest.h), store (storage instance), index
 * (retriever instance), all or nothing; list/get/delete; re-indexing of
 * stored documents the index lacks, and seeding an empty store from a
 * directory, in the background at start-up.
 *
 * Threads: every docs_* call may come from any thread and returns at once;
 * the work and every sink callback run on a worker of the pool. On RK_OK
 * the sink gets exactly one on_done (after any on_meta/on_data). Input
 * errors (bad tenant or id, unreadable file, unknown document) are
 * reported through on_done with an HTTP status; a non-RK_OK return means
 * no callback will come: RK_ERR_INVALID (NULL arguments, or a sink without
 * on_done), RK_ERR_NOMEM, or RK_ERR_UNAVAILABLE (docs_free has begun, or
 * the pool is shutting down).
 *
 * The sink struct is copied (by its struct_size) at the call; ud must stay
 * valid until on_done. Instances are borrowed: the registry generation
 * that owns them, and the pool, must outlive the docs object.
 */
#ifndef RK_CORE_DOCS_H
#define RK_CORE_DOCS_H

#include <stddef.h>
#include <stdint.h>

#include <ragkernel/ragkernel.h>

#include "pool.h"

#define DOCS_DEFAULT_TENANT "default"
#define DOCS_LIST_DEFAULT 100  /* limit 0 */
#define DOCS_LIST_MAX 1000     /* larger limits are capped */
#define DOCS_ID_MAX 64         /* [A-Za-z0-9_-]{1,64}, tenants too */
#define DOCS_FILENAME_MAX 255  /* bytes, after dropping any directory part */
#define DOCS_SEED_MAX_FILE (16u * 1024 * 1024)

typedef struct docs docs;

/* storage: an RK_KIND_STORAGE instance (required); retriever: an
 * RK_KIND_RETRIEVER instance or NULL (documents are then stored but not
 * searchable); seed_dir: NULL or a directory whose files are uploaded as
 * tenant "default" when that tenant has no documents. NULL + err when an
 * instance is missing or of the wrong kind. */
docs *docs_new(rk_instance *storage, rk_instance *retriever, pool *p,
               const char *seed_dir, rk_err *err);

/* Stops the background re-index at its next document, refuses new calls
 * (RK_ERR_UNAVAILABLE) and waits until every job already accepted has
 * called its on_done. Call it from a thread that is not a worker of the
 * pool, before the pool and the instances go away. NULL is fine. */
void docs_free(docs *d);

/* Upload (see rk_host.doc_put). The id, when NULL, comes from the filename:
 * lowercased, runs of other characters than [a-z0-9] as '-', trimmed, at
 * most 48 bytes, then '-' and the first 8 hex digits of sha256(filename),
 * so the same name replaces and distinct names never share an id. Success:
 * on_meta (the stored metadata), then on_done(RK_OK, 201). Failures:
 * 400 (tenant, id or filename), 413, 415, 422 (ingest.h), 503 (storage or
 * index unavailable; nothing of the new upload is kept). */
int docs_put(docs *d, const rk_doc_upload *up, const rk_doc_sink *sink, void *ud,
             rk_err *err);

/* One page of a tenant's documents in id order, after `after` (NULL = from
 * the start); limit 0 = DOCS_LIST_DEFAULT, capped at DOCS_LIST_MAX. One
 * on_meta per document, then on_done(RK_OK, 200, NULL, next) where next
 * is the last id when the page is full (more may follow), else NULL. */
int docs_list(docs *d, const char *tenant, const char *after, size_t limit,
              const rk_doc_sink *sink, void *ud, rk_err *err);

/* on_meta (size, sha256, content type: enough for headers), then the bytes
 * [offset, offset+length) (length 0 = to the end) through on_data, then
 * on_done(RK_OK, 200). 404 unknown; 416 offset past the end (before
 * on_meta); RK_ERR_CANCELLED when on_data returned <0. */
int docs_get(docs *d, const char *tenant, const char *id, uint64_t offset,
             uint64_t length, const rk_doc_sink *sink, void *ud, rk_err *err);

/* Removes the document's chunks from the index, then the document:
 * on_done(RK_OK, 204); 404 unknown; 503 when a backend fails (the
 * document then stays listed and can be deleted again). */
int docs_delete(docs *d, const char *tenant, const char *id,
                const rk_doc_sink *sink, void *ud, rk_err *err);

/* Start the background start-up work on the pool: seed (see docs_new),
 * then re-index every stored document (all tenants) for which the
 * retriever has no chunks, and log a summary. RK_OK when started or
 * already running; RK_ERR_UNAVAILABLE when stopping. */
int docs_reindex_async(docs *d);

/* 1 while the background work of docs_reindex_async runs (for tests and
 * readiness reporting). */
int docs_reindex_running(docs *d);

/* The cache whose answers and retrieval results must forget a tenant's
 * documents when they change (docver.h); NULL = none. Call before use. */
void docs_set_cache(docs *d, rk_instance *cache);

/* The extractors uploads are read with (ingest.h; owned from here on,
 * freed by docs_free). Call before use; without one every upload gets 415. */
struct ingest_set;
void docs_set_ingest(docs *d, struct ingest_set *s);

/* Exposed for tests: the id derived from a filename (buffer of at least
 * DOCS_ID_MAX + 1 bytes), and the id/tenant syntax check. */
void docs_derive_id(const char *filename, char out[DOCS_ID_MAX + 1]);
int docs_name_ok(const char *s);

#endif
