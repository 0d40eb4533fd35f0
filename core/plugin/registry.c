/*
 * registry — owns one configuration generation: the parsed conf, the
 * distinct plugin files it needs (each dlopened once however many instances
 * use it) and every named instance with its validated config and context.
 * Building is two-phase: all plugins are loaded and all instance configs
 * validated first, so an operator sees every mistake of a file at once and
 * no plugin's create() runs for a config that will be rejected anyway; only
 * then are instances created, in config order, and torn down in reverse if
 * one fails. The reference count lets a reload swap generations while
 * requests that started on the old one finish.
 */
#define _GNU_SOURCE
#include "registry.h"

#include <stdlib.h>
#include <string.h>

#include "listeners.h"
#include "log.h"
#include "loop.h"
#include "pathlock.h"
#include "paths.h"

static atomic_uint_fast64_t g_generation;

/* Search path: $RK_PLUGIN_DIR (colon-separated) first, then
 * server.plugin_path, or without one the plugins beside the binary (a
 * build tree) and the installed plugin directory (paths.h). The strings point into env/conf; only the arrays are
 * owned. */
typedef struct search_path {
    const char **dirs;
    size_t n;
    char *env; /* owned copy of RK_PLUGIN_DIR, cut at ':' */
    char beside[4096]; /* the build tree's plugins, beside the binary */
} search_path;

static int path_build(const rk_conf *conf, search_path *sp)
{
    memset(sp, 0, sizeof *sp);
    const char *e = getenv("RK_PLUGIN_DIR");
    size_t n_cfg = conf->server ? cfg_values_count(conf->server, "plugin_path") : 0;
    size_t n_env = 0;
    if (e && *e) {
        if (!(sp->env = strdup(e))) return -1;
        n_env = 1;
        for (const char *c = e; *c; c++) n_env += *c == ':';
    }
    sp->dirs = calloc(n_env + n_cfg + 2, sizeof *sp->dirs);
    if (!sp->dirs) return -1;
    for (char *save = NULL, *tok = sp->env ? strtok_r(sp->env, ":", &save) : NULL;
         tok; tok = strtok_r(NULL, ":", &save))
        sp->dirs[sp->n++] = tok;
    for (size_t i = 0; i < n_cfg; i++) {
        const char *d = cfg_values_item(conf->server, "plugin_path", i);
        if (d) sp->dirs[sp->n++] = d;
    }
    if (n_cfg == 0) { /* no plugin_path: the binary's own */
        if (paths_beside_binary(sp->beside, sizeof sp->beside))
            sp->dirs[sp->n++] = sp->beside;
        sp->dirs[sp->n++] = paths_plugin_dir();
    }
    return 0;
}

static void path_free(search_path *sp)
{
    free(sp->dirs);
    free(sp->env);
}

/* msg may come from a plugin that already named the key's position
 * (cfg_where): then that position is the line's only one. */
static void diag_instance(cfg_diag *d, const rk_conf *conf,
                          const conf_instance *ci, const char *what, const char *msg)
{
    char prefix[RK_ERR_MSG_MAX];
    snprintf(prefix, sizeof prefix, "instance '%s': %s", ci->name, what);
    if (conf->doc && cfg_diag_located(d, cfg_file(conf->doc), prefix, msg) == 0) return;
    if (ci->where)
        cfg_diag_at(d, ci->where, "%s%s", prefix, msg);
    else
        cfg_diag_add(d, conf->doc ? cfg_file(conf->doc) : "?", 0, 0, "%s%s", prefix, msg);
}

/* The plugins loaded so far, shared by name (= file stem). */
typedef struct plugin_set {
    loader_plugin **v;
    size_t n;
} plugin_set;

