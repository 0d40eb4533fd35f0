/*
 * bad_unknown_kind — a deliberately broken plugin: declares a kind the host does not know.
 * The loader must refuse it with one line naming the file, the plugin and
 * both ABI versions; tests/unit/core/test_loader.c checks that line.
 */
#include "stub_cache.h"

static const rk_plugin desc = {
    .struct_size = sizeof(rk_plugin),
    .abi_major = RK_ABI_MAJOR,
    .abi_minor = RK_ABI_MINOR,
    .kind = (rk_kind)42,
    .name = "bad_unknown_kind",
    .version = "0.0.1",
    .description = "declares a kind the host does not know",
    .create = c_create,
    .destroy = c_destroy,
    .vtable = &vt,
};

RK_PLUGIN_DEFINE(desc)
