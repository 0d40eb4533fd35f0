/*
 * bad_short_desc — a deliberately broken plugin: its descriptor ends before the 1.0 create slot.
 * The loader must refuse it with one line naming the file, the plugin and
 * both ABI versions; tests/unit/core/test_loader.c checks that line.
 */
#include "stub_cache.h"

static const rk_plugin desc = {
    .struct_size = offsetof(rk_plugin, create),
    .abi_major = RK_ABI_MAJOR,
    .abi_minor = RK_ABI_MINOR,
    .kind = RK_KIND_CACHE,
    .name = "bad_short_desc",
    .version = "0.0.1",
    .description = "its descriptor ends before the 1.0 create slot",
    .create = c_create,
    .destroy = c_destroy,
    .vtable = &vt,
};

RK_PLUGIN_DEFINE(desc)
