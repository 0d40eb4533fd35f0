/*
 * readonly_retriever.h — the body of the test retrievers that declare
 * RK_CAP_READ_ONLY: one fixed passage answers every search; writes return
 * RO_WRITE_RC, which the including .c sets (RK_ERR_UNSUPPORTED for the
 * honest one, RK_OK for the one whose declaration is a lie). Included by
 * exactly one .c per .so (everything here is static).
 */
#ifndef RK_TEST_READONLY_RETRIEVER_H
#define RK_TEST_READONLY_RETRIEVER_H

#include <stddef.h>

#include <ragkernel/ragkernel.h>

static int ro_index(void *ctx, const rk_chunk *chunks, size_t n, rk_err *err)
{
    return RO_WRITE_RC == RK_OK ? RK_OK
                                : rk_fail(err, RO_WRITE_RC, "read-only index: built elsewhere");
}

static int ro_remove(void *ctx, const char *tenant, const char *doc_id, rk_err *err)
{
    return RO_WRITE_RC == RK_OK ? RK_OK
                                : rk_fail(err, RO_WRITE_RC, "read-only index: built elsewhere");
}

static int ro_search(void *ctx, const rk_query *q, void (*on_hit)(void *ud, const rk_passage *p),
                     void *ud, rk_err *err)
{
    rk_passage p = {.struct_size = sizeof p, .doc_id = "atlas", .title = "Atlas",
                    .text = "Paris is the capital of France.", .score = 1.0};
    if (q->k == 0) return 0;
    on_hit(ud, &p);
    return 1;
}

static int64_t ro_doc_chunks(void *ctx, const char *tenant, const char *doc_id, rk_err *err)
{
    return 0;
}

static int ro_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    *ctx = NULL;
    return RK_OK;
}

static void ro_destroy(void *ctx) {}

static const rk_retriever_vtable ro_vt = {
    .struct_size = sizeof(rk_retriever_vtable),
    .index = ro_index,
    .remove = ro_remove,
    .search = ro_search,
    .doc_chunks = ro_doc_chunks,
};

#endif