static loader_plugin *plugin_get(plugin_set *ps, const search_path *sp,
                                 const char *name, rk_err *err)
{
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->v[i]->desc->name, name) == 0) return ps->v[i];
    loader_plugin *p = loader_find(sp->dirs, sp->n, name, 0, err);
    if (!p) return NULL;
    loader_plugin **nv = realloc(ps->v, (ps->n + 1) * sizeof *nv);
    if (!nv) {
        loader_close(p);
        rk_fail(err, RK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    ps->v = nv;
    ps->v[ps->n++] = p;
    return p;
}

/* Load and validate one instance; on success *lp and *vals are set. */
static int prepare_one(const rk_conf *conf, const conf_instance *ci,
                       plugin_set *ps, const search_path *sp, cfg_diag *d,
                       loader_plugin **lp, cfg_values **vals)
{
    rk_err err = {{0}};
    *lp = plugin_get(ps, sp, ci->plugin ? ci->plugin : "", &err);
    if (!*lp) {
        diag_instance(d, conf, ci, "", err.msg);
        return -1;
    }
    *vals = cfg_values_build(ci->config, (*lp)->desc->config, ci->where, d);
    return *vals ? 0 : -1;
}

static void instance_free(rk_instance *in)
{
    if (!in) return;
    if (in->created && in->plugin->destroy) in->plugin->destroy(in->ctx);
    cfg_values_free(in->cfg);
    pthread_mutex_destroy(&in->serial);
    free(in->name);
    free(in);
}

static rk_instance *instance_new(registry *r, const conf_instance *ci,
                                 loader_plugin *lp, cfg_values *vals)
{
    rk_instance *in = calloc(1, sizeof *in);
    if (!in) return NULL;
    if (!(in->name = strdup(ci->name))) {
        free(in);
        return NULL;
    }
    pthread_mutex_init(&in->serial, NULL);
    in->plugin = lp->desc;
    in->lp = lp;
    in->cfg = vals;
    in->reg = r;
    return in;
}

/* Phase 1: every plugin loaded, every config validated, no create(). */
static int registry_prepare(registry *r, cfg_diag *d)
{
    const rk_conf *conf = r->conf;
    search_path sp;
    plugin_set ps = {0};
    int rc = -1;
    if (path_build(conf, &sp) != 0) goto oom;
    r->inst = calloc(conf->n_instances ? conf->n_instances : 1, sizeof *r->inst);
    if (!r->inst) goto oom;
    r->n = 0; /* r->inst[0..n) are the instances made so far */
    rc = 0;
    for (size_t i = 0; i < conf->n_instances; i++) {
        const conf_instance *ci = &conf->instances[i];
        loader_plugin *lp;
        cfg_values *v = NULL;
        if (!ci->plugin) { /* conf reported it (only --check-config gets here) */
            rc = -1;
            continue;
        }
        if (prepare_one(conf, ci, &ps, &sp, d, &lp, &v) != 0) {
            rc = -1;
            continue;
        }
        rk_instance *in = instance_new(r, ci, lp, v);
        if (!in) {
            cfg_values_free(v);
            goto oom;
        }
        r->inst[r->n++] = in;
    }
    goto done;
oom:
    cfg_diag_add(d, "?", 0, 0, "out of memory");
    rc = -1;
done:
    r->plugins = ps.v;
    r->n_plugins = ps.n;
    path_free(&sp);
    return rc;
}

/* Phase 2: create() in config order; the first failure stops it. */
static int registry_create_all(registry *r, const rk_host *host, cfg_diag *d)
{
    for (size_t i = 0; i < r->n; i++) {
        rk_instance *in = r->inst[i];
        rk_err err = {{0}};
        int rc = in->plugin->create(host, in, &in->ctx, &err);
        if (rc != RK_OK) {
            diag_instance(d, r->conf, &r->conf->instances[i], "create failed: ",
                          err.msg[0] ? err.msg : rk_strerror(rc));
            return -1;
        }
        in->created = 1;
    }
    return 0;
}

/* Instances are destroyed newest first, so one created from another's
 * services never outlives it; plugins close only after every instance. */
static void registry_free(registry *r)
{
    for (size_t i = r->n; i > 0; i--) instance_free(r->inst[i - 1]);
    /* what the instances held for the process (the "listen" service,
     * lock_path) goes only now that they are gone */
    listeners_release(r);
    pathlock_release(r);
    free(r->inst);
    for (size_t i = r->n_plugins; i > 0; i--) loader_close(r->plugins[i - 1]);
    free(r->plugins);
    conf_free(r->conf);
    free(r);
}

/* What each pipeline (and auth) reference must name. pipeline_new and
 * attach_services refuse the same at start; here the loaded plugins say
 * their kind without any instance being created. */
static const struct {
    const char *section, *key;
    rk_kind kind;
} REF_KINDS[] = {
    {"pipeline", "llm", RK_KIND_LLM},          {"pipeline", "retriever", RK_KIND_RETRIEVER},
    {"pipeline", "cache", RK_KIND_CACHE},      {"pipeline", "history", RK_KIND_HISTORY},
    {"pipeline", "storage", RK_KIND_STORAGE},  {"pipeline", "history_summarizer", RK_KIND_LLM},
    {"pipeline", "extractors", RK_KIND_EXTRACTOR}, {"auth", "limiter", RK_KIND_CACHE},
};

static int check_ref_kind(const registry *r, const char *section, const char *key,
                          const cfg_node *v, rk_kind want, cfg_diag *d)
{
    if (!v || v->kind != CFG_SCALAR || !v->str[0]) return 0;
    const rk_instance *in = registry_get(r, v->str);
    if (!in || in->plugin->kind == want) return 0; /* a missing one is reported already */
    cfg_diag_at(d, v, "%s.%s: instance '%s' is a %s, not a %s", section, key, v->str,
                loader_kind_name(in->plugin->kind), loader_kind_name(want));
    return 1;
}

static int check_kinds(const registry *r, cfg_diag *d)
{
    const cfg_node *root = r->conf->doc ? cfg_root(r->conf->doc) : NULL;
    int errs = 0;
    for (size_t i = 0; i < sizeof REF_KINDS / sizeof *REF_KINDS; i++) {
        const cfg_node *v = cfg_map_get(cfg_map_get(root, REF_KINDS[i].section), REF_KINDS[i].key);
        for (size_t j = 0; v && v->kind == CFG_SEQ && j < v->n; j++)
            errs += check_ref_kind(r, REF_KINDS[i].section, REF_KINDS[i].key, v->items[j],
                                   REF_KINDS[i].kind, d);
        errs += check_ref_kind(r, REF_KINDS[i].section, REF_KINDS[i].key, v,
                               REF_KINDS[i].kind, d);
    }
    return errs;
}

/* Documents without any extractor instance: a warning, as at start (the
 * service runs, but every upload will get 415). */
static void warn_no_extractor(const registry *r)
{
    if (!cfg_values_string(r->conf->pipeline, "storage")) return;
    for (size_t i = 0; i < r->n; i++)
        if (r->inst[i]->plugin && r->inst[i]->plugin->kind == RK_KIND_EXTRACTOR) return;
    log_warn("documents", "no extractor instance is declared: every upload will be "
                          "refused with 415 (declare extract_text and extract_pdf instances)");
}

/* The plugins' own checks (rk_plugin.check, since 1.1), every instance's,
 * with the services answering for this generation (scope). */
static int check_plugins(registry *r, const rk_host *host, void (*scope)(registry *),
                         cfg_diag *d)
{
    int errs = 0;
    for (size_t i = 0; i < r->n; i++) {
        rk_instance *in = r->inst[i];
        if (!RK_HAS_FIELD(in->plugin, rk_plugin, check) || !in->plugin->check) continue;
        rk_err err = {{0}};
        if (scope) scope(r);
        int rc = in->plugin->check(host, in, &err);
        if (scope) scope(NULL);
        if (rc == RK_OK) continue;
        const conf_instance *ci = conf_find(r->conf, in->name);
        if (ci) diag_instance(d, r->conf, ci, "", err.msg[0] ? err.msg : rk_strerror(rc));
        errs++;
    }
    return errs;
}

int registry_check(const rk_conf *conf, const rk_host *host, void (*scope)(registry *),
                   cfg_diag *d)
{
    registry *r = calloc(1, sizeof *r);
    if (!r) {
        cfg_diag_add(d, "?", 0, 0, "out of memory");
        return -1;
    }
    atomic_init(&r->refs, 1);
    r->conf = (rk_conf *)conf; /* borrowed: detached before the free below */
    int rc = registry_prepare(r, d);
    int errs = check_kinds(r, d);
    errs += check_plugins(r, host, scope, d);
    if (r->conf->pipeline && rc == 0) warn_no_extractor(r);
    if (errs) rc = -1;
    r->conf = NULL;
    registry_free(r);
    return rc;
}

registry *registry_build(rk_conf *conf, const rk_host *host, cfg_diag *d)
{
    if (!conf) {
        cfg_diag_add(d, "?", 0, 0, "no configuration");
        return NULL;
    }
    registry *r = calloc(1, sizeof *r);
    if (!r) {
        cfg_diag_add(d, "?", 0, 0, "out of memory");
        conf_free(conf);
        return NULL;
    }
    atomic_init(&r->refs, 1);
    r->conf = conf;
    r->generation = atomic_fetch_add(&g_generation, 1) + 1;
    if (registry_prepare(r, d) != 0 || registry_create_all(r, host, d) != 0) {
        registry_free(r);
        return NULL;
    }
    return r;
}

static int is_transport(const rk_instance *in)
{
    return in->plugin->kind == RK_KIND_TRANSPORT;
}

/* A position the plugin named comes first, once. */
static int start_failed(const rk_instance *in, int rc, const char *msg, rk_err *err)
{
    const char *file = in->reg && in->reg->conf->doc ? cfg_file(in->reg->conf->doc) : NULL;
    size_t loc = cfg_location_len(msg, file);
    if (loc)
        return rk_fail(err, rc, "%.*s: instance '%s': start failed: %s", (int)loc, msg,
                       in->name, msg + loc + (msg[loc + 1] == ' ' ? 2 : 1));
    return rk_fail(err, rc, "instance '%s': start failed: %s", in->name,
                   msg[0] ? msg : rk_strerror(rc));
}

static int start_one(rk_instance *in, rk_err *err)
{
    if (in->started) return RK_OK;
    if (in->plugin->start) {
        rk_err e = {{0}};
        int rc = in->plugin->start(in->ctx, &e);
        if (rc != RK_OK) return start_failed(in, rc, e.msg, err);
    }
    in->started = 1;
    log_debug("registry", "instance %s started", in->name);
    return RK_OK;
}

/* Transports start last: by the time a client can reach us, everything a
 * request needs is serving. */
int registry_start(registry *r, rk_err *err)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < r->n; i++) {
            if (is_transport(r->inst[i]) != pass) continue;
            int rc = start_one(r->inst[i], err);
            if (rc != RK_OK) {
                /* Leave nothing half-up: the caller may just free us. */
                registry_stop(r, clock_now_ms() + 5000);
                return rc;
            }
        }
    }
    return RK_OK;
}

