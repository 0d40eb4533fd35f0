/*
 * pool — a fixed set of worker threads draining one FIFO queue, for the
 * plugin calls that block (retrieval, storage, cache, history) and so must
 * stay off the event loop. One mutex and one condition variable are enough:
 * jobs are coarse (a database query, a file read), so the queue is never
 * the bottleneck. Finished queue nodes are kept for reuse so a steady load
 * allocates nothing. Shutdown refuses new jobs, lets the workers drain what
 * was queued, then joins them.
 */
#define _GNU_SOURCE
#include "pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define SPARE_MAX 1024

typedef struct job {
    void (*fn)(void *ud);
    void *ud;
    struct job *next;
} job;

struct pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *head, *tail, *spare;
    size_t nspare;
    int stopping;
    int nthreads; /* threads actually started */
    pthread_t *threads;
};

static __thread pool *tl_pool; /* the pool whose worker is running */

static void *worker(void *arg)
{
    pool *p = arg;
    tl_pool = p;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stopping) pthread_cond_wait(&p->cv, &p->mu);
        job *j = p->head;
        if (!j) break; /* stopping and drained */
        p->head = j->next;
        if (!p->head) p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        j->fn(j->ud);
        pthread_mutex_lock(&p->mu);
        if (p->nspare < SPARE_MAX) {
            j->next = p->spare;
            p->spare = j;
            p->nspare++;
        } else {
            free(j);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

pool *pool_new(int threads, rk_err *err)
{
    if (threads < 1 || threads > 4096) {
        rk_fail(err, RK_ERR_INVALID, "pool: %d threads (want 1..4096)", threads);
        return NULL;
    }
    pool *p = calloc(1, sizeof *p);
    if (p) p->threads = calloc((size_t)threads, sizeof *p->threads);
    if (!p || !p->threads) {
        free(p);
        rk_fail(err, RK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (int i = 0; i < threads; i++) {
        int rc = pthread_create(&p->threads[i], NULL, worker, p);
        if (rc != 0) {
            rk_fail(err, RK_ERR_IO, "pool thread: %s", strerror(rc));
            pool_free(p);
            return NULL;
        }
        char name[32];
        snprintf(name, sizeof name, "rk-pool-%d", i);
        name[15] = '\0'; /* the kernel's limit for thread names */
        pthread_setname_np(p->threads[i], name);
        p->nthreads++;
    }
    return p;
}

int pool_submit(pool *p, void (*fn)(void *ud), void *ud)
{
    if (!p || !fn) return RK_ERR_INVALID;
    pthread_mutex_lock(&p->mu);
    job *j = p->spare;
    if (j) {
        p->spare = j->next;
        p->nspare--;
    } else {
        pthread_mutex_unlock(&p->mu);
        j = malloc(sizeof *j);
        if (!j) return RK_ERR_NOMEM;
        pthread_mutex_lock(&p->mu);
    }
    if (p->stopping) {
        pthread_mutex_unlock(&p->mu);
        free(j);
        return RK_ERR_UNAVAILABLE;
    }
    *j = (job){fn, ud, NULL};
    if (p->tail) p->tail->next = j;
    else p->head = j;
    p->tail = j;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return RK_OK;
}

void pool_free(pool *p)
{
    if (!p) return;
    if (tl_pool == p) {
        /* joining ourselves would hang forever */
        log_error("pool", "pool_free called from one of its workers; ignored");
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    while (p->spare) {
        job *j = p->spare;
        p->spare = j->next;
        free(j);
    }
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}

int pool_threads(const pool *p) { return p ? p->nthreads : 0; }
