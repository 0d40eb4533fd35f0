/*
 * cache_calls — calls on a cache plugin instance (a ph of kind
 * RK_KIND_CACHE) shared by the cache plugin tests: rate_take on a string
 * key, and the token-bucket behaviour every cache with rate_take has.
 */
#ifndef RK_TESTS_CACHE_CALLS_H
#define RK_TESTS_CACHE_CALLS_H

#include <stdint.h>

#include "plugin_harness.h"

/* rate_take on the bucket named by the C string key. *retry is set to -1
 * first, so a refusal that leaves it unset shows. Aborts unless the call
 * returns RK_OK or RK_ERR_RATE_LIMITED; returns which. */
int ph_take(ph *h, const char *key, double per_min, double burst, double cost, int force,
            int64_t *retry);

/* Bucket "r", 600/min (a token per 100 ms), burst 3: starts full, so three
 * takes pass and the fourth is refused with 50 < retry_after <= 100 ms;
 * once that wait is over a take passes again. */
void ph_check_bucket_refills(ph *h);

/* Bucket "n", burst 5, refilling at next to nothing: after taking 3, a
 * take of 3 is refused and takes nothing, so a take of 2 still fits. */
void ph_check_refusal_takes_nothing(ph *h);

#endif
