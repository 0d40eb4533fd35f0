/*
 * maint — history_sqlite's upkeep thread: keeps the WAL small and enforces
 * retention (max_conversations, max_bytes), off every request path.
 */
#ifndef RK_HISTORY_SQLITE_MAINT_H
#define RK_HISTORY_SQLITE_MAINT_H

#include <stdint.h>

#include "dbpool.h"

typedef struct maint_cfg {
    int64_t wal_max;             /* bytes: the WAL is truncated past a quarter of it */
    int64_t checkpoint_ms;       /* how often the WAL is checkpointed */
    int64_t max_conversations;   /* 0 = unlimited */
    int64_t max_bytes;           /* pages in use, bytes; 0 = unlimited */
    int64_t retention_ms;        /* how often retention runs */
} maint_cfg;

typedef struct maint maint;

/* log(ud, warn, msg) reports failures. The thread uses connections from p,
 * which must outlive it. NULL on failure to start. */
maint *maint_start(dbpool *p, const maint_cfg *cfg,
                   void (*log)(void *ud, int warn, const char *msg), void *ud);
void maint_stop(maint *m); /* joins the thread; NULL ok */

/* One pass on the calling thread (tests): checkpoint, then retention.
 * Returns conversations deleted, or <0. */
int64_t maint_checkpoint(dbpool *p, const maint_cfg *cfg, rk_err *err);
int64_t maint_retention(dbpool *p, const maint_cfg *cfg, rk_err *err);

#endif
