/*
 * plugin_harness — the plugin instance of a unit test, built on the same
 * path the registry takes (loader, cfg schema validation, create with the
 * real host table) so that a plugin test exercises what the server runs,
 * not a mock of it. The rk_instance is filled the way registry.c fills it
 * because the host's cfg_* and instance_name calls read it. The runtime
 * part exists because LLM calls, timers and http run on a host loop and
 * blocking host services on its pool; tests that need neither skip it.
 */
#define _GNU_SOURCE
#include "plugin_harness.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostapi.h"
#include "upstream.h"
#include "listeners.h"
#include "pathlock.h"
#include "pool.h"

void ph_plugin_path(const char *plugin, char *out, size_t cap)
{
    snprintf(out, cap, "%s/plugins/%s.so", ph_build_dir(), plugin);
}

loader_plugin *ph_plugin_open(const char *plugin, rk_kind kind)
{
    char path[512];
    rk_err err = {{0}};
    ph_plugin_path(plugin, path, sizeof path);
    loader_plugin *lp = loader_open(path, kind, &err);
    ck_assert_msg(lp != NULL, "loader: %s", err.msg);
    return lp;
}

void ph_load(ph *h, const char *plugin, rk_kind kind, const char *name, const char *yaml)
{
    memset(h, 0, sizeof *h);
    snprintf(h->name, sizeof h->name, "%s", name ? name : "test");
    h->lp = ph_plugin_open(plugin, kind);
    cfg_diag d = {0};
    h->doc = cfg_load_string(yaml, strlen(yaml), "test.yaml", &d);
    ck_assert_msg(h->doc != NULL, "yaml: %s", d.n ? d.lines[0] : "?");
    h->inst.name = h->name;
    h->inst.plugin = h->lp->desc;
    h->inst.lp = h->lp;
    h->inst.cfg = cfg_values_build(cfg_root(h->doc), h->lp->desc->config, cfg_root(h->doc), &d);
    ck_assert_msg(h->inst.cfg != NULL, "config: %s", d.n ? d.lines[0] : "?");
    cfg_diag_free(&d);
    pthread_mutex_init(&h->inst.serial, NULL);
    h->vt = h->lp->desc->vtable;
}

int ph_create(ph *h, rk_err *err)
{
    int rc = h->lp->desc->create(hostapi_table(), &h->inst, &h->ctx, err);
    if (rc == RK_OK) {
        h->inst.ctx = h->ctx;
        h->inst.created = 1;
    }
    return rc;
}

void ph_open(ph *h, const char *plugin, rk_kind kind, const char *name, const char *yaml)
{
    rk_err err = {{0}};
    ph_load(h, plugin, kind, name, yaml);
    int rc = ph_create(h, &err);
    ck_assert_msg(rc == RK_OK, "create: %s", err.msg);
}

void ph_start(ph *h)
{
    rk_err err = {{0}};
    int64_t t0 = clock_now_ms();
    int rc = h->lp->desc->start ? h->lp->desc->start(h->ctx, &err) : RK_OK;
    h->start_ms = clock_now_ms() - t0;
    ck_assert_msg(rc == RK_OK, "start: %s", err.msg);
    h->inst.started = 1;
}

void ph_stop(ph *h, int64_t within_ms)
{
    if (h->inst.created && h->lp->desc->stop)
        h->lp->desc->stop(h->ctx, clock_now_ms() + within_ms);
    h->inst.started = 0;
}

void ph_close(ph *h)
{
    /* the host never destroys an instance whose create() failed */
    if (h->inst.created)
        h->lp->desc->destroy(h->ctx);
    h->inst.created = 0;
    /* what the host kept for the instance, as registry_free does */
    listeners_release(&h->inst);
    pathlock_release(&h->inst);
    cfg_values_free(h->inst.cfg);
    cfg_free(h->doc);
    pthread_mutex_destroy(&h->inst.serial);
    loader_close(h->lp);
    h->inst.cfg = NULL;
    h->doc = NULL;
    h->lp = NULL;
}

/* ---- several instances created at once ---------------------------------- */

typedef struct starter {
    ph *h;
    pthread_barrier_t *go;
    int rc;
    rk_err err;
} starter;

