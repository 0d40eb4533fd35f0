/*
 * plugin_check — what the ragkernel-plugin-check driver (plugin_check.c),
 * the per-kind contract checks (plugin_check_contracts.c, _cache.c,
 * _caps.c, _extract.c) and the reporting (plugin_check_report.c) share. Private to the
 * tool. Calls go one way: driver -> contracts -> caps/cache -> report.
 */
#ifndef RK_TOOLS_PLUGIN_CHECK_H
#define RK_TOOLS_PLUGIN_CHECK_H

#include "loop.h"
#include "registry.h"

typedef struct checker {
    int pass, fail;
    char tag[64]; /* unique per run, so shared backends see fresh keys */
} checker;

/* Prints "ok NAME", or "FAIL NAME: why" with why formatted from fmt, counts
 * it in ck and returns ok. (plugin_check_report.c, like pc_ret) */
int pc_check(checker *ck, int ok, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#ifdef __clang_analyzer__
/* The analyzer does not step into variadic functions (nor across files):
 * spelled out, the result is ok, so a failed check is not taken as passed. */
#define pc_check(ck, ok, ...)                                                  \
    ({                                                                         \
        int pc_ok_ = (ok);                                                     \
        pc_check((ck), pc_ok_, __VA_ARGS__);                                   \
        pc_ok_;                                                                \
    })
#endif

/* A slot's return value for a message: the status name when negative
 * ("RK_ERR_UNSUPPORTED"), else the count or RK_OK it is. Valid until the
 * fourth call after it on the same thread. */
const char *pc_ret(int64_t rc);

/* Exercises the contract of the instance's kind on a created, started
 * instance; lp is the running loop LLM calls are made from. */
void pc_run_contract(checker *ck, rk_instance *in, loop *lp);

/* The default cache contract (plugin_check_cache.c). */
void pc_cache_contract(checker *ck, const rk_plugin *d, void *ctx);

/* The extractor contract (plugin_check_extract.c). */
void pc_extractor_contract(checker *ck, const rk_plugin *d, void *ctx);

/* The contract the instance's declared capabilities imply, run instead of
 * the kind's default one (plugin_check_caps.c): 1 if it ran, 0 when the
 * plugin declares none that changes the contract. */
int pc_caps_contract(checker *ck, rk_instance *in);

#endif
