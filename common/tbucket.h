/*
 * tbucket — token-bucket arithmetic: refill by elapsed time at a rate per
 * minute, cap at burst, then take a cost or say how long until it is
 * there. The one copy behind the core's in-process limiter and the memory
 * cache's rate_take (cache_redis runs the same steps in its Lua script), so
 * moving a deployment between limiters changes where buckets live, not how
 * they behave. No locking: the caller owns the bucket.
 */
#ifndef RK_COMMON_TBUCKET_H
#define RK_COMMON_TBUCKET_H

#include <stdint.h>

/* Waits and lifetimes are capped, as in cache_redis: a bucket that would
 * need more than a year is as good as closed. */
#define TB_MAX_MS 31622400000.0 /* 366 days */

typedef struct tb_state {
    double tokens;
    int64_t ts_ms; /* last refill; a new bucket: tokens = burst, ts = now */
} tb_state;

/* Refill b to now_ms (per_min tokens a minute, > 0; at most burst), then
 * take cost: always when force (tokens may go negative), else only if
 * there. 1 when taken; 0 when refused, with *retry_after_ms the wait until
 * cost is there (whole ms, rounded up, at most TB_MAX_MS). */
int tb_take(tb_state *b, int64_t now_ms, double per_min, double burst, double cost,
            int force, int64_t *retry_after_ms);

/* Whole ms until b is full again (0 if it is; at most TB_MAX_MS): from
 * then on the bucket is the same as no bucket. */
int64_t tb_full_in_ms(const tb_state *b, double per_min, double burst);

#endif
