/*
 * hist_admin — history_sqlite's conversation administration slots (ABI
 * 1.1): list a tenant's conversations a page at a time, delete one.
 */
#ifndef RK_HISTORY_SQLITE_HIST_ADMIN_H
#define RK_HISTORY_SQLITE_HIST_ADMIN_H

#include <ragkernel/ragkernel.h>

#include "dbpool.h"

int64_t hist_admin_list(dbpool *p, const char *tenant, const char *after, size_t limit,
                        void (*on_conv)(void *ud, const rk_conv_info *c), void *ud,
                        rk_err *err);
int hist_admin_remove(dbpool *p, const char *tenant, const char *conv_id, rk_err *err);

#endif