static void stop_pass(registry *r, int transports, int64_t deadline_ms)
{
    for (size_t i = r->n; i > 0; i--) {
        rk_instance *in = r->inst[i - 1];
        if (is_transport(in) != transports || !in->started) continue;
        if (in->plugin->stop) in->plugin->stop(in->ctx, deadline_ms);
        in->started = 0;
        log_debug("registry", "instance %s stopped", in->name);
    }
}

void registry_stop_transports(registry *r, int64_t deadline_ms)
{
    stop_pass(r, 1, deadline_ms);
}

/* Transports stop first so no new work arrives while the rest drains. */
void registry_stop(registry *r, int64_t deadline_ms)
{
    stop_pass(r, 1, deadline_ms);
    stop_pass(r, 0, deadline_ms);
}

rk_instance *registry_get(const registry *r, const char *name)
{
    if (!r || !name) return NULL;
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->inst[i]->name, name) == 0) return r->inst[i];
    return NULL;
}

rk_instance *registry_get_kind(const registry *r, const char *name, rk_kind k)
{
    rk_instance *in = registry_get(r, name);
    return in && in->plugin->kind == k ? in : NULL;
}

void registry_ref(registry *r)
{
    if (r) atomic_fetch_add(&r->refs, 1);
}

void registry_unref(registry *r)
{
    if (r && atomic_fetch_sub(&r->refs, 1) == 1) registry_free(r);
}
