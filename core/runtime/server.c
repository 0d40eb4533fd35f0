/*
 * server — owns the runtime (one loop thread per core, the worker pool) and the
 * current generation. Reload builds a complete new generation before
 * touching the old one, so a bad file costs nothing but a log line; the
 * swap is one pointer exchange in hostapi, after which new chats use the
 * new pipeline while old chats finish on the generation they hold.
 * Transports take their listening sockets from the host (listeners), so
 * the new generation accepts from the very sockets the old one did: no
 * accept queue is closed under a waiting client.
 */
#define _GNU_SOURCE
#include "server.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "conf.h"
#include "docs.h"
#include "hostapi.h"
#include "housekeep.h"
#include "ingest.h"
#include "keystore.h"
#include "listeners.h"
#include "log.h"
#include "loop.h"
#include "upstream.h"
#include "loop_internal.h"
#include "loopset.h"
#include "pipeline.h"
#include "pool.h"
#include "registry.h"
#include "secrets.h"

struct server {
    char *path;
    loop *loops[64]; /* server.loops of them; loops[0] is the pipelines' default */
    int nloops;
    pool *workers;
    generation gen;
    housekeep *hk; /* of the current generation */
    int64_t grace_ms;
    int64_t delay_ms; /* server.shutdown_delay */
};

/* Background upkeep follows the current generation's history instance. */
static void replace_housekeeping(server *s)
{
    housekeep_free(s->hk);
    s->hk = NULL;
    const rk_conf *c = s->gen.reg->conf;
    const char *hist = cfg_values_string(c->pipeline, "history");
    if (!hist) return;
    s->hk = housekeep_new(registry_get_kind(s->gen.reg, hist, RK_KIND_HISTORY),
                          cfg_values_int(c->pipeline, "history_ttl"),
                          cfg_values_int(c->pipeline, "history_expire_interval"),
                          cfg_values_int(c->pipeline, "history_expire_batch"));
}

static void print_diag_log(const cfg_diag *d)
{
    for (size_t i = 0; i < d->n; i++) log_error("config", "%s", d->lines[i]);
}

static void apply_logging(const rk_conf *c)
{
    int lv = log_level_parse(cfg_values_string(c->server, "log_level"));
    int fm = log_format_parse(cfg_values_string(c->server, "log_format"));
    log_configure(lv < 0 ? RK_LOG_INFO : (rk_log_level)lv,
                  fm < 0 ? LOG_LOGFMT : (log_format)fm);
    secrets_from_config(cfg_root(c->doc)); /* masked in every log line */
}

/* Which client plain-http upstream calls use from now on (at start and on
 * every reload; calls in flight keep theirs). */
static void apply_http_client(server *s, const rk_conf *c)
{
    const char *v = cfg_values_string(c->server, "http_client");
    int builtin = !v || strcmp(v, "libcurl") != 0;
    for (int i = 0; i < s->nloops; i++) upstream_set_builtin(s->loops[i], builtin);
    log_info("core", "upstream http client: %s",
             builtin ? "builtin for plain http at an address, libcurl for the rest"
                     : "libcurl for every call");
}

static void unpin_registry(void *reg) { registry_unref(reg); }

/* The document service and the rate limiter of a generation. */
static int attach_services(server *s, generation *g, rk_err *err)
{
    const rk_conf *c = g->reg->conf;
    const char *st = cfg_values_string(c->pipeline, "storage");
    const char *rt = cfg_values_string(c->pipeline, "retriever");
    const char *lim = auth_limiter(c->auth);
    if (lim && !(g->limiter = registry_get_kind(g->reg, lim, RK_KIND_CACHE)))
        return rk_fail(err, RK_ERR_CONFIG, "auth.limiter '%s' is not a cache instance", lim);
    const char *hist = cfg_values_string(c->pipeline, "history");
    /* stored API keys live in the history store; NULL without one */
    registry_ref(g->reg); /* the history instance outlives every key reference */
    keystore_pin pin = {unpin_registry, g->reg};
    g->keys = keystore_new(hist ? registry_get_kind(g->reg, hist, RK_KIND_HISTORY) : NULL,
                           auth_refresh_ms(c->auth), &pin);
    if (!st) return RK_OK;
    rk_instance *si = registry_get_kind(g->reg, st, RK_KIND_STORAGE);
    rk_instance *ri = rt ? registry_get_kind(g->reg, rt, RK_KIND_RETRIEVER) : NULL;
    if (!si) return rk_fail(err, RK_ERR_CONFIG, "pipeline.storage '%s' is not a storage instance", st);
    g->docs = docs_new(si, ri, s->workers, cfg_values_string(c->pipeline, "seed_dir"), err);
    if (!g->docs) return RK_ERR_CONFIG;
    ingest_set *ing = ingest_set_new(g->reg, err);
    if (!ing) return RK_ERR_CONFIG;
    docs_set_ingest(g->docs, ing);
    const char *ca = cfg_values_string(c->pipeline, "cache");
    docs_set_cache(g->docs, ca ? registry_get_kind(g->reg, ca, RK_KIND_CACHE) : NULL);
    return RK_OK;
}

