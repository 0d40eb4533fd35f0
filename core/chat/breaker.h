/*
 * breaker — a per-LLM-instance circuit breaker. `threshold` consecutive
 * failures open it for `cooldown_ms`; then a single probe call is let
 * through (half-open): its success closes the circuit, its failure opens it
 * for another cooldown. threshold <= 0 disables the breaker.
 * Thread-safe; times are on the monotonic ms clock (clock_now_ms).
 */
#ifndef RK_CORE_BREAKER_H
#define RK_CORE_BREAKER_H

#include <pthread.h>
#include <stdint.h>

typedef struct breaker {
    pthread_mutex_t mu;
    int threshold;
    int64_t cooldown_ms;
    int failures;       /* consecutive */
    int64_t open_until; /* monotonic ms; meaningful when failures >= threshold */
} breaker;

void breaker_init(breaker *b, int threshold, int64_t cooldown_ms);
void breaker_destroy(breaker *b);

/* 0 closed, 1 open (calls skipped), 2 half-open (the next call is a
 * probe); for the state gauge, no state change. */
int breaker_state(breaker *b, int64_t now);
/* 1 if calls are being skipped right now (no state change). */
int breaker_is_open(breaker *b, int64_t now);
/* 1 if a call may go now. In half-open state the first caller gets the
 * probe and the circuit stays shut for everyone else for one more cooldown
 * (or until the probe reports). */
int breaker_acquire(breaker *b, int64_t now);
void breaker_success(breaker *b);
/* Returns 1 when this failure opened (or re-opened) the circuit. */
int breaker_failure(breaker *b, int64_t now);

#endif
