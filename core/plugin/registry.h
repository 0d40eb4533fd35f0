/*
 * registry — the named instances of one configuration generation.
 *
 * registry_build() loads each instance's plugin (shared per file), checks
 * its config against the plugin's schema, and calls create(); start/stop/
 * destroy walk the instances (transports start last and stop first).
 * A registry is reference-counted: in-flight requests hold the generation
 * they started on, so a SIGHUP reload can swap in a new registry while old
 * requests finish on the old one.
 */
#ifndef RK_CORE_REGISTRY_H
#define RK_CORE_REGISTRY_H

#include <pthread.h>
#include <stdatomic.h>

#include <ragkernel/ragkernel.h>

#include "cfg.h"
#include "conf.h"
#include "loader.h"

/* The definition behind the SDK's opaque rk_instance. */
struct rk_instance {
    char *name;                 /* owned */
    const rk_plugin *plugin;
    loader_plugin *lp;          /* shared, owned by the registry */
    cfg_values *cfg;            /* owned */
    void *ctx;                  /* plugin's context */
    int created, started;
    atomic_int write_failing;   /* the last write the core made failed: /ready says so */
    pthread_mutex_t serial;     /* taken around blocking calls if RK_PLUGIN_SERIALIZE (gate.h) */
    _Atomic(rk_metric *) m_call; /* the gate's call histogram, made on first use */
    struct registry *reg;
};

/* What an instance holds for the process (listening sockets, data locks)
 * is held per generation, i.e. per registry, so the next generation shares
 * it instead of binding or locking against us; an instance outside any
 * registry (a test harness) is its own group. */
static inline const void *registry_group(const rk_instance *self)
{
    return self->reg ? (const void *)self->reg : (const void *)self;
}

typedef struct registry {
    atomic_int refs;
    rk_conf *conf;              /* owned */
    rk_instance **inst;
    size_t n;
    loader_plugin **plugins;    /* distinct loaded files */
    size_t n_plugins;
    uint64_t generation;
} registry;

/* Build (load + validate + create) every instance of conf; takes ownership
 * of conf. On error NULL, with "file:line:col: message" lines in d. */
registry *registry_build(rk_conf *conf, const rk_host *host, cfg_diag *d);
/* What a start checks short of create(), binding and connecting: every
 * plugin loaded, every instance config validated against its schema, the
 * kind of every instance the pipeline and auth name, and each plugin's
 * own check slot (since 1.1) run with `scope(r)` set around it so the host
 * services answer for this configuration (NULL = nothing to set). Reports
 * every mistake; -1 if there was any. conf may be one conf_load_all
 * returned with errors (parts NULL); it stays the caller's. */
int registry_check(const rk_conf *conf, const rk_host *host, void (*scope)(registry *),
                   cfg_diag *d);
int registry_start(registry *r, rk_err *err);
void registry_stop(registry *r, int64_t deadline_ms);
/* Only the transports (first step of a drain); registry_stop does the rest. */
void registry_stop_transports(registry *r, int64_t deadline_ms);

rk_instance *registry_get(const registry *r, const char *name);
rk_instance *registry_get_kind(const registry *r, const char *name, rk_kind k);

void registry_ref(registry *r);
/* Drops a reference; the last one stops nothing (stop first) but destroys
 * the instances, closes the plugins and frees the conf. */
void registry_unref(registry *r);

#endif
