/*
 * needs_1_0_cache — a cache built with the current headers that uses only
 * 1.0 slots and says so (RK_PLUGIN_HEADER_NEEDS(0)): a 1.0 host must
 * admit it, which tests/unit/core/test_abi.c checks with the 1.0 rule.
 */
#include "stub_cache.h"

static const rk_plugin desc = {
    RK_PLUGIN_HEADER_NEEDS(0),
    .kind = RK_KIND_CACHE,
    .name = "needs_1_0_cache",
    .version = "0.0.1",
    .description = "built with newer headers, needs only ABI 1.0",
    .create = c_create,
    .destroy = c_destroy,
    .vtable = &vt,
};

RK_PLUGIN_DEFINE(desc)
