/*
 * docs_admin — the document service's administrative calls, behind the
 * "documents" service's doc_status, doc_reindex and doc_put_async slots:
 * one document's state (stored metadata, chunks and version in the index,
 * progress of work under way), re-indexing one document from storage, and
 * uploads answered as soon as they are accepted.
 *
 * Same threading and sink contract as docs.h: the calls return at once,
 * the work and every callback run on a worker of the pool, on RK_OK
 * exactly one on_done follows (after one on_status when the sink has the
 * slot). Input errors come through on_done with an HTTP status.
 */
#ifndef RK_CORE_DOCS_ADMIN_H
#define RK_CORE_DOCS_ADMIN_H

#include "docs.h"

/* on_status, then on_done(RK_OK, 200). 404 when the document is neither
 * stored nor tracked (an asynchronous upload under way or failed); 503
 * when storage or the index cannot be asked. States: see rk_doc_status. */
int docs_status(docs *d, const char *tenant, const char *id, const rk_doc_sink *sink,
                void *ud, rk_err *err);

/* Re-extract and re-index the stored document (under its lock, so an
 * upload of the same id cannot interleave), then on_status and
 * on_done(RK_OK, 200). 404 unknown, 409 without an index, 413/415/422
 * when its bytes no longer extract (the failure is kept for doc_status),
 * 503 when storage or the index fails. */
int docs_reindex(docs *d, const char *tenant, const char *id, const rk_doc_sink *sink,
                 void *ud, rk_err *err);

/* Accept an upload (400 for a bad tenant, id or filename), answer
 * on_status (pending, phase "queued") and on_done(RK_OK, 202), then run
 * docs_put's work on the same worker, recording its progress and outcome
 * for docs_status. docs_free waits for it. A process that dies before the
 * bytes were stored loses the upload (docs_status then says 404); once
 * stored, the start-up re-index finishes it. */
int docs_put_async(docs *d, const rk_doc_upload *up, const rk_doc_sink *sink, void *ud,
                   rk_err *err);

#endif
