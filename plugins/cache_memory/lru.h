/*
 * lru — one cache shard: a mutex, a chained hash table and a doubly linked
 * recency list, with TTL and byte/entry limits. The plugin owns an array of
 * these and picks one by the key's hash, so threads on different keys
 * rarely contend.
 */
#ifndef RK_CACHE_MEMORY_LRU_H
#define RK_CACHE_MEMORY_LRU_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lru_entry lru_entry;

typedef struct lru_shard {
    pthread_mutex_t mu;
    lru_entry **buckets; /* power-of-two sized; chains via lru_entry.hnext */
    size_t n_buckets;
    lru_entry *head, *tail; /* head = most recently used */
    size_t entries;
    size_t bytes;
    size_t max_entries;
    size_t max_bytes;
} lru_shard;

/* What one call changed, for the plugin's gauges and counters. */
typedef struct lru_delta {
    int64_t entries;
    int64_t bytes;
    int64_t evicted;  /* removed to make room */
    int64_t expired;  /* removed because their TTL passed */
} lru_delta;

/* Bytes charged for one entry: key + value + bookkeeping. */
size_t lru_entry_cost(size_t klen, size_t vlen);

int lru_shard_init(lru_shard *s, size_t max_entries, size_t max_bytes);
/* Frees every entry; returns what was dropped as a (negative) delta. */
void lru_shard_destroy(lru_shard *s, lru_delta *d);

/* Copies the value of a live entry into a fresh malloc'd buffer (*out, *len;
 * the caller frees it) and marks it used. 0 on a hit, -1 on a miss,
 * -2 when out of memory. An expired entry is a miss and is freed. */
int lru_get(lru_shard *s, uint64_t hash, const void *key, size_t klen,
            int64_t now_ms, void **out, size_t *len, lru_delta *d);
/* Inserts or replaces. expires_ms <= 0 = never. 0 ok, -1 too large for the
 * shard (any older value of the key is dropped), -2 out of memory. */
int lru_set(lru_shard *s, uint64_t hash, const void *key, size_t klen,
            const void *val, size_t vlen, int64_t expires_ms, int64_t now_ms,
            lru_delta *d);
/* Removes the key if present. */
void lru_del(lru_shard *s, uint64_t hash, const void *key, size_t klen,
             lru_delta *d);

#endif