/* Stop an old generation: transports drain first, then the document jobs
 * and the pipeline's chats, then everything else. */
static void retire_generation(generation g, int64_t deadline)
{
    if (!g.reg) return;
    registry_stop_transports(g.reg, deadline);
    /* a transport's last loop callback may still be returning into its code */
    loopset_sync();
    /* a listener no generation serves must close now, not when the last
     * chat lets go of the registry: the kernel would keep queueing
     * connections on it that nobody accepts */
    listeners_release(g.reg);
    keystore_unref(g.keys); /* its thread stops; a call in flight keeps the rest */
    docs_free(g.docs);
    while (g.pl && pipeline_inflight(g.pl) > 0 && clock_now_ms() < deadline) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (g.pl && pipeline_inflight(g.pl) > 0)
        log_warn("core", "%d chats still in flight after the grace period; they end "
                 "when their deadlines pass", pipeline_inflight(g.pl));
    registry_stop(g.reg, deadline);
    loopset_sync();
    if (g.pl) pipeline_free(g.pl); /* refcounted: the last chat frees it */
    registry_unref(g.reg);
}

/* One loop per CPU unless server.loops says otherwise: requests stay on the
 * loop that accepted them, so more loops than cores only add switching. */
static int start_loops(server *s, int64_t want, rk_err *err)
{
    if (want <= 0) want = sysconf(_SC_NPROCESSORS_ONLN);
    if (want < 1) want = 1;
    if (want > (int64_t)(sizeof s->loops / sizeof s->loops[0]))
        want = (int64_t)(sizeof s->loops / sizeof s->loops[0]);
    for (int i = 0; i < (int)want; i++) {
        loop *l = upstream_loop_new(err);
        if (!l) return RK_ERR_IO;
        loop_set_index(l, i);
        s->loops[s->nloops++] = l;
        int rc = loop_start(l, err);
        if (rc != RK_OK) return rc;
    }
    return RK_OK;
}

/* A stage's error: at the position its message names (which says enough
 * without the stage's name), else at 1:1 after the stage's name. */
static void diag_stage(cfg_diag *d, const char *file, const char *stage, const char *msg)
{
    if (cfg_diag_located(d, file, "", msg) != 0)
        cfg_diag_add(d, file, 1, 1, "%s%s", stage, msg);
}

/* Build and start a generation from the file; all NULL on failure. */
static generation build_generation(server *s, rk_conf *c, cfg_diag *d)
{
    generation g = {0};
    rk_err err = {{0}};
    g.reg = registry_build(c, hostapi_table(), d); /* owns c from here */
    if (!g.reg) return g;
    g.pl = pipeline_new(g.reg, s->loops[0], s->workers, &err);
    if (!g.pl || attach_services(s, &g, &err) != RK_OK) {
        diag_stage(d, cfg_file(g.reg->conf->doc), "pipeline: ", err.msg);
        goto fail;
    }
    hostgen_set_starting(g.reg);
    int started = registry_start(g.reg, &err);
    if (started != RK_OK) {
        hostgen_set_starting(NULL);
        diag_stage(d, cfg_file(g.reg->conf->doc), "start: ", err.msg);
        goto fail;
    }
    if (g.docs) docs_reindex_async(g.docs);
    return g;
fail:
    retire_generation(g, clock_now_ms() + s->grace_ms);
    return (generation){0};
}

