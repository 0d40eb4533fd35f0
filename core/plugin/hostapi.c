/*
 * hostapi — the one rk_host table every instance receives, and the current
 * generation (registry + pipeline) that the transport-facing services use.
 * Which loop a call belongs to is loopset's choice (loopset.h).
 * Each slot is a thin wrapper over a core module; keeping them together
 * makes the ABI surface reviewable in one screen.
 *
 * Generations: chat_start, embed_start and list_models read the current
 * generation under a read lock and call into its pipeline before releasing
 * it; pipeline_chat_start counts the chat in flight (and pins the registry)
 * synchronously, so once hostgen_swap() has returned no new chat can reach
 * the old pipeline and every chat already on it is visible to
 * pipeline_inflight() — the drain in server.c cannot miss one. Calls made
 * on a loop thread use that loop (a plugin's timers and HTTP calls belong to
 * the loop its callbacks run on); other threads fall back to the first
 * runtime loop. The runtime runs several loops (one per core); a chat goes
 * to the caller's loop when the caller is a loop thread, so a transport
 * serving connections on the loops never hands a request to another
 * thread, and round-robin otherwise.
 */
#include "hostapi.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hostauth.h"
#include "hostgen.h"
#include "hostsvc.h"
#include "llmchain.h"
#include "log.h"
#include "loop_internal.h"
#include "upstream.h"
#include "loopset.h"
#include "metrics.h"
#include "pathlock.h"
#include "procstat.h"
#include "ratelimit.h"


/* ---- logging, config, clock, metrics ------------------------------------- */

static const char *name_of(const rk_instance *self) { return self ? self->name : "core"; }

static void h_log(const rk_instance *self, rk_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emitv(level, name_of(self), fmt, ap);
    va_end(ap);
}

static const char *h_instance_name(const rk_instance *self) { return name_of(self); }

static const char *h_cfg_string(const rk_instance *self, const char *key)
{
    return self ? cfg_values_string(self->cfg, key) : NULL;
}

static int64_t h_cfg_int(const rk_instance *self, const char *key)
{
    return self ? cfg_values_int(self->cfg, key) : 0;
}

static double h_cfg_double(const rk_instance *self, const char *key)
{
    return self ? cfg_values_double(self->cfg, key) : 0.0;
}

static int h_cfg_bool(const rk_instance *self, const char *key)
{
    return self ? cfg_values_bool(self->cfg, key) : 0;
}

static size_t h_cfg_count(const rk_instance *self, const char *key)
{
    return self ? cfg_values_count(self->cfg, key) : 0;
}

static const char *h_cfg_item(const rk_instance *self, const char *key, size_t i)
{
    return self ? cfg_values_item(self->cfg, key, i) : NULL;
}

static const char *h_cfg_item_key(const rk_instance *self, const char *key, size_t i)
{
    return self ? cfg_values_item_key(self->cfg, key, i) : NULL;
}

static const char *h_cfg_where(const rk_instance *self, const char *key, char *buf,
                               size_t cap)
{
    if (self) return cfg_values_where(self->cfg, key, buf, cap);
    if (cap) buf[0] = '\0';
    return buf;
}

static rk_metric *h_metric(rk_metric_type type, const char *name, const char *help,
                           const char *labels)
{
    return metrics_get(type, name, help, labels);
}

/* ---- scheduling and upstream HTTP ----------------------------------------- */

static rk_timer *h_timer_start(int64_t delay_ms, void (*fn)(void *ud), void *ud)
{
    loop *l = loopset_here();
    return l ? loop_timer_start(l, delay_ms, fn, ud) : NULL;
}

/* The handle names its loop: cancelling from another loop is refused
 * there rather than hitting that loop's timer of the same slot. */
static void h_timer_cancel(rk_timer *t)
{
    loop *l = loopset_here();
    if (!l || !t) return;
    if (loop_index(l) != loop_timer_index(t)) {
        loop *owner = loopset_get(loop_timer_index(t));
        if (owner) l = owner;
    }
    loop_timer_cancel(l, t);
}

/* The caller's loop keeps a plugin's work on one thread; from elsewhere,
 * the first loop, as when there was only one. */
static int h_run_on_loop(void (*fn)(void *ud), void *ud)
{
    loop *l = loopset_here();
    return l ? loop_post(l, fn, ud) : RK_ERR_UNAVAILABLE;
}

static int h_loop_count(void)
{
    int n = loopset_count();
    return n > 0 ? n : 1;
}

