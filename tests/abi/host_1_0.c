/*
 * host_1_0 — the other side of the compatibility tests: compiled against the
 * frozen 1.0 headers (tests/abi/1.0), linked into test_abi. It answers
 * with 1.0's own sizeof for the structs passed in arrays (what a 1.0 plugin
 * strides with), and with the admission rule of the 1.0 loader, so a test
 * can ask whether a 1.0 host would load a descriptor built today.
 */
#include <stddef.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

#include "host_1_0.h"

size_t abi10_sizeof(const char *type)
{
    static const struct {
        const char *name;
        size_t size;
    } t[] = {{"rk_message", sizeof(rk_message)},   {"rk_passage", sizeof(rk_passage)},
             {"rk_chunk", sizeof(rk_chunk)},       {"rk_http_header", sizeof(rk_http_header)},
             {"rk_config_key", sizeof(rk_config_key)}, {"rk_plugin", sizeof(rk_plugin)},
             {"rk_host", sizeof(rk_host)}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(t[i].name, type) == 0) return t[i].size;
    return 0;
}

size_t abi10_offsetof(const char *field)
{
    if (strcmp(field, "rk_host.embed_start") == 0) return offsetof(rk_host, embed_start);
    if (strcmp(field, "rk_host.chat_start") == 0) return offsetof(rk_host, chat_start);
    if (strcmp(field, "rk_plugin.vtable") == 0) return offsetof(rk_plugin, vtable);
    if (strcmp(field, "rk_passage.chunk_index") == 0) return offsetof(rk_passage, chunk_index);
    if (strcmp(field, "rk_chunk.lang") == 0) return offsetof(rk_chunk, lang);
    return (size_t)-1;
}

/* The 1.0 loader: same major, minor not newer than 0, and a descriptor that
 * holds every 1.0 field. */
int abi10_admits(const void *descriptor)
{
    const rk_plugin *d = descriptor;
    size_t end = offsetof(rk_plugin, vtable) + sizeof d->vtable;
    return d && d->struct_size >= end && d->abi_major == RK_ABI_MAJOR &&
           d->abi_minor <= RK_ABI_MINOR;
}
