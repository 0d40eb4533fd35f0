/*
 * bad_null_entry — a deliberately broken plugin: its entry returns NULL.
 * The loader must refuse it with one line naming the file, the plugin and
 * both ABI versions; tests/unit/core/test_loader.c checks that line.
 */
#include "stub_cache.h"

static const rk_plugin desc = {
    .struct_size = sizeof(rk_plugin),
    .abi_major = RK_ABI_MAJOR,
    .abi_minor = RK_ABI_MINOR,
    .kind = RK_KIND_CACHE,
    .name = "bad_null_entry",
    .version = "0.0.1",
    .description = "its entry returns NULL",
    .create = c_create,
    .destroy = c_destroy,
    .vtable = &vt,
};

/* Refers to desc so the descriptor is not an unused static. */
RK_EXPORT const rk_plugin *rk_plugin_entry(void);
RK_EXPORT const rk_plugin *rk_plugin_entry(void) { return desc.name ? NULL : &desc; }
