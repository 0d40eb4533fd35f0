/*
 * ragkernel SDK — the plugin descriptor and the config schema.
 *
 * A plugin is one shared object exporting exactly one symbol,
 * rk_plugin_entry (RK_PLUGIN_ENTRY_SYMBOL), that returns a pointer to a
 * static, immutable rk_plugin. The plugin (static definition) is distinct
 * from its instances: one per entry under `instances:` in the YAML file,
 * each with a private context created by create().
 *
 * The versioning rules are in ragkernel.h ("The ABI contract").
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
#define RK_ABI_MINOR 1 /* the minor these headers describe */

#define RK_PLUGIN_ENTRY_SYMBOL "rk_plugin_entry"

/* True if the struct *p (whose first field is struct_size) is large enough
 * to contain `field`. Use before reading any field marked "since 1.x"
 * that is newer than the minor your descriptor declares. */
#define RK_HAS_FIELD(p, type, field)                                           \
    ((p) != NULL && (p)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* A struct passed in arrays, frozen for the whole major: an array of it is
 * walked with the stride its reader was built with, and the reader may be
 * older than the writer. The assert: the struct still ends at `last` (up
 * to tail padding) and, on LP64, still has its 1.0 size. */
#if defined(__cplusplus)
#define RK_FROZEN(type, last, lp64_size)                                       \
    static_assert(sizeof(type) - offsetof(type, last) - sizeof(((type *)0)->last) < alignof(type), \
                  #type " is frozen")
#else
#define RK_FROZEN(type, last, lp64_size)                                       \
    _Static_assert(sizeof(type) - offsetof(type, last) -                       \
                           sizeof(((type *)0)->last) <                          \
                       _Alignof(type) &&                                        \
                       (sizeof(void *) != 8 || sizeof(type) == (lp64_size)),    \
                   #type " is frozen for ABI major 1 (see ragkernel.h)")
#endif

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
    RK_KIND_HISTORY = 6,
    RK_KIND_EXTRACTOR = 7 /* since 1.1. extractor.h */
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

/* FROZEN: the table is walked with the 1.0 stride by every host of major 1,
 * so this struct never grows (static assert below). A later minor that
 * needs more per key adds a parallel table with its own element size to
 * rk_plugin, as Redis's RedisModuleCommandInfoVersion does. */
typedef struct rk_config_key {
    const char *name;          /* NULL terminates the table */
    rk_cfg_type type;
    const char *default_value; /* as YAML text; NULL = no default */
    int required;              /* nonzero: must be present (default ignored) */
    const char *description;   /* one line, for docs and --list-plugins -v */
} rk_config_key;
RK_FROZEN(rk_config_key, description, 40);

/* ---- instance lifecycle --------------------------------------------------
 * Opaque handle the host gives each instance; pass it back to host calls. */
typedef struct rk_instance rk_instance;
struct rk_host;

/* ---- flags, requirements, capabilities ----------------------------------
 * flags: hints a host may act on. A host ignores bits it does not know, so
 * setting one never makes a plugin unloadable. The one exception is
 * SERIALIZE, a 1.0 bit every host of major 1 honours. */
#define RK_PLUGIN_SERIALIZE 0x1u   /* host never calls one instance's
                                      blocking vtable slots concurrently */
#define RK_PLUGIN_NONBLOCKING 0x2u /* since 1.1. The "blocking" slots never
                                      wait (no network or disk, no lock held
                                      across either) and return in
                                      microseconds: the host may call them on
                                      an event-loop thread instead of a
                                      worker */
#define RK_PLUGIN_FLAGS_KNOWN 0x3u /* every flag this SDK names */

/* requirements (rk_plugin.requirements, since 1.1): promises the host must
 * keep for the plugin to work. A host refuses a plugin with a bit it does
 * not know, with one line. A 1.0 host cannot see the field at all, so a
 * plugin that sets any bit declares minor >= 1 (the loader checks), and
 * each bit names the minor it appeared in: declare at least that minor.
 * No bit is defined in 1.1; the field exists so that 1.2+ can add them. */
#define RK_REQUIRE_KNOWN 0x0u /* every requirement bit this SDK names */

/* capabilities (rk_plugin.caps, since 1.1): what the plugin says about
 * itself. The host may use them as hints; ragkernel-plugin-check tests the
 * contract they imply instead of the default one. Unknown bits are ignored
 * by hosts and reported by the checker. */
#define RK_CAP_READ_ONLY 0x1u /* since 1.1. retriever, storage, history: the
                                 writing slots return RK_ERR_UNSUPPORTED and
                                 change nothing (an index or archive built
                                 elsewhere); reads work */
#define RK_CAP_PROXY 0x2u     /* since 1.1. the data lives behind a remote
                                 service this instance does not own (another
                                 search engine, a shared cache): what it
                                 stores may not be readable back at once,
                                 so the checker tests call shapes and
                                 errors, not round trips */
#define RK_CAP_KNOWN 0x3u     /* every capability this SDK names */

typedef struct rk_plugin {
    uint32_t struct_size;  /* sizeof(rk_plugin) as the plugin was built */
    uint16_t abi_major;    /* RK_ABI_MAJOR as the plugin was built */
    uint16_t abi_minor;    /* the LOWEST host minor this plugin needs (it
                              uses a slot, field, cfg type or requirement
                              bit of that minor without an RK_HAS_FIELD
                              check); <= RK_ABI_MINOR of its headers. Set
                              by RK_PLUGIN_HEADER / RK_PLUGIN_HEADER_NEEDS */
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

    uint32_t requirements; /* since 1.1. RK_REQUIRE_* bits */
    uint32_t caps;         /* since 1.1. RK_CAP_* bits */

    /* since 1.1. Optional (NULL = nothing beyond the schema to check).
     * Main thread. `ragkernel --check-config` calls it instead of create()
     * with the instance's validated config: refuse here every value
     * create() or start() would refuse (ranges, address syntax, what the
     * host's services say, e.g. whether API keys exist), with the key's
     * file:line:col from cfg_where in err. No side effects: no files,
     * sockets, threads or connections, and no context is kept. A host
     * older than 1.1 never calls it, so create()/start() must keep their
     * own checks. */
    int (*check)(const struct rk_host *host, rk_instance *self, rk_err *err);
} rk_plugin;

/* The only symbol a plugin exports. */
typedef const rk_plugin *(*rk_plugin_entry_fn)(void);

/* The first three fields of a descriptor:
 *     static const rk_plugin desc = {RK_PLUGIN_HEADER, .kind = ..., ...};
 * RK_PLUGIN_HEADER declares that the plugin needs the minor of the headers
 * it was built with: always safe. A plugin that only uses slots of an
 * older minor (or checks newer ones with RK_HAS_FIELD / NULL) states so,
 * and then also loads on hosts of that minor:
 *     static const rk_plugin desc = {RK_PLUGIN_HEADER_NEEDS(0), ...};
 * (since 1.1) */
#define RK_PLUGIN_HEADER_NEEDS(minor)                                          \
    .struct_size = sizeof(rk_plugin), .abi_major = RK_ABI_MAJOR,               \
    .abi_minor = (minor) + 0 * sizeof(char[(minor) <= RK_ABI_MINOR ? 1 : -1])
#define RK_PLUGIN_HEADER RK_PLUGIN_HEADER_NEEDS(RK_ABI_MINOR)

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