server *server_new(const char *config_path, cfg_diag *d)
{
    rk_err err = {{0}};
    server *s = calloc(1, sizeof *s);
    rk_conf *c = conf_load(config_path, d);
    if (!s || !c) goto fail;
    s->path = strdup(config_path);
    apply_logging(c);
    s->grace_ms = cfg_values_int(c->server, "shutdown_grace");
    s->delay_ms = cfg_values_int(c->server, "shutdown_delay");
    if (start_loops(s, cfg_values_int(c->server, "loops"), &err) != RK_OK) goto fail_err;
    apply_http_client(s, c);
    s->workers = pool_new((int)cfg_values_int(c->server, "workers"), &err);
    if (!s->workers) goto fail_err;
    hostapi_set_runtime(s->loops[0], s->workers);
    loopset_set(s->loops, s->nloops);
    s->gen = build_generation(s, c, d);
    c = NULL;
    if (!s->gen.reg) goto fail;
    hostgen_swap(s->gen);
    hostgen_set_starting(NULL);
    replace_housekeeping(s);
    log_info("core", "ragkernel %s started (ABI %d.%d) with %s", RK_VERSION, RK_ABI_MAJOR,
             RK_ABI_MINOR, config_path);
    return s;
fail_err:
    cfg_diag_add(d, config_path, 1, 1, "runtime: %s", err.msg);
fail:
    if (c) conf_free(c);
    server_free(s);
    return NULL;
}

int server_reload(server *s, cfg_diag *d)
{
    rk_conf *c = conf_load(s->path, d);
    if (!c) return -1;
    int64_t grace = cfg_values_int(c->server, "shutdown_grace");
    int64_t delay = cfg_values_int(c->server, "shutdown_delay");
    generation g = build_generation(s, c, d);
    if (!g.reg) return -1;
    apply_logging(g.reg->conf);
    apply_http_client(s, g.reg->conf);
    generation old = hostgen_swap(g);
    hostgen_set_starting(NULL);
    s->gen = g;
    s->grace_ms = grace;
    s->delay_ms = delay;
    replace_housekeeping(s);
    retire_generation(old, clock_now_ms() + grace);
    log_info("core", "configuration reloaded from %s (generation %llu)", s->path,
             (unsigned long long)g.reg->generation);
    return 0;
}

void server_block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* SIGTERM: /ready turns 503 at once while the listener keeps accepting
 * for shutdown_delay, so a balancer that polls /ready stops sending before
 * connections are refused. A second SIGTERM or a SIGINT ends the wait. */
static void delay_shutdown(const server *s, const sigset_t *set)
{
    hostapi_set_draining(1);
    if (s->delay_ms <= 0) return;
    log_info("core", "received SIGTERM: /ready answers 503; still serving for %lld ms "
             "(server.shutdown_delay), then draining", (long long)s->delay_ms);
    int64_t end = clock_now_ms() + s->delay_ms;
    for (int64_t left; (left = end - clock_now_ms()) > 0;) {
        struct timespec ts = {left / 1000, (left % 1000) * 1000000};
        int sig = sigtimedwait(set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT) return;
    }
}

void server_wait_signals(server *s)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (sig != SIGHUP) {
            if (sig == SIGTERM) delay_shutdown(s, &set);
            else hostapi_set_draining(1);
            log_info("core", "received %s, draining (grace %lld ms)", strsignal(sig),
                     (long long)s->grace_ms);
            return;
        }
        cfg_diag d = {0};
        log_info("core", "received SIGHUP, reloading %s", s->path);
        if (server_reload(s, &d) != 0) {
            print_diag_log(&d);
            log_error("core", "reload failed; the previous configuration keeps running");
        }
        cfg_diag_free(&d);
    }
}

void server_free(server *s)
{
    if (!s) return;
    housekeep_free(s->hk);
    generation none = {0};
    if (s->gen.reg) {
        generation old = hostgen_swap(none);
        retire_generation(old, clock_now_ms() + s->grace_ms);
    }
    /* The loop stops first (its queued posts may still submit to the pool);
     * worker jobs finishing afterwards get RK_ERR_UNAVAILABLE from
     * loop_post, which every caller handles. */
    for (int i = 0; i < s->nloops; i++) loop_stop(s->loops[i]);
    if (s->workers) pool_free(s->workers);
    for (int i = 0; i < s->nloops; i++) loop_free(s->loops[i]);
    hostapi_set_runtime(NULL, NULL);
    free(s->path);
    free(s);
}
