/*
 * plugin_harness — one plugin instance in a unit test, made the way the
 * registry makes it: the built $BUILD/plugins/<plugin>.so through the real
 * loader, its YAML config validated by cfg against the plugin's schema,
 * create() with the real host table; plus the loop and worker pool the
 * host's scheduling calls need, and a way to run code on that loop.
 *
 * Failures of the harness itself (the plugin does not load, the YAML does
 * not parse or validate) abort the test with the diagnostic. What a test
 * checks about the plugin (create's status, start's) is left to the test
 * wherever a test expects it to fail.
 *
 * Including this header gives the whole test support: testenv.h (build
 * directory, fixtures, the suite runner), tmpdir.h and waiter.h.
 */
#ifndef RK_TESTS_PLUGIN_HARNESS_H
#define RK_TESTS_PLUGIN_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include <ragkernel/ragkernel.h>

#include "cfg.h"
#include "loader.h"
#include "loop.h"
#include "registry.h"
#include "testenv.h"
#include "tmpdir.h"
#include "waiter.h"

typedef struct ph {
    loader_plugin *lp;  /* owned */
    cfg_doc *doc;       /* owned; inst.cfg points into it */
    rk_instance inst;   /* name, plugin, cfg, ctx, created, serial */
    void *ctx;          /* what create() stored (also when it failed) */
    union {             /* the kind's vtable, typed */
        const void *vt;
        const rk_cache_vtable *cache;
        const rk_storage_vtable *storage;
        const rk_retriever_vtable *retriever;
        const rk_history_vtable *history;
        const rk_llm_vtable *llm;
    };
    char name[64];      /* inst.name points here */
    int64_t start_ms;   /* how long ph_start's start() took */
} ph;

/* "$BUILD/plugins/<plugin>.so" */
void ph_plugin_path(const char *plugin, char *out, size_t cap);
/* The plugin file loaded and validated as kind (0 = any); aborts on a
 * loader refusal. loader_close it. */
loader_plugin *ph_plugin_open(const char *plugin, rk_kind kind);

/* Loads the plugin and validates yaml (a mapping, "{}" for all defaults)
 * as the config of instance `name` (NULL = "test"); create() is not
 * called. ph_close frees it all. */
void ph_load(ph *h, const char *plugin, rk_kind kind, const char *name, const char *yaml);
/* create() with the real host: its status, with err filled on failure. */
int ph_create(ph *h, rk_err *err);
/* ph_load + ph_create, aborting the test unless create succeeds. */
void ph_open(ph *h, const char *plugin, rk_kind kind, const char *name, const char *yaml);
/* start() (if the plugin has one), timed into start_ms; aborts unless OK. */
void ph_start(ph *h);
/* stop() (if any) with a deadline within_ms from now. */
void ph_stop(ph *h, int64_t within_ms);
/* destroy() if create succeeded, then frees config and plugin. Safe after
 * a failed ph_create. */
void ph_close(ph *h);

/* Creates hs[0..n) (n >= 1, each ph_load'ed) on n threads released at the
 * same moment, as hosts starting together would; rcs/errs get each
 * create()'s status and message. Whatever the instances wrote to stderr
 * meanwhile is captured into log (NUL-terminated, cut at cap). */
void ph_create_at_once(ph *hs, size_t n, int *rcs, rk_err *errs, char *log, size_t cap);

/* A running loop and a pool of `threads` workers installed as the host's
 * runtime (hostapi_set_runtime); ph_runtime_stop takes them down again
 * and can be a checked fixture's teardown as it is. */
void ph_runtime_start(int threads);
void ph_runtime_stop(void);
loop *ph_loop(void); /* the runtime's loop, NULL when stopped */
/* Runs fn(ud) on the runtime's loop thread and waits for it to return:
 * 1 if it did within ms, 0 if not. Aborts if the loop refuses the post. */
int ph_on_loop(void (*fn)(void *ud), void *ud, int64_t ms);

#endif
