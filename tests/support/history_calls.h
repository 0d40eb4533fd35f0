/*
 * history_calls — calls on a history plugin instance (a ph of kind
 * RK_KIND_HISTORY) shared by the history plugin tests: load into a flat
 * "role:content" transcript, append that must succeed.
 */
#ifndef RK_TESTS_HISTORY_CALLS_H
#define RK_TESTS_HISTORY_CALLS_H

#include <stdint.h>

#include "plugin_harness.h"

/* Loaded messages as "role:content\n" lines, in the order they came. */
typedef struct ph_loaded {
    char text[16384];
    int n;
    int64_t first_ms; /* created_ms of the first message */
} ph_loaded;

/* rk_history_vtable.load's callback, appending to a ph_loaded. */
void ph_hist_on_msg(void *ud, const rk_history_entry *e);
/* Empties l and loads (tenant, conv) into it: load()'s status. */
int ph_hist_load(ph *h, const char *tenant, const char *conv, size_t max, ph_loaded *l);
/* append(); aborts the test unless it succeeds. */
void ph_hist_append(ph *h, const char *tenant, const char *conv, const rk_message *m,
                    size_t n);

/* The 1.1 list and remove slots: byte order of ids, pages after a
 * cursor, message counts, tenants apart, remove then not found. Writes
 * conversations "a-conv", "b-conv", "C-conv" of tenants "ta" and "tb". */
void ph_hist_list_remove(ph *h);

/* The key slots' contract (since 1.1): put, list with and without a
 * tenant, replace by id, revoke (unknown id, idempotent, first time kept).
 * Writes through a, reads through b (the same instance, or a second
 * "host" on the same store). Aborts the test on a mismatch. */
void ph_hist_keys_contract(ph *a, ph *b);

#endif
