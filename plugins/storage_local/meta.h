/*
 * meta — a document's metadata as a small JSON file (<id>.meta.json).
 */
#ifndef RK_STORAGE_LOCAL_META_H
#define RK_STORAGE_LOCAL_META_H

#include <stddef.h>

#include <ragkernel/storage.h>

/* Serialise m into a malloc'd buffer (*out, *len; caller frees). */
int meta_encode(const rk_doc_meta *m, char **out, size_t *len, rk_err *err);

/* A parsed meta file: `m` points into `priv`, valid until meta_doc_free. */
typedef struct meta_doc {
    rk_doc_meta m;
    void *priv;
} meta_doc;

/* Load <path>; tenant and id are taken from the caller (the file's
 * location), not from its content. RK_ERR_NOT_FOUND if absent. */
int meta_load(const char *path, const char *tenant, const char *id,
              meta_doc *doc, rk_err *err);
void meta_doc_free(meta_doc *doc);

#endif
