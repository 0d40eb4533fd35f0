/*
 * docs_store — the document service's calls into its storage instance
 * (store, remove, list, fetch, stat), each through the gate (gate.h), and
 * the writer that reads a whole document into memory. The lowest layer of
 * the service: the upload path, the previous-version guard, the jobs and
 * the re-index all use it, and it uses none of them.
 */
#define _GNU_SOURCE
#include "docs_impl.h"

#include <string.h>

#include "gate.h"
#include "strbuf.h"

typedef struct mem_reader {
    const char *p;
    size_t left;
} mem_reader;

static int64_t mem_read(void *ud, void *buf, size_t cap)
{
    mem_reader *r = ud;
    size_t n = r->left < cap ? r->left : cap;
    memcpy(buf, r->p, n);
    r->p += n;
    r->left -= n;
    return (int64_t)n;
}

int docs__store(docs *d, const rk_doc_meta *m, const void *data, size_t len, rk_err *err)
{
    mem_reader r = {data, len};
    return GATE_CALL(d->storage, rk_storage_vtable, put, RK_ERR_UNSUPPORTED, m, mem_read, &r, err);
}

int docs__unstore(docs *d, const char *tenant, const char *id, rk_err *err)
{
    return GATE_CALL(d->storage, rk_storage_vtable, remove, RK_ERR_UNSUPPORTED, tenant, id, err);
}

int docs__list(docs *d, const char *tenant, const char *after, size_t limit,
               void (*on_meta)(void *ud, const rk_doc_meta *m), void *ud, rk_err *err)
{
    return GATE_CALL(d->storage, rk_storage_vtable, list, RK_ERR_UNSUPPORTED, tenant, after, limit, on_meta, ud, err);
}

int docs__fetch(docs *d, const char *tenant, const char *id, uint64_t off, uint64_t len,
                rk_write_fn write, void *wud, rk_err *err)
{
    return GATE_CALL(d->storage, rk_storage_vtable, get, RK_ERR_UNSUPPORTED, tenant, id, off, len, write, wud, err);
}

int docs__stat(docs *d, const char *tenant, const char *id,
               void (*on_meta)(void *ud, const rk_doc_meta *m), void *ud, rk_err *err)
{
    return GATE_CALL(d->storage, rk_storage_vtable, stat, RK_ERR_UNSUPPORTED, tenant, id, on_meta, ud, err);
}

int docs__blob_write(void *ud, const void *data, size_t len)
{
    strbuf *b = ud;
    sb_append(b, data, len);
    return b->oom ? RK_ERR_NOMEM : 0;
}
