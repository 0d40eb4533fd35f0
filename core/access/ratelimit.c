/*
 * ratelimit — owns the in-process buckets (a small open hash table behind
 * one mutex: one lookup per request is far below the cost of the request)
 * and the fallback policy when a shared limiter is down: let traffic
 * through rather than turn a cache outage into a full outage.
 */
#define _GNU_SOURCE
#include "ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "registry.h"
#include "tbucket.h"

typedef struct bucket {
    char *name;
    tb_state tb;
    struct bucket *next;
} bucket;

#define RL_SLOTS 1024
static bucket *slots[RL_SLOTS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t last_warn_ms;

static unsigned slot_of(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h % RL_SLOTS;
}

static int local_take(const char *name, double per_min, double cost, int force, int64_t *retry)
{
    int64_t now = clock_now_ms();
    pthread_mutex_lock(&mu);
    bucket **pp = &slots[slot_of(name)], *b = *pp;
    while (b && strcmp(b->name, name) != 0) b = b->next;
    if (!b && (b = calloc(1, sizeof *b)) && (b->name = strdup(name))) {
        b->tb = (tb_state){.tokens = per_min, .ts_ms = now};
        b->next = *pp;
        *pp = b;
    } else if (b && !b->name) {
        free(b);
        b = NULL;
    }
    int ok = !b || tb_take(&b->tb, now, per_min, per_min, cost, force, retry);
    pthread_mutex_unlock(&mu);
    return ok ? RK_OK : RK_ERR_RATE_LIMITED;
}

static int shared_take(rk_instance *lim, const char *name, double per_min, double cost,
                       int force, int64_t *retry)
{
    const rk_cache_vtable *vt = lim->plugin->vtable;
    rk_err err = {{0}};
    int rc = vt->rate_take(lim->ctx, name, strlen(name), per_min, per_min, cost, force,
                           retry, &err);
    if (rc == RK_OK || rc == RK_ERR_RATE_LIMITED) return rc;
    metrics_add(metrics_get(RK_METRIC_COUNTER, "ragkernel_ratelimit_backend_errors_total",
                            "Rate-limit checks let through because the limiter failed", NULL),
                1);
    int64_t now = clock_now_ms();
    if (now - __atomic_load_n(&last_warn_ms, __ATOMIC_RELAXED) > 60000) {
        __atomic_store_n(&last_warn_ms, now, __ATOMIC_RELAXED);
        log_warn(lim->name, "rate limiter unavailable, letting requests through: %s", err.msg);
    }
    return RK_OK;
}

int ratelimit_take(rk_instance *limiter, const char *name, double per_min, double cost,
                   int force, int64_t *retry_after_ms)
{
    if (per_min <= 0) return RK_OK;
    *retry_after_ms = 0;
    int rc;
    if (limiter && RK_HAS_FIELD((const rk_cache_vtable *)limiter->plugin->vtable,
                                rk_cache_vtable, rate_take) &&
        ((const rk_cache_vtable *)limiter->plugin->vtable)->rate_take)
        rc = shared_take(limiter, name, per_min, cost, force, retry_after_ms);
    else
        rc = local_take(name, per_min, cost, force, retry_after_ms);
    if (rc == RK_ERR_RATE_LIMITED)
        metrics_add(metrics_get(RK_METRIC_COUNTER, "ragkernel_rate_limited_total",
                                "Requests refused by a rate limit", NULL),
                    1);
    return rc;
}

void ratelimit_reset(void)
{
    pthread_mutex_lock(&mu);
    for (int i = 0; i < RL_SLOTS; i++) {
        while (slots[i]) {
            bucket *b = slots[i];
            slots[i] = b->next;
            free(b->name);
            free(b);
        }
    }
    pthread_mutex_unlock(&mu);
}
