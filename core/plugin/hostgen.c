/*
 * hostgen — see hostgen.h. One rwlock guards the current generation and
 * the starting registry; the pool pointer is an atomic set once.
 */
#include "hostgen.h"

#include <pthread.h>
#include <stdatomic.h>

static _Atomic(pool *) g_pool;
static pthread_rwlock_t g_lock = PTHREAD_RWLOCK_INITIALIZER;
static generation g_current;
static registry *g_starting; /* under g_lock */

void hostgen_set_pool(pool *p) { atomic_store(&g_pool, p); }

pool *hostgen_pool(void) { return atomic_load(&g_pool); }

generation hostgen_swap(generation g)
{
    pthread_rwlock_wrlock(&g_lock);
    generation old = g_current;
    g_current = g;
    pthread_rwlock_unlock(&g_lock);
    return old;
}

generation hostgen_current(void)
{
    pthread_rwlock_rdlock(&g_lock);
    generation g = g_current;
    pthread_rwlock_unlock(&g_lock);
    return g;
}

void hostgen_set_starting(registry *r)
{
    pthread_rwlock_wrlock(&g_lock);
    g_starting = r;
    pthread_rwlock_unlock(&g_lock);
}

const generation *hostgen_read(void)
{
    pthread_rwlock_rdlock(&g_lock);
    return &g_current;
}

const registry *hostgen_keys_registry(void) { return g_starting ? g_starting : g_current.reg; }

int hostgen_starting(void) { return g_starting != NULL; }

void hostgen_done(void) { pthread_rwlock_unlock(&g_lock); }

int hostgen_call(int (*fn)(const generation *g, pool *p, void *arg, rk_err *err), void *arg,
                 rk_err *err)
{
    pthread_rwlock_rdlock(&g_lock);
    int rc = g_current.reg ? fn(&g_current, atomic_load(&g_pool), arg, err)
                           : rk_fail(err, RK_ERR_UNAVAILABLE, "the server is not ready");
    pthread_rwlock_unlock(&g_lock);
    return rc;
}
