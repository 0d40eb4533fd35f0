/*
 * ragkernel SDK — retriever plugins (kind RK_KIND_RETRIEVER).
 *
 * Threading: all slots are blocking calls made on host worker threads,
 * concurrently from several threads unless the plugin sets
 * RK_PLUGIN_SERIALIZE. Searches must be safe while indexing runs.
 *
 * Tenancy: every chunk and query carries a tenant (never NULL; "default"
 * for the single-tenant case). A search must only return chunks of the
 * query's tenant.
 */
#ifndef RAGKERNEL_RETRIEVER_H
#define RAGKERNEL_RETRIEVER_H

#include "chat.h"
#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rk_chunk {
    uint32_t struct_size;
    const char *tenant;
    const char *doc_id;
    const char *title;
    uint32_t index;     /* position within the document, from 0 */
    const char *text;
    const char *lang;   /* ISO 639-1 hint ("en", "ru") or NULL: detect */
} rk_chunk;

typedef struct rk_query {
    uint32_t struct_size;
    const char *tenant;
    const char *text;
    size_t k;                     /* return at most k passages */
    const char *const *doc_ids;   /* restrict to these documents; NULL = all */
    size_t n_doc_ids;
    int64_t deadline_ms;          /* host->now_ms clock; stop early past it */
    int fast;                     /* simple query: prefer speed over recall */
} rk_query;

typedef struct rk_retriever_vtable {
    RK_VTABLE_HEAD;
    /* Required. Add all chunks of one document atomically, replacing any
     * chunks the index already holds for (tenant, doc_id) of chunks[0]. All
     * chunks of one call belong to the same document. */
    int (*index)(void *ctx, const rk_chunk *chunks, size_t n, rk_err *err);
    /* Required. Remove every chunk of the document. RK_ERR_NOT_FOUND if it
     * had none. */
    int (*remove)(void *ctx, const char *tenant, const char *doc_id,
                  rk_err *err);
    /* Required. Best passages first, one on_hit call each (passage valid
     * during the callback only). Returns the number of hits or <0. */
    int (*search)(void *ctx, const rk_query *q,
                  void (*on_hit)(void *ud, const rk_passage *p), void *ud,
                  rk_err *err);
    /* Required. Number of chunks indexed for the document (0 if none), used
     * to find documents that storage has but the index lacks. */
    int64_t (*doc_chunks)(void *ctx, const char *tenant, const char *doc_id,
                          rk_err *err);
} rk_retriever_vtable;

#ifdef __cplusplus
}
#endif
#endif
