/*
 * theap — see theap.h. The heap holds slot numbers; each slot knows its
 * heap position, so a cancel removes it in O(log n) without a search.
 */
#include "theap.h"

#include <stdlib.h>

#define THEAP_FREE UINT32_MAX
#define SLOT_MASK ((1u << THEAP_SLOT_BITS) - 1)

void theap_init(theap *h) { *h = (theap){.free_slot = THEAP_FREE}; }

void theap_free(theap *h)
{
    free(h->slots);
    free(h->heap);
    theap_init(h);
}

static int tless(const theap *h, uint32_t a, uint32_t b)
{
    const theap_slot *x = &h->slots[a], *y = &h->slots[b];
    return x->due_us < y->due_us || (x->due_us == y->due_us && x->seq < y->seq);
}

static void heap_put(theap *h, uint32_t pos, uint32_t slot)
{
    h->heap[pos] = slot;
    h->slots[slot].pos = pos;
}

static void sift_up(theap *h, uint32_t pos)
{
    uint32_t s = h->heap[pos];
    while (pos > 0 && tless(h, s, h->heap[(pos - 1) / 2])) {
        heap_put(h, pos, h->heap[(pos - 1) / 2]);
        pos = (pos - 1) / 2;
    }
    heap_put(h, pos, s);
}

static void sift_down(theap *h, uint32_t pos)
{
    uint32_t s = h->heap[pos];
    for (;;) {
        uint32_t c = 2 * pos + 1;
        if (c >= h->len) break;
        if (c + 1 < h->len && tless(h, h->heap[c + 1], h->heap[c])) c++;
        if (!tless(h, h->heap[c], s)) break;
        heap_put(h, pos, h->heap[c]);
        pos = c;
    }
    heap_put(h, pos, s);
}

/* Take a slot out of the heap and put it on the free list. */
static void slot_release(theap *h, uint32_t slot)
{
    uint32_t pos = h->slots[slot].pos, last = h->heap[--h->len];
    if (pos != h->len) {
        heap_put(h, pos, last);
        if (pos > 0 && tless(h, last, h->heap[(pos - 1) / 2])) sift_up(h, pos);
        else sift_down(h, pos);
    }
    h->slots[slot].pos = THEAP_FREE;
    h->slots[slot].gen++;
    h->slots[slot].next_free = h->free_slot;
    h->free_slot = slot;
}

static int slots_grow(theap *h)
{
    uint32_t cap = h->cap ? h->cap * 2 : 64;
    theap_slot *s = realloc(h->slots, cap * sizeof *s);
    if (!s) return -1;
    h->slots = s;
    uint32_t *q = realloc(h->heap, cap * sizeof *q);
    if (!q) return -1;
    h->heap = q;
    h->cap = cap;
    return 0;
}

uint64_t theap_add(theap *h, int64_t due_us, void (*fn)(void *ud), void *ud)
{
    uint32_t i = h->free_slot;
    if (i != THEAP_FREE) {
        h->free_slot = h->slots[i].next_free;
    } else {
        if (h->nslots >= SLOT_MASK - 1) return 0;
        if (h->nslots == h->cap && slots_grow(h) < 0) return 0;
        i = h->nslots++;
        h->slots[i].gen = 1;
    }
    theap_slot *t = &h->slots[i];
    t->due_us = due_us;
    t->seq = h->seq++;
    t->fn = fn;
    t->ud = ud;
    heap_put(h, h->len++, i);
    sift_up(h, t->pos);
    return ((uint64_t)t->gen << 32) | (i + 1);
}

void theap_cancel(theap *h, uint64_t handle)
{
    uint32_t i = (uint32_t)(handle & SLOT_MASK) - 1, gen = (uint32_t)(handle >> 32);
    if (i >= h->nslots || h->slots[i].gen != gen || h->slots[i].pos == THEAP_FREE) return;
    slot_release(h, i);
}

int theap_pop_due(theap *h, int64_t now, uint64_t before, void (**fn)(void *), void **ud)
{
    if (h->len == 0) return 0;
    theap_slot *t = &h->slots[h->heap[0]];
    if (t->due_us > now || t->seq >= before) return 0;
    *fn = t->fn;
    *ud = t->ud;
    slot_release(h, h->heap[0]);
    return 1;
}

uint64_t theap_seq(const theap *h) { return h->seq; }

int64_t theap_next_due(const theap *h) { return h->len ? h->slots[h->heap[0]].due_us : -1; }

void theap_clear(theap *h)
{
    while (h->len > 0) slot_release(h, h->heap[0]);
}
