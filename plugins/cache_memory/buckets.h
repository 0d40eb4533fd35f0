/*
 * buckets — the token buckets behind the memory cache's rate_take: a
 * chained hash table of (key, tokens, last refill) behind one mutex, since
 * buckets are few (one per limited caller) and a take is a little
 * arithmetic. Keyed by the cache's seeded hash, so no caller can steer
 * keys into one chain.
 */
#ifndef RK_CACHE_MEMORY_BUCKETS_H
#define RK_CACHE_MEMORY_BUCKETS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bucket bucket;

typedef struct bucket_table {
    pthread_mutex_t mu;
    bucket **slots; /* power-of-two sized; chains via bucket.next */
    size_t n_slots;
    size_t count;
    size_t sweep_at; /* drop refilled buckets when count passes this */
} bucket_table;

int buckets_init(bucket_table *t);
void buckets_destroy(bucket_table *t);

/* The rk_cache_vtable.rate_take contract at monotonic time now_ms (the
 * caller has checked rate_per_min > 0, burst >= 0, cost >= 0). Returns 1
 * when cost was taken, 0 when refused (*retry_after_ms set), -1 when out
 * of memory for a new bucket. */
int buckets_take(bucket_table *t, uint64_t hash, const void *key, size_t klen,
                 int64_t now_ms, double rate_per_min, double burst, double cost,
                 int force, int64_t *retry_after_ms);

#endif
