/*
 * buckets — owns the memory cache's token buckets: where they live, not how
 * they behave. The arithmetic is common/tbucket.c, the one the core's own
 * limiter uses (and cache_redis runs in its Lua script), so moving a
 * deployment between caches changes where the buckets live, not how they
 * behave. A bucket that has refilled completely
 * is the same as no bucket, so each take records when that will be, and
 * such buckets are swept whenever the table has doubled since the last
 * sweep: memory follows the number of recently limited callers, without a
 * timer thread.
 */
#include "buckets.h"

#include <stdlib.h>
#include <string.h>

#include "tbucket.h"

#define SLACK_MS 1000             /* kept a little past full, as in Redis */
#define MIN_SLOTS 64u

struct bucket {
    bucket *next;
    uint64_t hash;
    tb_state tb;
    int64_t expires_ms; /* full again from then on: may be dropped */
    size_t klen;
    unsigned char key[];
};

int buckets_init(bucket_table *t)
{
    memset(t, 0, sizeof *t);
    t->slots = calloc(MIN_SLOTS, sizeof *t->slots);
    if (!t->slots)
        return -1;
    t->n_slots = MIN_SLOTS;
    t->sweep_at = MIN_SLOTS;
    if (pthread_mutex_init(&t->mu, NULL) != 0) {
        free(t->slots);
        t->slots = NULL;
        return -1;
    }
    return 0;
}

void buckets_destroy(bucket_table *t)
{
    for (size_t i = 0; i < t->n_slots; i++) {
        bucket *b = t->slots[i];
        while (b) {
            bucket *next = b->next;
            free(b);
            b = next;
        }
    }
    free(t->slots);
    t->slots = NULL;
    t->n_slots = t->count = 0;
    pthread_mutex_destroy(&t->mu);
}

static void sweep(bucket_table *t, int64_t now_ms)
{
    for (size_t i = 0; i < t->n_slots; i++) {
        bucket **pp = &t->slots[i];
        while (*pp) {
            bucket *b = *pp;
            if (b->expires_ms <= now_ms) {
                *pp = b->next;
                free(b);
                t->count--;
            } else {
                pp = &b->next;
            }
        }
    }
    t->sweep_at = t->count * 2 > MIN_SLOTS ? t->count * 2 : MIN_SLOTS;
}

/* Double the table when chains would average more than one bucket; a
 * failed grow only makes chains longer. */
static void maybe_grow(bucket_table *t)
{
    if (t->count < t->n_slots)
        return;
    size_t n = t->n_slots * 2;
    bucket **ns = calloc(n, sizeof *ns);
    if (!ns)
        return;
    for (size_t i = 0; i < t->n_slots; i++) {
        bucket *b = t->slots[i];
        while (b) {
            bucket *next = b->next;
            b->next = ns[b->hash & (n - 1)];
            ns[b->hash & (n - 1)] = b;
            b = next;
        }
    }
    free(t->slots);
    t->slots = ns;
    t->n_slots = n;
}

/* The bucket for key, created full if absent or refilled away. NULL when
 * out of memory. */
static bucket *find_or_add(bucket_table *t, uint64_t hash, const void *key, size_t klen,
                           int64_t now_ms, double burst)
{
    bucket *b = t->slots[hash & (t->n_slots - 1)];
    while (b && !(b->hash == hash && b->klen == klen && memcmp(b->key, key, klen) == 0))
        b = b->next;
    if (!b) {
        if (t->count >= t->sweep_at)
            sweep(t, now_ms);
        if (!(b = malloc(sizeof *b + klen)))
            return NULL;
        b->hash = hash;
        b->klen = klen;
        if (klen)
            memcpy(b->key, key, klen);
        t->count++;
        maybe_grow(t);
        bucket **slot = &t->slots[hash & (t->n_slots - 1)];
        b->next = *slot;
        *slot = b;
    } else if (b->expires_ms > now_ms) {
        return b;
    }
    b->tb = (tb_state){.tokens = burst, .ts_ms = now_ms};
    return b;
}

int buckets_take(bucket_table *t, uint64_t hash, const void *key, size_t klen,
                 int64_t now_ms, double rate_per_min, double burst, double cost,
                 int force, int64_t *retry_after_ms)
{
    int taken = -1;
    pthread_mutex_lock(&t->mu);
    bucket *b = find_or_add(t, hash, key, klen, now_ms, burst);
    if (!b)
        goto done;
    taken = tb_take(&b->tb, now_ms, rate_per_min, burst, cost, force, retry_after_ms);
    b->expires_ms = now_ms + tb_full_in_ms(&b->tb, rate_per_min, burst) + SLACK_MS;
done:
    pthread_mutex_unlock(&t->mu);
    return taken;
}
