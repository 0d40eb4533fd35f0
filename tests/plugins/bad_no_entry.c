/*
 * bad_no_entry — a deliberately broken plugin: it exports no rk_plugin_entry symbol.
 * The loader must refuse it with one line naming the file, the plugin and
 * both ABI versions; tests/unit/core/test_loader.c checks that line.
 */
#include "stub_cache.h"

static const rk_plugin desc = {
    .struct_size = sizeof(rk_plugin),
    .abi_major = RK_ABI_MAJOR,
    .abi_minor = RK_ABI_MINOR,
    .kind = RK_KIND_CACHE,
    .name = "bad_no_entry",
    .version = "0.0.1",
    .description = "it exports no rk_plugin_entry symbol",
    .create = c_create,
    .destroy = c_destroy,
    .vtable = &vt,
};

/* Exported under another name, as a plugin built with a typo would be. */
RK_EXPORT const rk_plugin *rk_plugin_entry_v1(void);
RK_EXPORT const rk_plugin *rk_plugin_entry_v1(void) { return &desc; }
