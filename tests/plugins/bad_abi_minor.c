/*
 * bad_abi_minor — a deliberately broken plugin: built for a newer ABI minor than the host.
 * The loader must refuse it with one line naming the file, the plugin and
 * both ABI versions; tests/unit/core/test_loader.c checks that line.
 */
#include "stub_cache.h"

static const rk_plugin desc = {
    .struct_size = sizeof(rk_plugin),
    .abi_major = RK_ABI_MAJOR,
    .abi_minor = RK_ABI_MINOR + 1,
    .kind = RK_KIND_CACHE,
    .name = "bad_abi_minor",
    .version = "0.0.1",
    .description = "built for a newer ABI minor than the host",
    .create = c_create,
    .destroy = c_destroy,
    .vtable = &vt,
};

RK_PLUGIN_DEFINE(desc)
