/*
 * ragkernel SDK — everything a plugin author needs, in one include.
 *
 * Build a plugin out of tree:
 *     cc -shared -fPIC -fvisibility=hidden $(pkg-config --cflags ragkernel) \
 *        -o my_plugin.so my_plugin.c
 *
 * ==== The ABI contract ====================================================
 * This is the one statement of it; the README and the design notes link
 * here.
 *
 * Shape
 *  1. A plugin exports one symbol, rk_plugin_entry, returning a static
 *     rk_plugin whose first fields are struct_size, abi_major, abi_minor.
 *  2. Every table and struct that crosses the boundary starts with
 *     struct_size, except the few marked FROZEN (arrays of them are walked
 *     with the reader's own stride; see 6).
 *  3. No third-party type appears in these headers; a plugin may link any
 *     library it likes (build with -fvisibility=hidden; the host uses
 *     RTLD_LOCAL so plugin symbols never collide).
 *  4. Memory crossing the boundary is freed by the side that allocated it;
 *     every call says how long the pointers it passes stay valid.
 *  5. Errors are an rk_status (error.h) plus an rk_err message; a plugin
 *     never exits the process. A caller treats an unknown negative status
 *     as a failure of that call.
 *
 * Versions (ABI major.minor; RK_ABI_MAJOR / RK_ABI_MINOR in plugin.h)
 *  - abi_minor in a descriptor is the LOWEST host minor the plugin needs,
 *    not the minor of the headers it was built with (RK_PLUGIN_HEADER
 *    states the latter, which is always safe; RK_PLUGIN_HEADER_NEEDS(m)
 *    states less). A host loads a plugin when the majors are equal and
 *    the plugin's abi_minor <= the host's minor; anything else is refused
 *    before any other plugin code runs, with one line naming the file, the
 *    plugin and both versions. So a newer host runs older plugins, and a
 *    plugin built with newer headers runs on an older host as long as it
 *    needs nothing newer: it probes newer host slots with RK_HAS_FIELD and
 *    NULL checks, exactly as the host probes newer plugin slots.
 *  - Descriptors stamped 1.0 before 1.1 existed meant "built with 1.0";
 *    under this rule they read "needs 1.0" and keep loading.
 *  - Flags are hints (a host ignores bits it does not know); requirements
 *    (rk_plugin.requirements) are refused by a host that does not know
 *    them; capabilities (rk_plugin.caps) describe the plugin. plugin.h.
 *
 * What a minor (1.x -> 1.x+1) may do
 *  - append slots or fields at the END of a table or struct, marked
 *    "since 1.x" (fields of 1.0 carry no marker, as in sqlite3ext.h);
 *  - add kinds, role services (services.h), flags, requirement and
 *    capability bits, config types, status codes, each with its minor;
 *  - deprecate a slot (below).
 *  It may not make an optional slot required, nor change what an existing
 *  slot or field means.
 *
 * What only a major (2.0) may do
 *  - remove, reorder, resize or retype any slot or field; grow a FROZEN
 *    struct; change a call's threading or ownership rule, the meaning of a
 *    status code, the entry symbol or the descriptor's first three fields.
 *
 * Deprecation
 *  - A deprecated slot is marked "DEPRECATED since 1.x: use ..." and keeps
 *    its place and its behaviour for the rest of the major: plugins that
 *    use it keep loading and working. Only the next major removes it.
 *
 * How long major 1 lives
 *  - At least three years from 1.1 (until December 2029). A 2.0 is
 *    announced here and in the README at least a year before it ships,
 *    and the last 1.x host gets fixes for a year after 2.0.
 *
 * WARNING: to keep these promises, add new slots and fields at the END of
 * their struct only, with a "since" marker, and bump RK_ABI_MINOR in the
 * same change. A slot inserted in the middle breaks every plugin built
 * before it. tests/abi/ holds the 1.0 headers and plugins built with them:
 * they must keep loading.
 *
 * Minor versions
 *  1.0 — first release (tests/abi/1.0/).
 *  1.1 — cache rate_take; rk_host: documents, auth and limits slots, the
 *        per-loop slots (loop_count, run_on_loop_n, fd_watch, fd_unwatch),
 *        service() and the role services; the transport slots of rk_host
 *        deprecated in favour of the services; abi_minor means "lowest
 *        minor needed" (RK_PLUGIN_HEADER_NEEDS); rk_plugin.requirements and
 *        .caps; RK_PLUGIN_NONBLOCKING; FROZEN arrays asserted;
 *        rk_status_name(); rk_host.lock_path; the "listen" service;
 *        retriever index_versioned and doc_version (optional);
 *        rk_chat_result.history_saved; history probe (optional);
 *        backpressure: the chat service's chat_flow, rk_host.http_pause
 *        and rk_llm_vtable.pause (optional);
 *        rk_plugin.check (optional: --check-config without create());
 *        the extractor kind (RK_KIND_EXTRACTOR, extractor.h): document
 *        formats as plugins; the documents service's doc_status,
 *        doc_reindex and doc_put_async (rk_doc_sink.on_status); the
 *        "conversations" service; history list and remove (optional); history
 *        key_put, key_list and key_revoke (optional) and the auth service's
 *        key management (key_create, key_list, key_rotate, key_revoke).
 */
#ifndef RAGKERNEL_H
#define RAGKERNEL_H

#include "error.h"
#include "plugin.h"
#include "chat.h"
#include "host.h"
#include "services.h"
#include "transport.h"
#include "llm.h"
#include "retriever.h"
#include "cache.h"
#include "storage.h"
#include "history.h"
#include "extractor.h"

#endif
