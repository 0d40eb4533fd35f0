/*
 * strmap — interns strings: each distinct string gets a dense id (0, 1,
 * 2, ...) in order of first sight, so callers keep per-string data in
 * plain arrays indexed by id. Strings are copied into an arena of blocks
 * and never move or go away until strmap_free. Not thread-safe.
 */
#ifndef RK_RETRIEVER_SQLITE_STRMAP_H
#define RK_RETRIEVER_SQLITE_STRMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct strmap_key {
    const char *s; /* in the arena, NUL-terminated */
    uint32_t n, hash;
} strmap_key;

typedef struct strmap_block strmap_block;

typedef struct strmap {
    uint32_t *slots;   /* id + 1; 0 = empty */
    uint32_t cap;      /* slots, power of two */
    strmap_key *keys;  /* by id */
    uint32_t n, kcap;
    strmap_block *blocks;
    size_t bytes;      /* memory held, for accounting */
} strmap;

uint32_t strmap_hash(const char *s, size_t n);
/* id of s, or -1 */
int64_t strmap_find(const strmap *m, const char *s, size_t n, uint32_t hash);
/* id of s, adding it if new; -1 on no memory */
int64_t strmap_intern(strmap *m, const char *s, size_t n, uint32_t hash);
void strmap_free(strmap *m);

#endif
