/*
 * bad_readonly — a deliberately broken plugin: declares RK_CAP_READ_ONLY
 * but accepts writes. ragkernel-plugin-check must fail it on the read-only
 * contract, naming the check (tests/integration/test_sdk.sh).
 */
#define RO_WRITE_RC RK_OK
#include "readonly_retriever.h"

static const rk_plugin desc = {
    RK_PLUGIN_HEADER,
    .kind = RK_KIND_RETRIEVER,
    .name = "bad_readonly",
    .version = "0.0.1",
    .description = "claims to be read-only, accepts writes",
    .caps = RK_CAP_READ_ONLY,
    .create = ro_create,
    .destroy = ro_destroy,
    .vtable = &ro_vt,
};

RK_PLUGIN_DEFINE(desc)