static int h_run_on_loop_n(int idx, void (*fn)(void *ud), void *ud)
{
    int n = loopset_count();
    if (n == 0) return RK_ERR_UNAVAILABLE;
    if (idx < 0 || idx >= n) return RK_ERR_INVALID;
    loop *l = loopset_get(idx);
    return l ? loop_post(l, fn, ud) : RK_ERR_UNAVAILABLE;
}

static rk_watch *h_fd_watch(int fd, uint32_t events, void (*fn)(void *ud, uint32_t revents),
                            void *ud)
{
    rk_err err = {{0}};
    loop *l = loop_current();
    rk_watch *w = l ? loop_watch(l, fd, events, fn, ud, &err) : NULL;
    if (!l) log_error("core", "fd_watch called outside a loop thread; refused");
    else if (!w) log_error("core", "%s", err.msg);
    return w;
}

static void h_fd_unwatch(rk_watch *w)
{
    if (w) loop_unwatch(loop_watch_loop(w), w);
}

static int h_run_blocking(void (*fn)(void *ud), void *ud)
{
    pool *p = hostgen_pool();
    return p ? pool_submit(p, fn, ud) : RK_ERR_UNAVAILABLE;
}

static rk_http_call *h_http_start(const rk_http_request *req, const rk_http_handler *h,
                                  void *ud, rk_err *err)
{
    loop *l = loopset_here();
    if (!l) {
        rk_fail(err, RK_ERR_UNAVAILABLE, "no event loop is running");
        return NULL;
    }
    return upstream_http_start(l, req, h, ud, err);
}

static void h_http_cancel(rk_http_call *call)
{
    loop *l = loopset_here();
    if (l && call) upstream_http_cancel(l, call);
}

/* ---- services for transports ----------------------------------------------- */

static int h_chat_start(const rk_instance *self, const rk_chat_input *in,
                        const rk_chat_sink *sink, void *ud, rk_chat **chat, rk_err *err)
{
    (void)self;
    const generation *g = hostgen_read();
    int rc = g->pl
                 ? pipeline_chat_start(g->pl, in, sink, ud, chat, err)
                 : rk_fail(err, RK_ERR_UNAVAILABLE, "the server is not ready");
    hostgen_done();
    return rc;
}

static void h_chat_cancel(rk_chat *chat) { pipeline_chat_cancel(chat); }

static void h_http_pause(rk_http_call *call, int pause)
{
    loop *l = loopset_here();
    if (l && call) upstream_http_pause(l, call, pause);
}

static void h_list_models(void (*fn)(void *ud, const char *id, const char *owner), void *ud)
{
    const generation *g = hostgen_read();
    if (g->pl) pipeline_list_models(g->pl, fn, ud);
    hostgen_done();
}

static atomic_int g_draining;

void hostapi_set_draining(int on) { atomic_store(&g_draining, on); }

static void h_render_metrics(void (*write)(void *ud, const char *data, size_t len), void *ud)
{
    procstat_update();
    const generation *g = hostgen_read();
    if (g->pl) llmchain_answerable(g->pl); /* the breaker gauges */
    hostgen_done();
    metrics_render(write, ud);
}

/* Not ready: while shutting down (balancers stop sending before the
 * listener closes), before a configuration serves, while an instance is
 * down or cannot store writes, and while no LLM can answer. */
static int h_ready(char *why, size_t cap)
{
    char reason[160] = "";
    const generation *g = hostgen_read();
    registry *r = g->reg;
    if (atomic_load(&g_draining)) {
        snprintf(reason, sizeof reason, "shutting down");
    } else if (!r || !g->pl) {
        snprintf(reason, sizeof reason, "no configuration is loaded yet");
    } else if (!llmchain_answerable(g->pl)) {
        snprintf(reason, sizeof reason, "no LLM can answer: every provider's circuit is open");
    } else {
        for (size_t i = 0; i < r->n && !reason[0]; i++)
            if (!r->inst[i]->started)
                snprintf(reason, sizeof reason, "instance %s is not started",
                         r->inst[i]->name);
            else if (atomic_load(&r->inst[i]->write_failing))
                snprintf(reason, sizeof reason, "instance %s cannot store writes (the "
                         "last one failed, see the log)", r->inst[i]->name);
    }
    hostgen_done();
    if (why && cap) snprintf(why, cap, "%s", reason);
    return reason[0] == '\0';
}

static int h_embed_start(const rk_instance *self, const char *model,
                         const char *const *inputs, size_t n, const rk_embed_sink *sink,
                         void *ud, rk_chat **call, rk_err *err)
{
    (void)self;
    const generation *g = hostgen_read();
    int rc = g->pl
                 ? pipeline_embed_start(g->pl, model, inputs, n, sink, ud, call, err)
                 : rk_fail(err, RK_ERR_UNAVAILABLE, "the server is not ready");
    hostgen_done();
    return rc;
}

