/*
 * hostdocs — the document administration slots of the "documents"
 * service. They exist only in the service table (no deprecated rk_host
 * slot to mirror), so they live here rather than in hostapi.c: each packs
 * its arguments and hands them to docs_admin through hostgen_call,
 * which holds the generation's read lock for the hand-over only, as the
 * older doc_* slots do.
 */
#include "hostdocs.h"

#include "docs_admin.h"
#include "hostgen.h"

typedef struct call {
    const char *tenant, *id;
    const rk_doc_upload *up;
    const rk_doc_sink *sink;
    void *ud;
} call;

static int no_docs(rk_err *err)
{
    return rk_fail(err, RK_ERR_UNSUPPORTED,
                   "documents are not enabled: set pipeline.storage in the config");
}

static int do_status(const generation *g, pool *p, void *arg, rk_err *err)
{
    call *c = arg;
    (void)p;
    return g->docs ? docs_status(g->docs, c->tenant, c->id, c->sink, c->ud, err) : no_docs(err);
}

static int do_reindex(const generation *g, pool *p, void *arg, rk_err *err)
{
    call *c = arg;
    (void)p;
    return g->docs ? docs_reindex(g->docs, c->tenant, c->id, c->sink, c->ud, err)
                   : no_docs(err);
}

static int do_put_async(const generation *g, pool *p, void *arg, rk_err *err)
{
    call *c = arg;
    (void)p;
    return g->docs ? docs_put_async(g->docs, c->up, c->sink, c->ud, err) : no_docs(err);
}

int hostdocs_status(const rk_instance *self, const char *tenant, const char *id,
                    const rk_doc_sink *sink, void *ud, rk_err *err)
{
    (void)self;
    call c = {tenant, id, NULL, sink, ud};
    return hostgen_call(do_status, &c, err);
}

int hostdocs_reindex(const rk_instance *self, const char *tenant, const char *id,
                     const rk_doc_sink *sink, void *ud, rk_err *err)
{
    (void)self;
    call c = {tenant, id, NULL, sink, ud};
    return hostgen_call(do_reindex, &c, err);
}

int hostdocs_put_async(const rk_instance *self, const rk_doc_upload *up,
                       const rk_doc_sink *sink, void *ud, rk_err *err)
{
    (void)self;
    call c = {NULL, NULL, up, sink, ud};
    return hostgen_call(do_put_async, &c, err);
}
