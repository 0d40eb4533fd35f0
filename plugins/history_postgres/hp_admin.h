/*
 * hp_admin — history_postgres's conversation administration slots (ABI
 * 1.1): list a tenant's conversations a page at a time, delete one.
 */
#ifndef RK_HISTORY_POSTGRES_HP_ADMIN_H
#define RK_HISTORY_POSTGRES_HP_ADMIN_H

#include <ragkernel/ragkernel.h>

#include "pgpool.h"

/* The statements for table prefix p (validated [a-z_][a-z0-9_]*), into
 * list and remove of cap bytes each. */
void hp_admin_sql(const char *p, char *list, char *remove, size_t cap);

int64_t hp_admin_list(pgpool *pool, const char *sql, const char *tenant, const char *after,
                      size_t limit, void (*on_conv)(void *ud, const rk_conv_info *c), void *ud,
                      rk_err *err);
int hp_admin_remove(pgpool *pool, const char *sql, const char *tenant, const char *conv_id,
                    rk_err *err);

#endif
