/*
 * cfg_fixture — what the cfg tests share: one diagnostics list per case,
 * YAML loaded from a string as "t.yaml", and a look at one scalar.
 * Header-only: each test program compiles its own copy.
 */
#ifndef RK_TEST_CFG_FIXTURE_H
#define RK_TEST_CFG_FIXTURE_H

#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "testenv.h"

static cfg_diag diag;

static inline void setup(void) { memset(&diag, 0, sizeof diag); }
static inline void teardown(void) { cfg_diag_free(&diag); }

static inline cfg_doc *load(const char *text)
{
    return cfg_load_string(text, strlen(text), "t.yaml", &diag);
}

static inline const char *scalar(const cfg_doc *doc, const char *key)
{
    const cfg_node *n = cfg_map_get(cfg_root(doc), key);
    return n && n->kind == CFG_SCALAR ? n->str : NULL;
}

/* The only diagnostic, which must be exactly `want`. */
#define ASSERT_ONE_DIAG(want)                                                  \
    do {                                                                       \
        ck_assert_uint_eq(diag.n, 1);                                          \
        ck_assert_str_eq(diag.lines[0], want);                                 \
    } while (0)

#endif
