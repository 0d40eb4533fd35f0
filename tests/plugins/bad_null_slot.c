/*
 * bad_null_slot — a deliberately broken plugin: an LLM whose required
 * cancel slot is NULL. Calling it would crash the host mid-request, so the
 * loader must refuse it up front and name the slot.
 */
#include <stddef.h>

#include <ragkernel/ragkernel.h>

static int l_complete(void *ctx, const rk_llm_request *req, const rk_llm_sink *sink,
                      void *ud, rk_llm_call **call, rk_err *err)
{
    return rk_fail(err, RK_ERR_UNSUPPORTED, "never answers");
}

static void l_models(void *ctx, void (*fn)(void *ud, const char *id), void *ud)
{
    fn(ud, "none");
}

static int l_create(const rk_host *host, rk_instance *self, void **ctx, rk_err *err)
{
    *ctx = NULL;
    return RK_OK;
}

static void l_destroy(void *ctx) {}

static const rk_llm_vtable vt = {
    .struct_size = sizeof(rk_llm_vtable),
    .complete = l_complete,
    .cancel = NULL,
    .models = l_models,
};

static const rk_plugin desc = {
    .struct_size = sizeof(rk_plugin),
    .abi_major = RK_ABI_MAJOR,
    .abi_minor = RK_ABI_MINOR,
    .kind = RK_KIND_LLM,
    .name = "bad_null_slot",
    .version = "0.0.1",
    .description = "an LLM without cancel",
    .create = l_create,
    .destroy = l_destroy,
    .vtable = &vt,
};

RK_PLUGIN_DEFINE(desc)
