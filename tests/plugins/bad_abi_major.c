/*
 * bad_abi_major — a deliberately broken plugin: built for ABI major 2.
 * The loader must refuse it with one line naming the file, the plugin and
 * both ABI versions; tests/unit/core/test_loader.c checks that line.
 */
#include "stub_cache.h"

static const rk_plugin desc = {
    .struct_size = sizeof(rk_plugin),
    .abi_major = 2,
    .abi_minor = 0,
    .kind = RK_KIND_CACHE,
    .name = "bad_abi_major",
    .version = "0.0.1",
    .description = "built for ABI major 2",
    .create = c_create,
    .destroy = c_destroy,
    .vtable = &vt,
};

RK_PLUGIN_DEFINE(desc)
