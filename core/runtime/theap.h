/*
 * theap — the loop's one-shot timers: a binary min-heap of slots ordered
 * by due time (ties by creation order), slots reused through a free list,
 * and handles that pack (generation, slot) so that cancelling a timer that
 * already fired or was cancelled is a harmless no-op. No locking: the loop
 * that owns one calls it from its thread.
 */
#ifndef RK_CORE_THEAP_H
#define RK_CORE_THEAP_H

#include <stdint.h>

#define THEAP_SLOT_BITS 26 /* the low bits of a handle: slot + 1 */

typedef struct theap_slot {
    int64_t due_us;
    uint64_t seq;   /* ties broken by creation order */
    void (*fn)(void *ud);
    void *ud;
    uint32_t gen;   /* bumped on release: stale handles stop matching */
    uint32_t pos;   /* index in the heap, THEAP_FREE when free */
    uint32_t next_free;
} theap_slot;

typedef struct theap {
    theap_slot *slots;
    uint32_t nslots, cap, free_slot;
    uint32_t *heap;
    uint32_t len;
    uint64_t seq;
} theap;

void theap_init(theap *h);
void theap_free(theap *h);

/* A timer due at due_us: its handle, gen << 32 | (slot + 1), whose bits
 * THEAP_SLOT_BITS..31 are 0 (free for the caller); 0 when out of memory. */
uint64_t theap_add(theap *h, int64_t due_us, void (*fn)(void *ud), void *ud);
/* Cancel the timer of handle (bits between the slot and the generation are
 * ignored); a stale handle is ignored. */
void theap_cancel(theap *h, uint64_t handle);

/* Take the earliest timer if it is due at now and was added before
 * creation number `before` (theap_seq at the start of a pass): 1 with
 * fn and ud filled, or 0. */
int theap_pop_due(theap *h, int64_t now, uint64_t before, void (**fn)(void *),
                  void **ud);
/* The creation number the next timer gets. */
uint64_t theap_seq(const theap *h);
/* Due time of the earliest timer, or -1 when there is none. */
int64_t theap_next_due(const theap *h);
/* Drop every timer without calling it. */
void theap_clear(theap *h);

#endif