static void *start_one(void *p)
{
    starter *s = p;
    pthread_barrier_wait(s->go);
    s->rc = ph_create(s->h, &s->err);
    return NULL;
}

/* Points fd 2 at a fresh unlinked file; returns the old fd 2 in *saved. */
static int stderr_to_file(int *saved)
{
    char path[] = "/tmp/rk_stderr_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0)
        unlink(path); /* the descriptor is all we read it through */
    *saved = dup(2);
    ck_assert_msg(fd >= 0 && *saved >= 0, "cannot capture stderr");
    fflush(stderr);
    dup2(fd, 2);
    return fd;
}

static void stderr_back(int fd, int saved, char *log, size_t cap)
{
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = cap ? pread(fd, log, cap - 1, 0) : 0;
    if (cap)
        log[n > 0 ? n : 0] = '\0';
    close(fd);
}

void ph_create_at_once(ph *hs, size_t n, int *rcs, rk_err *errs, char *log, size_t cap)
{
    ck_assert_uint_gt(n, 0);
    starter *s = calloc(n, sizeof *s);
    pthread_t *th = calloc(n, sizeof *th);
    ck_assert(s != NULL && th != NULL);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, (unsigned)n);
    int saved, fd = stderr_to_file(&saved);
    for (size_t i = 0; i < n; i++) {
        s[i] = (starter){&hs[i], &go, 0, {{0}}};
        pthread_create(&th[i], NULL, start_one, &s[i]);
    }
    for (size_t i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    stderr_back(fd, saved, log, cap);
    for (size_t i = 0; i < n; i++) {
        rcs[i] = s[i].rc;
        errs[i] = s[i].err;
    }
    pthread_barrier_destroy(&go);
    free(th);
    free(s);
}

/* ---- the runtime ------------------------------------------------------- */

static loop *g_loop;
static pool *g_pool;

void ph_runtime_start(int threads)
{
    rk_err err = {{0}};
    g_loop = upstream_loop_new(&err);
    ck_assert_msg(g_loop != NULL, "loop_new: %s", err.msg);
    ck_assert_msg(loop_start(g_loop, &err) == RK_OK, "loop_start: %s", err.msg);
    g_pool = pool_new(threads, &err);
    ck_assert_msg(g_pool != NULL, "pool_new: %s", err.msg);
    hostapi_set_runtime(g_loop, g_pool);
}

void ph_runtime_stop(void)
{
    if (g_loop) {
        loop_stop(g_loop);
        loop_free(g_loop);
    }
    if (g_pool)
        pool_free(g_pool);
    hostapi_set_runtime(NULL, NULL);
    g_loop = NULL;
    g_pool = NULL;
}

loop *ph_loop(void) { return g_loop; }

/* Shared by the waiter and the loop: whoever lets go last frees it, so a
 * waiter that gave up does not leave the loop a dangling latch. */
typedef struct on_loop_job {
    ph_latch done;
    void (*fn)(void *ud);
    void *ud;
    int refs;
} on_loop_job;

static void job_unref(on_loop_job *j)
{
    pthread_mutex_lock(&j->done.c.mu);
    int last = --j->refs == 0;
    pthread_mutex_unlock(&j->done.c.mu);
    if (last) {
        ph_latch_destroy(&j->done);
        free(j);
    }
}

static void job_run(void *ud)
{
    on_loop_job *j = ud;
    j->fn(j->ud);
    ph_latch_fire(&j->done);
    job_unref(j);
}

int ph_on_loop(void (*fn)(void *ud), void *ud, int64_t ms)
{
    ck_assert_msg(g_loop != NULL, "no runtime: call ph_runtime_start first");
    on_loop_job *j = calloc(1, sizeof *j);
    ck_assert_ptr_nonnull(j);
    ph_latch_init(&j->done);
    j->fn = fn;
    j->ud = ud;
    j->refs = 2;
    int rc = loop_post(g_loop, job_run, j);
    if (rc != RK_OK) { /* the loop will not run it */
        ph_latch_destroy(&j->done);
        free(j);
    }
    ck_assert_int_eq(rc, RK_OK);
    int ran = ph_latch_wait(&j->done, ms);
    job_unref(j);
    return ran;
}
