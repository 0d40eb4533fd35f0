/*
 * strmap — owns the string-to-id tables of the in-memory index (terms,
 * document ids, tenant names). Open addressing with linear probing over a
 * table of 32-bit ids keeps lookups to one or two cache lines; keys live in
 * large arena blocks because a corpus has hundreds of thousands of short
 * terms and a malloc each would double their memory.
 */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#define BLOCK_BYTES 65536

struct strmap_block {
    strmap_block *next;
    size_t used, cap;
    char data[];
};

uint32_t strmap_hash(const char *s, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001B3ull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    return (uint32_t)(h ^ (h >> 32));
}

int64_t strmap_find(const strmap *m, const char *s, size_t n, uint32_t hash)
{
    if (!m->cap)
        return -1;
    for (uint32_t j = hash & (m->cap - 1); m->slots[j]; j = (j + 1) & (m->cap - 1)) {
        const strmap_key *k = &m->keys[m->slots[j] - 1];
        if (k->hash == hash && k->n == n && memcmp(k->s, s, n) == 0)
            return m->slots[j] - 1;
    }
    return -1;
}

static int grow_slots(strmap *m)
{
    uint32_t cap = m->cap ? m->cap * 2 : 64;
    uint32_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (uint32_t i = 0; i < m->n; i++) {
        uint32_t j = m->keys[i].hash & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = i + 1;
    }
    free(m->slots);
    m->bytes += (size_t)(cap - m->cap) * sizeof *slots;
    m->slots = slots;
    m->cap = cap;
    return 0;
}

static const char *arena_copy(strmap *m, const char *s, size_t n)
{
    strmap_block *b = m->blocks;
    if (!b || b->cap - b->used < n + 1) {
        size_t cap = n + 1 > BLOCK_BYTES ? n + 1 : BLOCK_BYTES;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = m->blocks;
        b->used = 0;
        b->cap = cap;
        m->blocks = b;
        m->bytes += sizeof *b + cap;
    }
    char *p = b->data + b->used;
    memcpy(p, s, n);
    p[n] = '\0';
    b->used += n + 1;
    return p;
}

int64_t strmap_intern(strmap *m, const char *s, size_t n, uint32_t hash)
{
    int64_t id = strmap_find(m, s, n, hash);
    if (id >= 0)
        return id;
    if (n > UINT32_MAX || m->n == UINT32_MAX - 1)
        return -1;
    if ((m->n + 1) * 2 > m->cap && grow_slots(m) < 0)
        return -1;
    if (m->n == m->kcap) {
        uint32_t kcap = m->kcap ? m->kcap * 2 : 32;
        strmap_key *keys = realloc(m->keys, (size_t)kcap * sizeof *keys);
        if (!keys)
            return -1;
        m->bytes += (size_t)(kcap - m->kcap) * sizeof *keys;
        m->keys = keys;
        m->kcap = kcap;
    }
    const char *copy = arena_copy(m, s, n);
    if (!copy)
        return -1;
    m->keys[m->n] = (strmap_key){copy, (uint32_t)n, hash};
    uint32_t j = hash & (m->cap - 1);
    while (m->slots[j])
        j = (j + 1) & (m->cap - 1);
    m->slots[j] = ++m->n;
    return m->n - 1;
}

void strmap_free(strmap *m)
{
    while (m->blocks) {
        strmap_block *b = m->blocks;
        m->blocks = b->next;
        free(b);
    }
    free(m->slots);
    free(m->keys);
    *m = (strmap){0};
}
