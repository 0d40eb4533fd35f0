/*
 * docver — a per-tenant "documents version" kept in the cache instance, so
 * every host sharing the cache sees when a tenant's documents change.
 * Cached answers and retrieval results include it in their keys: an upload
 * or a delete makes every earlier entry of that tenant unreachable at once
 * (they age out by TTL), so no answer cites a deleted document.
 * Blocking: worker threads only.
 */
#ifndef RK_CORE_DOCVER_H
#define RK_CORE_DOCVER_H

#include <ragkernel/ragkernel.h>

#define DOCVER_LEN 33 /* 32 hex digits + NUL; "" = never changed */

/* cache may be NULL (then out is ""). A cache error also reads as "". */
void docver_read(rk_instance *cache, const char *tenant, char out[DOCVER_LEN]);
/* A new random version for the tenant (best effort; logged on failure). */
void docver_bump(rk_instance *cache, const char *tenant);

#endif
