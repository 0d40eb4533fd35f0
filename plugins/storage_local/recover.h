/*
 * recover — storage_local's repair at start of what a crash interrupted:
 * staging files of uploads that never committed, a replacement cut
 * between publishing its blob and its meta, blobs without a meta.
 */
#ifndef RK_STORAGE_LOCAL_RECOVER_H
#define RK_STORAGE_LOCAL_RECOVER_H

#include <ragkernel/ragkernel.h>

/* Suffixes after ".<id>" of the backups commit() keeps while it replaces an
 * object: the old blob and the old meta, as hard links. */
#define RECOVER_BLOB_PREV ".blob.previous"
#define RECOVER_META_PREV ".meta.previous"

/* Repair every tenant directory under root, the first time this root is
 * seen in the process. Only files changed before the first instance of
 * this plugin was created in this process are touched, so the staging
 * files of a generation still running (a reload creates the new instance
 * while the old one serves) are left alone. Best effort: problems are
 * logged, never fatal. Logs one line when it changed anything. */
void recover_root(const rk_host *host, rk_instance *self, const char *root);

#endif
