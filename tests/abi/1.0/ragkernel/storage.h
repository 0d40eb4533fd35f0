/*
 * ragkernel SDK — document storage plugins (kind RK_KIND_STORAGE).
 *
 * Storage is the source of truth for documents: blobs plus metadata.
 * Threading: blocking calls on host worker threads, concurrently unless
 * RK_PLUGIN_SERIALIZE. Ids are chosen by the host ([A-Za-z0-9_-], at most
 * 64 bytes) and are never paths; tenants likewise.
 *
 * put() is all-or-nothing: on failure nothing of the new object is visible
 * and an older object with the same id is unchanged.
 */
#ifndef RAGKERNEL_STORAGE_H
#define RAGKERNEL_STORAGE_H

#include "plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rk_doc_meta {
    uint32_t struct_size;
    const char *tenant;
    const char *id;
    const char *filename;     /* as uploaded, for display and Content-Disposition */
    const char *content_type; /* e.g. "text/markdown" */
    uint64_t size;            /* bytes */
    const char *sha256;       /* lowercase hex of the content */
    int64_t created_ms;       /* Unix time in ms */
} rk_doc_meta;

/* Pulls the body: fills buf with up to cap bytes, returns the count, 0 at
 * the end, <0 (an rk_status) to abort the put. */
typedef int64_t (*rk_read_fn)(void *ud, void *buf, size_t cap);
/* Pushes body bytes to the caller; returns 0, or <0 to abort the get. */
typedef int (*rk_write_fn)(void *ud, const void *data, size_t len);

typedef struct rk_storage_vtable {
    RK_VTABLE_HEAD;
    /* Required. Store meta->size bytes read from read() under (tenant, id),
     * with the metadata. */
    int (*put)(void *ctx, const rk_doc_meta *meta, rk_read_fn read, void *rud,
               rk_err *err);
    /* Required. Stream bytes [offset, offset+length) (length 0 = to the end)
     * to write(). RK_ERR_NOT_FOUND if absent. */
    int (*get)(void *ctx, const char *tenant, const char *id, uint64_t offset,
               uint64_t length, rk_write_fn write, void *wud, rk_err *err);
    /* Required. Metadata of one object (valid during the callback). */
    int (*stat)(void *ctx, const char *tenant, const char *id,
                void (*on_meta)(void *ud, const rk_doc_meta *m), void *ud,
                rk_err *err);
    /* Required. Objects of a tenant in id order, starting after `after`
     * (NULL = from the start), at most limit; one on_meta call each. Returns
     * the number listed or <0. tenant NULL lists every tenant (re-index). */
    int (*list)(void *ctx, const char *tenant, const char *after, size_t limit,
                void (*on_meta)(void *ud, const rk_doc_meta *m), void *ud,
                rk_err *err);
    /* Required. RK_ERR_NOT_FOUND if absent. */
    int (*remove)(void *ctx, const char *tenant, const char *id, rk_err *err);
} rk_storage_vtable;

#ifdef __cplusplus
}
#endif
#endif
