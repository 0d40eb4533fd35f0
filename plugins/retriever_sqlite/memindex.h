/*
 * memindex — the in-memory inverted index that serves searches; SQLite
 * (store.h) stays the source of truth and memindex is rebuilt from it.
 *
 * One mi_tenant per tenant, so statistics and postings never mix between
 * tenants. Chunks get dense ids in arrival order; a posting list is a
 * byte string of varint (id gap, tf) pairs, appended as chunks arrive.
 * Removing a chunk only marks it dead and corrects the statistics; dead
 * postings are skipped at ranking time and dropped when the tenant is
 * rebuilt (mi_tenant_wants_rebuild).
 *
 * Threads: no locking inside. Callers hold a read lock for mi_find,
 * mi_search and the getters, and a write lock for everything that changes
 * an mi_index or mi_tenant. An mi_tenant that is not yet in an index (a
 * rebuild in progress) belongs to the thread building it.
 */
#ifndef RK_RETRIEVER_SQLITE_MEMINDEX_H
#define RK_RETRIEVER_SQLITE_MEMINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "analyze.h"

typedef struct mi_index mi_index;
typedef struct mi_tenant mi_tenant;

mi_index *mi_index_new(void);
void mi_index_free(mi_index *ix);

/* The tenant's index, or NULL. */
mi_tenant *mi_find(const mi_index *ix, const char *tenant);
/* Find or create. NULL on no memory. */
mi_tenant *mi_get(mi_index *ix, const char *tenant);
/* Put t in place of the tenant of the same name; returns the one it
 * replaced (or NULL) for the caller to free after dropping the lock.
 * A t with no live chunk is freed at once and the tenant dropped. */
mi_tenant *mi_swap(mi_index *ix, mi_tenant *t);

mi_tenant *mi_tenant_new(const char *name);
void mi_tenant_free(mi_tenant *t);
const char *mi_tenant_name(const mi_tenant *t);
uint32_t mi_tenant_live(const mi_tenant *t);
int mi_tenant_wants_rebuild(const mi_tenant *t);
/* The Latin language most of the tenant's chunks use (-1: none yet). */
int mi_tenant_latin(const mi_tenant *t);

/* Add one chunk with its bag (see analyze.h); latin: the language its
 * Latin words were stemmed as, lang: the language of most of its text (tp
 * ids, -1 unknown). 0, or -1 (no memory or a corrupt bag: the tenant is
 * then only partly updated; rebuild it). */
int mi_add(mi_tenant *t, int64_t rowid, const char *doc_id, uint32_t dl,
           int latin, int lang, const uint8_t *bag, size_t bag_len);

/* Forget a document: its chunks die. bags/lens/latins are the stored bags
 * of exactly those chunks (from the store), used to correct document
 * frequencies. Returns the number of chunks that died. */
typedef struct mi_old {
    const uint8_t *bag;
    size_t len;
    int latin;
} mi_old;
uint32_t mi_remove_doc(mi_tenant *t, const char *doc_id, const mi_old *old,
                       size_t n_old);
/* Live chunks of a document. */
uint32_t mi_doc_chunks(const mi_tenant *t, const char *doc_id);

#endif
