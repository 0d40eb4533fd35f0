/*
 * ragkernel SDK — the plugin descriptor and the config schema.
 *
 * A plugin is one shared object exporting exactly one symbol,
 * rk_plugin_entry (RK_PLUGIN_ENTRY_SYMBOL), that returns a pointer to a
 * static, immutable rk_plugin. The plugin (static definition) is distinct
 * from its instances: one per entry under `instances:` in the YAML file,
 * each with a private context created by create().
 *
 * ABI rules (see ragkernel.h for the full text):
 *   - abi_major must equal the host's RK_ABI_MAJOR;
 *   - abi_minor must be <= the host's RK_ABI_MINOR;
 *   - struct_size is the first field of every struct that crosses the
 *     boundary; within a major, structs only grow at the end, and a reader
 *     checks struct_size (RK_HAS_FIELD) before touching a newer field.
 */
#ifndef RAGKERNEL_PLUGIN_H
#define RAGKERNEL_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RK_ABI_MAJOR 1
#define RK_ABI_MINOR 0

#define RK_PLUGIN_ENTRY_SYMBOL "rk_plugin_entry"

/* True if the struct *p (whose first field is struct_size) is large enough
 * to contain `field`. Use before reading any field added after 1.0. */
#define RK_HAS_FIELD(p, type, field)                                           \
    ((p) != NULL && (p)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

#if defined(__GNUC__)
#define RK_EXPORT __attribute__((visibility("default")))
#else
#define RK_EXPORT
#endif

typedef enum rk_kind {
    RK_KIND_TRANSPORT = 1,
    RK_KIND_LLM = 2,
    RK_KIND_RETRIEVER = 3,
    RK_KIND_CACHE = 4,
    RK_KIND_STORAGE = 5,
    RK_KIND_HISTORY = 6
} rk_kind;

/* ---- config schema -------------------------------------------------------
 * Each plugin declares the keys its instance config accepts. The host
 * validates the YAML against this table before create() runs (unknown keys,
 * wrong types and missing required keys are errors with file:line:col),
 * fills defaults, and documents the plugin from it (`--list-plugins -v`). */
typedef enum rk_cfg_type {
    RK_CFG_STRING = 1,
    RK_CFG_INT = 2,      /* 64-bit signed integer */
    RK_CFG_DOUBLE = 3,
    RK_CFG_BOOL = 4,     /* true/false/yes/no/on/off */
    RK_CFG_DURATION = 5, /* "250ms", "30s", "2m", "1h" or plain ms; read as int ms */
    RK_CFG_SIZE = 6,     /* "512", "64k", "10MB", "1GiB"; read as int bytes */
    RK_CFG_LIST = 7,     /* sequence of scalars; read with cfg_count/cfg_item */
    RK_CFG_MAP = 8       /* mapping scalar -> scalar; cfg_count/cfg_item_key/cfg_item */
} rk_cfg_type;

typedef struct rk_config_key {
    const char *name;          /* NULL terminates the table */
    rk_cfg_type type;
    const char *default_value; /* as YAML text; NULL = no default */
    int required;              /* nonzero: must be present (default ignored) */
    const char *description;   /* one line, for docs and --list-plugins -v */
} rk_config_key;

/* ---- instance lifecycle --------------------------------------------------
 * Opaque handle the host gives each instance; pass it back to host calls. */
typedef struct rk_instance rk_instance;
struct rk_host;

/* flags */
#define RK_PLUGIN_SERIALIZE 0x1u /* host never calls one instance's
                                    blocking vtable slots concurrently */

typedef struct rk_plugin {
    uint32_t struct_size;  /* sizeof(rk_plugin) as the plugin was built */
    uint16_t abi_major;    /* RK_ABI_MAJOR as the plugin was built */
    uint16_t abi_minor;    /* RK_ABI_MINOR as the plugin was built */
    rk_kind kind;
    const char *name;        /* e.g. "llm_openai"; [a-z0-9_]+ */
    const char *version;     /* plugin's own version, e.g. "1.2.0" */
    const char *description; /* one line */
    uint32_t flags;          /* RK_PLUGIN_* */
    const rk_config_key *config; /* schema, NULL-name terminated; NULL = no keys */

    /* Required. Called on the main thread, once per instance, after the
     * config was validated. Stores the instance context in *ctx (owned by
     * the plugin until destroy). On failure returns <0 and fills err; the
     * host then calls nothing else for this instance. */
    int (*create)(const struct rk_host *host, rk_instance *self, void **ctx,
                  rk_err *err);
    /* Optional. Main thread. Begin serving (bind sockets, start threads).
     * After start() returns OK the instance may receive calls. */
    int (*start)(void *ctx, rk_err *err);
    /* Optional. Main thread. Stop taking new work and finish what is in
     * flight by deadline_ms (host monotonic clock, see host->now_ms); past
     * it, abort. Returns when the instance is idle. */
    void (*stop)(void *ctx, int64_t deadline_ms);
    /* Required. Main thread. Free everything; ctx is dead afterwards. */
    void (*destroy)(void *ctx);

    /* The kind's vtable: rk_transport_vtable, rk_llm_vtable, ... Required. */
    const void *vtable;
} rk_plugin;

/* The only symbol a plugin exports. */
typedef const rk_plugin *(*rk_plugin_entry_fn)(void);

/* Define the entry in one line: RK_PLUGIN_DEFINE(my_plugin_descriptor) */
#define RK_PLUGIN_DEFINE(desc)                                                 \
    RK_EXPORT const rk_plugin *rk_plugin_entry(void);                          \
    RK_EXPORT const rk_plugin *rk_plugin_entry(void) { return &(desc); }

/* Every vtable starts with this header. */
#define RK_VTABLE_HEAD uint32_t struct_size

#ifdef __cplusplus
}
#endif
#endif
