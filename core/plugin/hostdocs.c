/*
 * hostdocs — the document administration slots of the "documents"
 * service. They exist only in the service table (no deprecated rk_host
 * slot to mirror), so they live here rather than in hostapi.c: each packs
 * its arguments and hands them to docs_admin through hostapi_docs_call,
 * which holds the generation's read lock for the hand-over only, as the
 * older doc_* slots do.
 */
#include "hostdocs.h"

#include "docs_admin.h"
#include "hostapi.h"

typedef struct call {
    const char *tenant, *id;
    const rk_doc_upload *up;
    const rk_doc_sink *sink;
    void *ud;
} call;

static int do_status(docs *d, void *arg, rk_err *err)
{
    call *c = arg;
    return docs_status(d, c->tenant, c->id, c->sink, c->ud, err);
}

static int do_reindex(docs *d, void *arg, rk_err *err)
{
    call *c = arg;
    return docs_reindex(d, c->tenant, c->id, c->sink, c->ud, err);
}

static int do_put_async(docs *d, void *arg, rk_err *err)
{
    call *c = arg;
    return docs_put_async(d, c->up, c->sink, c->ud, err);
}

int hostdocs_status(const rk_instance *self, const char *tenant, const char *id,
                    const rk_doc_sink *sink, void *ud, rk_err *err)
{
    (void)self;
    call c = {tenant, id, NULL, sink, ud};
    return hostapi_docs_call(do_status, &c, err);
}

int hostdocs_reindex(const rk_instance *self, const char *tenant, const char *id,
                     const rk_doc_sink *sink, void *ud, rk_err *err)
{
    (void)self;
    call c = {tenant, id, NULL, sink, ud};
    return hostapi_docs_call(do_reindex, &c, err);
}

int hostdocs_put_async(const rk_instance *self, const rk_doc_upload *up,
                       const rk_doc_sink *sink, void *ud, rk_err *err)
{
    (void)self;
    call c = {NULL, NULL, up, sink, ud};
    return hostapi_docs_call(do_put_async, &c, err);
}
