/*
 * buckets — owns the memory cache's token buckets. The arithmetic is the
 * one cache_redis runs in its Lua script and the core uses for its own
 * limiter (refill by elapsed time, cap at burst, take or say how long until
 * cost is there), so moving a deployment between caches changes where the
 * buckets live, not how they behave. A bucket that has refilled completely
 * is the same as no bucket, so each take records when that will be, and
 * such buckets are swept whenever the table has doubled since the last
 * sweep: memory follows the number of recently limited callers, without a
 * timer thread.
 */
#include "buckets.h"

#include <stdlib.h>
#include <string.h>

/* Retry hints and lifetimes are capped (as in cache_redis): a bucket that
 * would need more than a year is as good as closed. */
#define RATE_MAX_MS 31622400000.0 /* 366 days */
#define SLACK_MS 1000             /* kept a little past full, as in Redis */
#define MIN_SLOTS 64u

struct bucket {
    bucket *next;
    uint64_t hash;
    double tokens;
    int64_t ts_ms;      /* last refill */
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

/* ceil(x) in whole ms, capped; no libm needed. */
static int64_t ms_ceil(double x)
{
    if (x > RATE_MAX_MS)
        x = RATE_MAX_MS;
    if (x <= 0)
        return 0;
    int64_t r = (int64_t)x;
    return (double)r < x ? r + 1 : r;
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
    b->tokens = burst;
    b->ts_ms = now_ms;
    return b;
}

int buckets_take(bucket_table *t, uint64_t hash, const void *key, size_t klen,
                 int64_t now_ms, double rate_per_min, double burst, double cost,
                 int force, int64_t *retry_after_ms)
{
    double rate = rate_per_min / 60000.0; /* tokens per ms */
    int taken = -1;
    pthread_mutex_lock(&t->mu);
    bucket *b = find_or_add(t, hash, key, klen, now_ms, burst);
    if (!b)
        goto done;
    if (now_ms > b->ts_ms) {
        b->tokens += (double)(now_ms - b->ts_ms) * rate;
        b->ts_ms = now_ms;
    }
    if (b->tokens > burst)
        b->tokens = burst;
    taken = force || b->tokens >= cost;
    if (taken)
        b->tokens -= cost;
    else
        *retry_after_ms = ms_ceil((cost - b->tokens) / rate);
    b->expires_ms = now_ms + ms_ceil((burst - b->tokens) / rate) + SLACK_MS;
done:
    pthread_mutex_unlock(&t->mu);
    return taken;
}
