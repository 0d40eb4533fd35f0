/*
 * lru — one shard of the memory cache. Each entry is a single allocation
 * (header, key bytes, value bytes) linked both into a hash chain and into
 * the recency list, so a hit is one lookup plus two pointer swaps, and an
 * eviction pops the list tail. Expired entries are not swept by a timer:
 * they are dropped when a lookup meets them or when they reach the tail,
 * which keeps the cache free of background threads. All functions take the
 * shard mutex for their whole duration; the value is copied out under the
 * lock so the caller's callback never runs with the shard locked.
 */
#include "lru.h"

#include <stdlib.h>
#include <string.h>

struct lru_entry {
    lru_entry *hnext;
    lru_entry *prev, *next;
    uint64_t hash;
    int64_t expires_ms; /* <= 0: never */
    size_t klen, vlen;
    unsigned char data[]; /* key, then value */
};

#define LRU_INITIAL_BUCKETS 64u

size_t lru_entry_cost(size_t klen, size_t vlen)
{
    /* the header plus the bucket slot it will eventually need */
    return sizeof(lru_entry) + sizeof(lru_entry *) + klen + vlen;
}

int lru_shard_init(lru_shard *s, size_t max_entries, size_t max_bytes)
{
    memset(s, 0, sizeof *s);
    s->buckets = calloc(LRU_INITIAL_BUCKETS, sizeof *s->buckets);
    if (!s->buckets)
        return -1;
    s->n_buckets = LRU_INITIAL_BUCKETS;
    s->max_entries = max_entries;
    s->max_bytes = max_bytes;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s->buckets);
        s->buckets = NULL;
        return -1;
    }
    return 0;
}

void lru_shard_destroy(lru_shard *s, lru_delta *d)
{
    lru_entry *e = s->head;
    while (e) {
        lru_entry *next = e->next;
        d->entries -= 1;
        d->bytes -= (int64_t)lru_entry_cost(e->klen, e->vlen);
        free(e);
        e = next;
    }
    free(s->buckets);
    s->buckets = NULL;
    s->head = s->tail = NULL;
    s->entries = s->bytes = 0;
    pthread_mutex_destroy(&s->mu);
}

static lru_entry **find_slot(lru_shard *s, uint64_t hash, const void *key,
                             size_t klen)
{
    lru_entry **pp = &s->buckets[hash & (s->n_buckets - 1)];
    for (; *pp; pp = &(*pp)->hnext) {
        lru_entry *e = *pp;
        if (e->hash == hash && e->klen == klen && memcmp(e->data, key, klen) == 0)
            return pp;
    }
    return pp;
}

static void list_unlink(lru_shard *s, lru_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        s->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        s->tail = e->prev;
    e->prev = e->next = NULL;
}

static void list_push_head(lru_shard *s, lru_entry *e)
{
    e->prev = NULL;
    e->next = s->head;
    if (s->head)
        s->head->prev = e;
    s->head = e;
    if (!s->tail)
        s->tail = e;
}

/* Unlink e (found at *slot) from both structures and free it. */
static void drop_at(lru_shard *s, lru_entry **slot, lru_delta *d)
{
    lru_entry *e = *slot;
    size_t cost = lru_entry_cost(e->klen, e->vlen);
    *slot = e->hnext;
    list_unlink(s, e);
    s->entries--;
    s->bytes -= cost;
    d->entries -= 1;
    d->bytes -= (int64_t)cost;
    free(e);
}

static int is_expired(const lru_entry *e, int64_t now_ms)
{
    return e->expires_ms > 0 && e->expires_ms <= now_ms;
}

/* Evict from the tail until one more entry of `cost` bytes fits. */
static void make_room(lru_shard *s, size_t cost, int64_t now_ms, lru_delta *d)
{
    while (s->tail &&
           (s->entries + 1 > s->max_entries || s->bytes + cost > s->max_bytes)) {
        lru_entry *victim = s->tail;
        if (is_expired(victim, now_ms))
            d->expired++;
        else
            d->evicted++;
        drop_at(s, find_slot(s, victim->hash, victim->data, victim->klen), d);
    }
}

/* Double the table when chains would average more than one entry. Failure
 * to grow only makes chains longer, so it is not an error. */
static void maybe_grow(lru_shard *s)
{
    if (s->entries < s->n_buckets)
        return;
    size_t n = s->n_buckets * 2;
    lru_entry **nb = calloc(n, sizeof *nb);
    if (!nb)
        return;
    for (size_t i = 0; i < s->n_buckets; i++) {
        lru_entry *e = s->buckets[i];
        while (e) {
            lru_entry *next = e->hnext;
            e->hnext = nb[e->hash & (n - 1)];
            nb[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(s->buckets);
    s->buckets = nb;
    s->n_buckets = n;
}

int lru_get(lru_shard *s, uint64_t hash, const void *key, size_t klen,
            int64_t now_ms, void **out, size_t *len, lru_delta *d)
{
    int rc = -1;
    pthread_mutex_lock(&s->mu);
    lru_entry **slot = find_slot(s, hash, key, klen);
    lru_entry *e = *slot;
    if (!e)
        goto done;
    if (is_expired(e, now_ms)) {
        d->expired++;
        drop_at(s, slot, d);
        goto done;
    }
    /* +1 so an empty value still gets a distinct, freeable buffer */
    void *copy = malloc(e->vlen + 1);
    if (!copy) {
        rc = -2;
        goto done;
    }
    memcpy(copy, e->data + e->klen, e->vlen);
    *out = copy;
    *len = e->vlen;
    list_unlink(s, e);
    list_push_head(s, e);
    rc = 0;
done:
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int lru_set(lru_shard *s, uint64_t hash, const void *key, size_t klen,
            const void *val, size_t vlen, int64_t expires_ms, int64_t now_ms,
            lru_delta *d)
{
    size_t cost = lru_entry_cost(klen, vlen);
    /* allocate before locking: the copy is the slow part */
    lru_entry *e = cost <= s->max_bytes ? malloc(sizeof *e + klen + vlen) : NULL;
    if (e) {
        memset(e, 0, sizeof *e);
        e->hash = hash;
        e->expires_ms = expires_ms;
        e->klen = klen;
        e->vlen = vlen;
        memcpy(e->data, key, klen);
        if (vlen)
            memcpy(e->data + klen, val, vlen);
    }
    pthread_mutex_lock(&s->mu);
    lru_entry **slot = find_slot(s, hash, key, klen);
    if (*slot)
        drop_at(s, slot, d); /* a failed set must not leave the old value */
    if (e) {
        make_room(s, cost, now_ms, d);
        maybe_grow(s);
        slot = &s->buckets[hash & (s->n_buckets - 1)];
        e->hnext = *slot;
        *slot = e;
        list_push_head(s, e);
        s->entries++;
        s->bytes += cost;
        d->entries += 1;
        d->bytes += (int64_t)cost;
    }
    pthread_mutex_unlock(&s->mu);
    if (e)
        return 0;
    return cost > s->max_bytes ? -1 : -2;
}

void lru_del(lru_shard *s, uint64_t hash, const void *key, size_t klen,
             lru_delta *d)
{
    pthread_mutex_lock(&s->mu);
    lru_entry **slot = find_slot(s, hash, key, klen);
    if (*slot)
        drop_at(s, slot, d);
    pthread_mutex_unlock(&s->mu);
}
