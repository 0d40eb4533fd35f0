/*
 * gate — owns the serialize lock's use and the timing of blocking
 * core->plugin calls (gate.h). It lives in the plugin layer because both
 * are instance concerns: the lock is the instance's promise to a plugin
 * that declared RK_PLUGIN_SERIALIZE, whoever calls it (chat stages, the
 * documents service, housekeeping, summaries), and the histogram is per
 * instance. Before this, each caller locked by hand through the chat
 * module, so docs and housekeeping depended on chat for a plugin rule.
 */
#define _GNU_SOURCE
#include "gate.h"

#include <stdatomic.h>
#include <time.h>

#include "metrics.h"
#include "registry.h"

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

const void *gate_vtable(const rk_instance *inst)
{
    return inst->plugin->vtable;
}

void gate_enter(rk_instance *inst, gate *g)
{
    g->inst = inst;
    if (inst->plugin->flags & RK_PLUGIN_SERIALIZE) pthread_mutex_lock(&inst->serial);
    g->t0_ns = now_ns();
}

/* Made on the instance's first call, so instances the core never calls
 * blocking (transports, LLMs) add no series; metrics_get returns the same
 * metric to two threads racing here, and across reloads. */
static rk_metric *call_metric(rk_instance *inst)
{
    rk_metric *m = atomic_load_explicit(&inst->m_call, memory_order_acquire);
    if (m) return m;
    m = metrics_labelled(RK_METRIC_HISTOGRAM, "ragkernel_plugin_call_seconds",
                         "blocking calls into a plugin instance (storage, retriever, cache, "
                         "history), lock wait excluded",
                         "instance", inst->name ? inst->name : "");
    atomic_store_explicit(&inst->m_call, m, memory_order_release);
    return m;
}

void gate_leave(const gate *g)
{
    rk_instance *inst = g->inst;
    rk_metric *m = call_metric(inst);
    if (m) metrics_observe(m, (double)(now_ns() - g->t0_ns) / 1e9);
    if (inst->plugin->flags & RK_PLUGIN_SERIALIZE) pthread_mutex_unlock(&inst->serial);
}
