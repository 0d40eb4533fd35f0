/*
 * breaker — consecutive-failure circuit breaker for LLM providers. An open
 * circuit lets the pipeline skip a provider that keeps failing instead of
 * paying its timeout on every request. The half-open state admits exactly
 * one probe by pushing open_until forward when the probe is handed out, so a
 * recovering provider is not hit by a burst of requests at the end of the
 * cooldown. A mutex (not atomics) because several fields change together and
 * the critical sections are a few instructions long.
 */
#include "breaker.h"

void breaker_init(breaker *b, int threshold, int64_t cooldown_ms)
{
    pthread_mutex_init(&b->mu, NULL);
    b->threshold = threshold;
    b->cooldown_ms = cooldown_ms > 0 ? cooldown_ms : 0;
    b->failures = 0;
    b->open_until = 0;
}

void breaker_destroy(breaker *b) { pthread_mutex_destroy(&b->mu); }

static int tripped(const breaker *b)
{
    return b->threshold > 0 && b->failures >= b->threshold;
}

int breaker_state(breaker *b, int64_t now)
{
    pthread_mutex_lock(&b->mu);
    int st = !tripped(b) ? 0 : now < b->open_until ? 1 : 2;
    pthread_mutex_unlock(&b->mu);
    return st;
}

int breaker_is_open(breaker *b, int64_t now)
{
    pthread_mutex_lock(&b->mu);
    int open = tripped(b) && now < b->open_until;
    pthread_mutex_unlock(&b->mu);
    return open;
}

int breaker_acquire(breaker *b, int64_t now)
{
    int ok = 1;
    pthread_mutex_lock(&b->mu);
    if (tripped(b)) {
        if (now < b->open_until)
            ok = 0;
        else
            b->open_until = now + b->cooldown_ms; /* this caller is the probe */
    }
    pthread_mutex_unlock(&b->mu);
    return ok;
}

void breaker_success(breaker *b)
{
    pthread_mutex_lock(&b->mu);
    b->failures = 0;
    b->open_until = 0;
    pthread_mutex_unlock(&b->mu);
}

int breaker_failure(breaker *b, int64_t now)
{
    pthread_mutex_lock(&b->mu);
    if (b->threshold > 0 && b->failures < b->threshold) b->failures++;
    int opened = tripped(b);
    if (opened) b->open_until = now + b->cooldown_ms;
    pthread_mutex_unlock(&b->mu);
    return opened;
}
