/*
 * history_calls — the history tests (SQLite and PostgreSQL) check the same
 * contract, so they read conversations back the same way: as one text of
 * "role:content" lines that a single string comparison can check, order
 * included.
 */
#define _GNU_SOURCE
#include "history_calls.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

void ph_hist_on_msg(void *ud, const rk_history_entry *e)
{
    ph_loaded *l = ud;
    size_t used = strlen(l->text);
    snprintf(l->text + used, sizeof l->text - used, "%s:%s\n", e->role, e->content);
    if (l->n++ == 0)
        l->first_ms = e->created_ms;
}

int ph_hist_load(ph *h, const char *tenant, const char *conv, size_t max, ph_loaded *l)
{
    memset(l, 0, sizeof *l);
    rk_err err = {{0}};
    return h->history->load(h->ctx, tenant, conv, max, ph_hist_on_msg, l, &err);
}

void ph_hist_append(ph *h, const char *tenant, const char *conv, const rk_message *m,
                    size_t n)
{
    rk_err err = {{0}};
    int rc = h->history->append(h->ctx, tenant, conv, m, n, &err);
    ck_assert_msg(rc == RK_OK, "append: %s", err.msg);
}