/* ---- documents ---------------------------------------------------------------
 * The document service runs on the pool; the read lock only covers handing
 * the job over, and docs_free (when a generation retires) waits for it. */

static int no_docs(rk_err *err)
{
    return rk_fail(err, RK_ERR_UNSUPPORTED,
                   "documents are not enabled: set pipeline.storage in the config");
}

static int h_doc_put(const rk_instance *self, const rk_doc_upload *up,
                     const rk_doc_sink *sink, void *ud, rk_err *err)
{
    (void)self;
    const generation *g = hostgen_read();
    int rc = g->docs ? docs_put(g->docs, up, sink, ud, err) : no_docs(err);
    hostgen_done();
    return rc;
}

static int h_doc_list(const rk_instance *self, const char *tenant, const char *after,
                      size_t limit, const rk_doc_sink *sink, void *ud, rk_err *err)
{
    (void)self;
    const generation *g = hostgen_read();
    int rc = g->docs ? docs_list(g->docs, tenant, after, limit, sink, ud, err)
                            : no_docs(err);
    hostgen_done();
    return rc;
}

static int h_doc_get(const rk_instance *self, const char *tenant, const char *id,
                     uint64_t offset, uint64_t length, const rk_doc_sink *sink, void *ud,
                     rk_err *err)
{
    (void)self;
    const generation *g = hostgen_read();
    int rc = g->docs
                 ? docs_get(g->docs, tenant, id, offset, length, sink, ud, err)
                 : no_docs(err);
    hostgen_done();
    return rc;
}

static int h_doc_delete(const rk_instance *self, const char *tenant, const char *id,
                        const rk_doc_sink *sink, void *ud, rk_err *err)
{
    (void)self;
    const generation *g = hostgen_read();
    int rc = g->docs ? docs_delete(g->docs, tenant, id, sink, ud, err)
                            : no_docs(err);
    hostgen_done();
    return rc;
}



/* ---- what one process owns: data locks ------------------------------------ */

static int h_lock_path(const rk_instance *self, const char *path, rk_err *err)
{
    if (!self) return rk_fail(err, RK_ERR_INVALID, "lock_path: no instance");
    return pathlock_acquire(registry_group(self), path, err);
}

/* ---- the table ---------------------------------------------------------------- */

static const rk_host HOST;

static const void *h_service(const rk_instance *self, const char *name, size_t min_size)
{
    return hostsvc_lookup(&HOST, self, name, min_size);
}

static const rk_host HOST = {
    .struct_size = sizeof(rk_host),
    .abi_major = RK_ABI_MAJOR,
    .abi_minor = RK_ABI_MINOR,
    .version = RK_VERSION,
    .log = h_log,
    .instance_name = h_instance_name,
    .cfg_string = h_cfg_string,
    .cfg_int = h_cfg_int,
    .cfg_double = h_cfg_double,
    .cfg_bool = h_cfg_bool,
    .cfg_count = h_cfg_count,
    .cfg_item = h_cfg_item,
    .cfg_item_key = h_cfg_item_key,
    .cfg_where = h_cfg_where,
    .now_ms = clock_now_ms,
    .wall_ms = clock_wall_ms,
    .metric = h_metric,
    .metric_add = metrics_add,
    .metric_set = metrics_set,
    .metric_observe = metrics_observe,
    .timer_start = h_timer_start,
    .timer_cancel = h_timer_cancel,
    .run_on_loop = h_run_on_loop,
    .run_blocking = h_run_blocking,
    .http_start = h_http_start,
    .http_cancel = h_http_cancel,
    .chat_start = h_chat_start,
    .chat_cancel = h_chat_cancel,
    .list_models = h_list_models,
    .render_metrics = h_render_metrics,
    .ready = h_ready,
    .embed_start = h_embed_start,
    .doc_put = h_doc_put,
    .doc_list = h_doc_list,
    .doc_get = h_doc_get,
    .doc_delete = h_doc_delete,
    .auth_required = hostauth_required,
    .authenticate = hostauth_authenticate,
    .rate_limit = hostauth_rate_limit,
    .loop_count = h_loop_count,
    .run_on_loop_n = h_run_on_loop_n,
    .fd_watch = h_fd_watch,
    .fd_unwatch = h_fd_unwatch,
    .service = h_service,
    .lock_path = h_lock_path,
    .http_pause = h_http_pause,
};

const rk_host *hostapi_table(void) { return &HOST; }

void hostapi_set_runtime(loop *l, pool *p)
{
    loopset_set(l ? &l : NULL, l ? 1 : 0);
    hostgen_set_pool(p);
}
