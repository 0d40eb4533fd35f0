/*
 * hostconv — the "conversations" service slots: each finds the current
 * generation's history instance (pipeline.history in its config) under
 * the generation's read lock and hands the call to convadmin, which pins
 * that generation's registry for as long as the job runs.
 */
#include "hostconv.h"

#include "cfg.h"
#include "convadmin.h"
#include "hostgen.h"

typedef struct call {
    convadmin_op op;
    const char *tenant, *arg;
    size_t limit;
    const rk_conv_sink *sink;
    void *ud;
} call;

static int start(const generation *g, pool *p, void *arg, rk_err *err)
{
    call *c = arg;
    const char *name = cfg_values_string(g->reg->conf->pipeline, "history");
    rk_instance *hist = name ? registry_get_kind(g->reg, name, RK_KIND_HISTORY) : NULL;
    return convadmin_start(g->reg, hist, p, c->op, c->tenant, c->arg, c->limit, c->sink, c->ud,
                           err);
}

int hostconv_list(const rk_instance *self, const char *tenant, const char *after,
                  size_t limit, const rk_conv_sink *sink, void *ud, rk_err *err)
{
    (void)self;
    call c = {CONV_LIST, tenant, after, limit, sink, ud};
    return hostgen_call(start, &c, err);
}

int hostconv_get(const rk_instance *self, const char *tenant, const char *id,
                 const rk_conv_sink *sink, void *ud, rk_err *err)
{
    (void)self;
    call c = {CONV_GET, tenant, id ? id : "", 0, sink, ud};
    return hostgen_call(start, &c, err);
}

int hostconv_delete(const rk_instance *self, const char *tenant, const char *id,
                    const rk_conv_sink *sink, void *ud, rk_err *err)
{
    (void)self;
    call c = {CONV_DELETE, tenant, id ? id : "", 0, sink, ud};
    return hostgen_call(start, &c, err);
}
