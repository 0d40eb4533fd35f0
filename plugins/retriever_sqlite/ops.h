/*
 * ops — the retriever vtable slots of retriever_sqlite (see
 * <ragkernel/retriever.h> for each slot's contract and threads).
 */
#ifndef RK_RETRIEVER_SQLITE_OPS_H
#define RK_RETRIEVER_SQLITE_OPS_H

#include "rs.h"

int rs_index(void *ctx, const rk_chunk *chunks, size_t n, rk_err *err);
int rs_remove(void *ctx, const char *tenant, const char *doc_id, rk_err *err);
int rs_search(void *ctx, const rk_query *q,
              void (*on_hit)(void *ud, const rk_passage *p), void *ud,
              rk_err *err);
int64_t rs_doc_chunks(void *ctx, const char *tenant, const char *doc_id,
                      rk_err *err);
int rs_index_versioned(void *ctx, const rk_chunk *chunks, size_t n, const char *version,
                       rk_err *err);
int rs_doc_version(void *ctx, const char *tenant, const char *doc_id, char *out,
                   size_t cap, rk_err *err);

#endif
