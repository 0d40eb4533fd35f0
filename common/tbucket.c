/*
 * tbucket — owns the arithmetic of a token bucket (see tbucket.h), so the
 * core's limiter and cache_memory cannot drift apart: before this file each
 * had its own copy, and they already differed in when the cap at burst
 * applied and in the limit of a retry hint. Rounding up to whole ms
 * without libm keeps it usable by any plugin.
 */
#include "tbucket.h"

/* ceil(x) in whole ms, capped at TB_MAX_MS; 0 for x <= 0. */
static int64_t ms_ceil(double x)
{
    if (x > TB_MAX_MS)
        x = TB_MAX_MS;
    if (x <= 0)
        return 0;
    int64_t r = (int64_t)x;
    return (double)r < x ? r + 1 : r;
}

int tb_take(tb_state *b, int64_t now_ms, double per_min, double burst, double cost,
            int force, int64_t *retry_after_ms)
{
    double rate = per_min / 60000.0; /* tokens per ms */
    if (now_ms > b->ts_ms) {
        b->tokens += (double)(now_ms - b->ts_ms) * rate;
        b->ts_ms = now_ms;
    }
    if (b->tokens > burst)
        b->tokens = burst;
    if (force || b->tokens >= cost) {
        b->tokens -= cost;
        return 1;
    }
    *retry_after_ms = ms_ceil((cost - b->tokens) / rate);
    return 0;
}

int64_t tb_full_in_ms(const tb_state *b, double per_min, double burst)
{
    return ms_ceil((burst - b->tokens) / (per_min / 60000.0));
}
