/*
 * housekeep — owns one thread that wakes every interval and deletes
 * conversations idle for longer than the TTL, `batch` at a time, until a
 * pass finds fewer than a batch. A thread (not the pool) because a pass may
 * take seconds against a large database and must never delay requests
 * queued behind it; it sleeps on a condvar so stopping is immediate.
 * While the history instance is marked failing (a turn could not be
 * stored, see histsave.c) it also probes the store every HK_PROBE_MS, so
 * /ready recovers when writes work again even if no traffic reaches a host
 * its load balancer took out of rotation.
 */
#define _GNU_SOURCE
#include "housekeep.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "gate.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "registry.h"

#define HK_MAX_ROUNDS 100 /* batches per pass: bounds one pass's work */
#define HK_PROBE_MS 2000  /* how often a failing store is tried again */

struct housekeep {
    rk_instance *history;
    int64_t ttl_ms, interval_ms, batch;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;
};

int64_t housekeep_run_once(housekeep *h)
{
    if (h->ttl_ms <= 0) return 0;
    int64_t cutoff = clock_wall_ms() - h->ttl_ms, total = 0;
    for (int round = 0; round < HK_MAX_ROUNDS; round++) {
        rk_err err = {{0}};
        int64_t n = GATE_CALL(h->history, rk_history_vtable, expire, (int64_t)RK_ERR_UNSUPPORTED,
                              cutoff, (size_t)h->batch, &err);
        if (n < 0) {
            log_warn(h->history->name, "expiring idle conversations failed: %s", err.msg);
            return n;
        }
        total += n;
        if (n < h->batch) break;
    }
    if (total > 0) {
        log_info(h->history->name, "expired %lld idle conversations", (long long)total);
        metrics_add(metrics_get(RK_METRIC_COUNTER, "ragkernel_history_expired_total",
                                "Idle conversations deleted", NULL),
                    (double)total);
    }
    return total;
}

int housekeep_probe(housekeep *h)
{
    rk_instance *inst = h->history;
    const rk_history_vtable *vt = inst->plugin->vtable;
    if (!atomic_load(&inst->write_failing)) return RK_OK;
    if (!gate_has(vt, rk_history_vtable, probe)) return RK_ERR_UNSUPPORTED;
    rk_err err = {{0}};
    int rc = GATE_CALL(inst, rk_history_vtable, probe, RK_ERR_UNSUPPORTED, &err);
    if (rc == RK_OK && atomic_exchange(&inst->write_failing, 0))
        log_info(inst->name, "storing conversation turns works again (probe)");
    else if (rc != RK_OK)
        log_debug(inst->name, "history probe failed: %s", err.msg);
    return rc;
}

static void *hk_main(void *arg)
{
    housekeep *h = arg;
    int64_t next_expire = clock_now_ms() + h->interval_ms;
    pthread_mutex_lock(&h->mu);
    while (!h->stopping) {
        int64_t wait = next_expire - clock_now_ms();
        if (wait > HK_PROBE_MS) wait = HK_PROBE_MS;
        if (wait < 0) wait = 0;
        struct timespec ts = clock_mono_after(wait);
        while (!h->stopping && pthread_cond_timedwait(&h->cv, &h->mu, &ts) == 0) {}
        if (h->stopping) break;
        pthread_mutex_unlock(&h->mu);
        housekeep_probe(h);
        if (clock_now_ms() >= next_expire) {
            housekeep_run_once(h);
            next_expire = clock_now_ms() + h->interval_ms;
        }
        pthread_mutex_lock(&h->mu);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

housekeep *housekeep_new(rk_instance *history, int64_t ttl_ms, int64_t interval_ms,
                         int64_t batch)
{
    if (!history) return NULL;
    housekeep *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->history = history;
    h->ttl_ms = ttl_ms;
    h->interval_ms = interval_ms > 0 ? interval_ms : 600000;
    h->batch = batch > 0 ? batch : 500;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&h->mu, NULL);
    if (pthread_create(&h->thread, NULL, hk_main, h) != 0) {
        log_warn("core", "housekeeping thread not started; idle conversations will not "
                 "expire and a failing history store is not probed");
        pthread_cond_destroy(&h->cv);
        pthread_mutex_destroy(&h->mu);
        free(h);
        return NULL;
    }
    return h;
}

void housekeep_free(housekeep *h)
{
    if (!h) return;
    pthread_mutex_lock(&h->mu);
    h->stopping = 1;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    pthread_join(h->thread, NULL);
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}
