/*
 * retriever_readonly — a retriever that declares RK_CAP_READ_ONLY and keeps
 * it: writes are RK_ERR_UNSUPPORTED, searches answer from a fixed passage.
 * ragkernel-plugin-check must pass it with the read-only contract
 * (tests/integration/test_sdk.sh).
 */
#define RO_WRITE_RC RK_ERR_UNSUPPORTED
#include "readonly_retriever.h"

static const rk_plugin desc = {
    RK_PLUGIN_HEADER,
    .kind = RK_KIND_RETRIEVER,
    .name = "retriever_readonly",
    .version = "0.0.1",
    .description = "read-only index built elsewhere",
    .caps = RK_CAP_READ_ONLY,
    .create = ro_create,
    .destroy = ro_destroy,
    .vtable = &ro_vt,
};

RK_PLUGIN_DEFINE(desc)
