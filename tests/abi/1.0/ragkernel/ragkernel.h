/*
 * ragkernel SDK — everything a plugin author needs, in one include.
 *
 * Build a plugin out of tree:
 *     cc -shared -fPIC -fvisibility=hidden $(pkg-config --cflags ragkernel) \
 *        -o my_plugin.so my_plugin.c
 *
 * ABI rules
 *  1. A plugin exports one symbol, rk_plugin_entry, returning a static
 *     rk_plugin whose first fields are struct_size, abi_major, abi_minor.
 *  2. The host loads a plugin only if its abi_major equals the host's and its
 *     abi_minor is not newer than the host's. Anything else is refused before
 *     any other plugin code runs, with one line naming the file, the plugin
 *     and both versions.
 *  3. Within one major, every struct and vtable that crosses the boundary
 *     (they all start with struct_size) only grows at the end. A reader
 *     checks RK_HAS_FIELD before using a field newer than 1.0; the host does
 *     this for plugin vtables, plugins do it for the rk_host table.
 *  4. No third-party type appears in these headers; a plugin may link any
 *     library it likes (build with -fvisibility=hidden; the host uses
 *     RTLD_LOCAL so plugin symbols never collide).
 *  5. Memory crossing the boundary is freed by the side that allocated it;
 *     every call says how long the pointers it passes stay valid.
 *  6. Errors are an rk_status (error.h) plus an rk_err message; a plugin
 *     never exits the process.
 *
 * Minor versions: 1.0 — first release.
 */
#ifndef RAGKERNEL_H
#define RAGKERNEL_H

#include "error.h"
#include "plugin.h"
#include "chat.h"
#include "host.h"
#include "transport.h"
#include "llm.h"
#include "retriever.h"
#include "cache.h"
#include "storage.h"
#include "history.h"

#endif
