/*
 * loader — find, dlopen and validate plugin shared objects.
 *
 * A plugin is accepted only if: the file opens with RTLD_NOW|RTLD_LOCAL; it
 * exports rk_plugin_entry; the descriptor's struct_size covers every 1.0
 * field; abi_major == RK_ABI_MAJOR and abi_minor (the lowest minor it
 * needs) <= RK_ABI_MINOR; every requirement bit is known here; the kind
 * is known and (when asked) the expected one; create, destroy and vtable are
 * set; the kind vtable's struct_size covers the 1.0 slots and every required
 * slot is non-NULL; the name is [a-z0-9_]+ and matches the file name.
 * Every refusal is one line:
 *   "<file>: plugin <name>: <what> (host ABI 1.1, plugin ABI 2.0)"
 */
#ifndef RK_CORE_LOADER_H
#define RK_CORE_LOADER_H

#include <ragkernel/plugin.h>

typedef struct loader_plugin {
    char *path;             /* resolved file path (owned) */
    void *dl;               /* dlopen handle (owned) */
    int image_fd;           /* memfd of a hot-upgrade copy (owned), or -1 */
    const rk_plugin *desc;  /* points into the .so */
} loader_plugin;

/* Open the file at path. expect_kind 0 = any. On failure returns NULL and
 * writes the one-line reason into err. */
loader_plugin *loader_open(const char *path, rk_kind expect_kind, rk_err *err);
/* Find "<name>.so" in the search path (first hit) and open it. */
loader_plugin *loader_find(const char *const *dirs, size_t n_dirs,
                           const char *name, rk_kind expect_kind, rk_err *err);
void loader_close(loader_plugin *p);

const char *loader_kind_name(rk_kind k); /* "llm", ...; "?" if unknown */
/* The descriptor's RK_CAP_* bits (0 for a descriptor older than 1.1). */
uint32_t loader_caps(const rk_plugin *d);

/* Validate a descriptor (used by loader_open and the conformance checker). */
int loader_validate(const rk_plugin *d, const char *path, rk_kind expect_kind,
                    rk_err *err);

/* List every *.so in dirs: fn(ud, path, plugin or NULL, error or NULL). */
void loader_scan(const char *const *dirs, size_t n_dirs,
                 void (*fn)(void *ud, const char *path, const loader_plugin *p,
                            const char *error),
                 void *ud);

#endif
