/*
 * plugin_check — what the ragkernel-plugin-check driver (plugin_check.c)
 * and the per-kind contract checks (plugin_check_contracts.c) share. Private
 * to the tool.
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
 * it in ck and returns ok. */
int pc_check(checker *ck, int ok, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Exercises the contract of the instance's kind on a created, started
 * instance; lp is the running loop LLM calls are made from. */
void pc_run_contract(checker *ck, rk_instance *in, loop *lp);

#endif
