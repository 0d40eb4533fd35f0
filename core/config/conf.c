/*
 * conf — owns the shape of a ragkernel YAML file: the three top-level
 * sections, the `instances:` entries and the names the pipeline refers to.
 * It checks everything that can be checked without loading a plugin, so
 * `--check-config` reports structural mistakes even when no plugin is
 * built, and it keeps going after an error so one run lists every mistake
 * it can find. Instance configs are only located here: their keys belong to
 * each plugin's schema and are validated by the registry.
 */
#include "conf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* The lists come first (they may be sequences). */
static const char *const pipeline_refs[] = {"llm", "extractors", "retriever", "cache",
                                            "history", "storage", "history_summarizer"};
#define PIPELINE_LISTS 2

static int is_empty(const cfg_node *n)
{
    return !n || (n->kind == CFG_SCALAR && n->str[0] == '\0');
}

static int name_ok(const char *s, const char *extra, int upper)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              (upper && *s >= 'A' && *s <= 'Z') || strchr(extra, *s)))
            return 0;
    return 1;
}

static int check_top_keys(const cfg_node *root, cfg_diag *d)
{
    int errs = 0;
    for (size_t i = 0; i < root->n; i++) {
        const char *k = root->keys[i]->str;
        if (strcmp(k, "server") && strcmp(k, "pipeline") && strcmp(k, "instances") &&
            strcmp(k, "auth")) {
            cfg_diag_at(d, root->keys[i], "unknown top-level key '%s' (known: "
                                          "server, pipeline, instances, auth)", k);
            errs++;
        }
    }
    return errs;
}

/* Values the schema types cannot express, checked here so --check-config
 * reports them too: the logger's and HTTP client's names and a sane
 * worker count. */
static int check_server(const rk_conf *c, const cfg_node *sec, cfg_diag *d)
{
    int errs = 0;
    const char *lvl = cfg_values_string(c->server, "log_level");
    const char *fmt = cfg_values_string(c->server, "log_format");
    const cfg_node *at = sec ? sec : cfg_root(c->doc);
    if (lvl && log_level_parse(lvl) < 0) {
        const cfg_node *n = cfg_map_get(sec, "log_level");
        cfg_diag_at(d, n ? n : at, "server.log_level: expected debug, info, warn or "
                                   "error, got '%s'", lvl);
        errs++;
    }
    if (fmt && log_format_parse(fmt) < 0) {
        const cfg_node *n = cfg_map_get(sec, "log_format");
        cfg_diag_at(d, n ? n : at, "server.log_format: expected logfmt or json, got '%s'",
                    fmt);
        errs++;
    }
    const char *hc = cfg_values_string(c->server, "http_client");
    if (hc && strcmp(hc, "builtin") != 0 && strcmp(hc, "libcurl") != 0) {
        const cfg_node *n = cfg_map_get(sec, "http_client");
        cfg_diag_at(d, n ? n : at, "server.http_client: expected builtin or libcurl, got '%s'",
                    hc);
        errs++;
    }
    int64_t workers = cfg_values_int(c->server, "workers");
    if (workers < 1 || workers > 256) {
        const cfg_node *n = cfg_map_get(sec, "workers");
        cfg_diag_at(d, n ? n : at, "server.workers: must be between 1 and 256");
        errs++;
    }
    return errs;
}

/* "pdftotext_max_memory" -> "max_memory": the key's name in extract_pdf,
 * where the pdftotext keys moved; NULL for any other key. */
static const char *moved_to(const char *k)
{
    if (strncmp(k, "pdftotext", 9) != 0) return NULL;
    return !k[9] ? "program" : k[9] == '_' && k[10] ? k + 10 : NULL;
}

/* The pipeline section with the moved keys left out (view's arrays are
 * the caller's to free), each reported with where it went instead of as
 * unknown. */
static int drop_moved(const cfg_node *sec, cfg_node *view, cfg_diag *d)
{
    int errs = 0;
    *view = *sec;
    view->n = 0;
    view->keys = calloc(sec->n ? sec->n : 1, sizeof *view->keys);
    view->items = calloc(sec->n ? sec->n : 1, sizeof *view->items);
    if (!view->keys || !view->items) return 0; /* then unknown, not moved */
    for (size_t i = 0; i < sec->n; i++) {
        const char *k = sec->keys[i]->str, *to = moved_to(k);
        if (to) {
            cfg_diag_at(d, sec->keys[i], "pipeline.%s moved: set `%s` in an extract_pdf "
                        "instance (instances: {pdf: {plugin: extract_pdf, config: {%s: ...}}})",
                        k, to, to);
            errs++;
            continue;
        }
        view->keys[view->n] = sec->keys[i];
        view->items[view->n++] = sec->items[i];
    }
    return errs;
}

static cfg_values *build_pipeline(const cfg_node *pipe, const cfg_node *root, int *errs,
                                  cfg_diag *d)
{
    if (!pipe || pipe->kind != CFG_MAP)
        return cfg_values_build(pipe, conf_pipeline_schema, pipe ? pipe : root, d);
    cfg_node view;
    *errs += drop_moved(pipe, &view, d);
    cfg_values *v = cfg_values_build(view.keys && view.items ? &view : pipe,
                                     conf_pipeline_schema, pipe, d);
    free(view.keys);
    free(view.items);
    return v;
}

/* The pipeline's numbers that have a floor (pipeline.c refuses them at
 * start as well): checked here so a preflight refuses what a start would. */
static int check_pipeline(const rk_conf *c, const cfg_node *sec, cfg_diag *d)
{
    static const struct {
        const char *key;
        int64_t min;
    } floors[] = {
        {"llm_timeout", 1}, {"total_timeout", 1}, {"retrieval_timeout", 1},
        {"fast_retrieval_timeout", 1}, {"first_token_timeout", 0},
        {"inter_chunk_timeout", 0}, {"cache_ttl", 0}, {"top_k", 1}, {"fast_top_k", 1},
        {"fast_max_words", 0}, {"history_max_messages", 0}, {"max_messages", 1},
        {"max_input_bytes", 1},
    };
    int errs = 0;
    const cfg_node *at = sec ? sec : cfg_root(c->doc);
    if (cfg_values_int(c->pipeline, "ingest_timeout") < 1) {
        const cfg_node *n = cfg_map_get(sec, "ingest_timeout");
        cfg_diag_at(d, n ? n : at, "pipeline.ingest_timeout: must be at least 1ms");
        errs++;
    }
    for (size_t i = 0; i < sizeof floors / sizeof *floors; i++) {
        int64_t v = cfg_values_int(c->pipeline, floors[i].key);
        if (v >= floors[i].min) continue;
        const cfg_node *n = cfg_map_get(sec, floors[i].key);
        cfg_diag_at(d, n ? n : at, "pipeline.%s: must be at least %lld, got %lld",
                    floors[i].key, (long long)floors[i].min, (long long)v);
        errs++;
    }
    return errs;
}

static int check_instance_keys(const char *name, const cfg_node *v, cfg_diag *d)
{
    int errs = 0;
    for (size_t i = 0; i < v->n; i++) {
        const char *k = v->keys[i]->str;
        if (strcmp(k, "plugin") && strcmp(k, "config")) {
            cfg_diag_at(d, v->keys[i], "instance '%s': unknown key '%s' (known: "
                                       "plugin, config)", name, k);
            errs++;
        }
    }
    return errs;
}

/* One `name: {plugin: ..., config: {...}}` entry into *out. */
static int load_instance(const cfg_node *key, const cfg_node *v, conf_instance *out,
                         cfg_diag *d)
{
    int errs = 0;
    *out = (conf_instance){.name = key->str, .where = key};
    if (!name_ok(key->str, "_-", 1)) {
        cfg_diag_at(d, key, "instance name '%s' must match [A-Za-z0-9_-]+", key->str);
        errs++;
    }
    if (v->kind != CFG_MAP) {
        cfg_diag_at(d, v, "instance '%s': expected a mapping with 'plugin' and "
                          "'config', got %s", key->str,
                    v->kind == CFG_SEQ ? "a list" : "a scalar");
        return errs + 1;
    }
    errs += check_instance_keys(key->str, v, d);
    const cfg_node *plugin = cfg_map_get(v, "plugin"), *conf = cfg_map_get(v, "config");
    if (!plugin) {
        cfg_diag_at(d, key, "instance '%s': missing required key 'plugin'", key->str);
        errs++;
    } else if (plugin->kind != CFG_SCALAR || !name_ok(plugin->str, "_", 0)) {
        cfg_diag_at(d, plugin, "instance '%s': 'plugin' must be a plugin name "
                               "matching [a-z0-9_]+", key->str);
        errs++;
    } else {
        out->plugin = plugin->str;
    }
    if (!is_empty(conf) && conf->kind != CFG_MAP) {
        cfg_diag_at(d, conf, "instance '%s': 'config' must be a mapping", key->str);
        errs++;
    } else if (!is_empty(conf)) {
        out->config = conf;
    }
    return errs;
}

static int load_instances(rk_conf *c, const cfg_node *sec, cfg_diag *d)
{
    int errs = 0;
    if (is_empty(sec)) return 0;
    if (sec->kind != CFG_MAP) {
        cfg_diag_at(d, sec, "instances: expected a mapping of name -> "
                            "{plugin, config}");
        return 1;
    }
    if (!(c->instances = calloc(sec->n + 1, sizeof *c->instances))) {
        cfg_diag_at(d, sec, "out of memory");
        return 1;
    }
    for (size_t i = 0; i < sec->n; i++)
        errs += load_instance(sec->keys[i], sec->items[i], &c->instances[i], d);
    c->n_instances = sec->n;
    return errs;
}

static int check_ref(const rk_conf *c, const char *key, const cfg_node *v,
                     cfg_diag *d)
{
    if (v->kind != CFG_SCALAR || v->str[0] == '\0' || conf_find(c, v->str)) return 0;
    cfg_diag_at(d, v, "pipeline.%s: no instance named '%s'", key, v->str);
    return 1;
}

/* Runs on the nodes, not on cfg_values, so each error points at the item. */
static int check_refs(const rk_conf *c, const cfg_node *pipe, cfg_diag *d)
{
    int errs = 0;
    if (!pipe || pipe->kind != CFG_MAP) return 0;
    for (size_t i = 0; i < sizeof pipeline_refs / sizeof *pipeline_refs; i++) {
        const cfg_node *v = cfg_map_get(pipe, pipeline_refs[i]);
        if (v && v->kind == CFG_SEQ && i < PIPELINE_LISTS)
            for (size_t j = 0; j < v->n; j++)
                errs += check_ref(c, pipeline_refs[i], v->items[j], d);
        else if (v)
            errs += check_ref(c, pipeline_refs[i], v, d);
    }
    return errs;
}

/* The tree is ours (c->doc): auth_new wipes plaintext keys in it. */
static int load_auth(rk_conf *c, const cfg_node *root, cfg_diag *d)
{
    cfg_node *sec = (cfg_node *)cfg_map_get(root, "auth");
    if (!(c->auth = auth_new(sec, d))) return 1;
    const cfg_node *lim = cfg_map_get(sec, "limiter");
    if (lim && lim->kind == CFG_SCALAR && !conf_find(c, lim->str)) {
        cfg_diag_at(d, lim, "auth.limiter: no instance named '%s'", lim->str);
        return 1;
    }
    return 0;
}

rk_conf *conf_load_all(const char *path, cfg_diag *d, int *errors)
{
    int errs = 0;
    *errors = 1;
    rk_conf *c = calloc(1, sizeof *c);
    if (!c) {
        cfg_diag_add(d, path, 0, 0, "out of memory");
        return NULL;
    }
    if (!(c->doc = cfg_load_file(path, d))) goto fail;
    const cfg_node *root = cfg_root(c->doc);
    if (!root || root->kind != CFG_MAP) {
        cfg_diag_add(d, cfg_file(c->doc), root ? root->line : 1, root ? root->col : 1,
                     "the top level must be a mapping with server, pipeline and "
                     "instances");
        goto fail;
    }
    errs += check_top_keys(root, d);
    const cfg_node *srv = cfg_map_get(root, "server");
    const cfg_node *pipe = cfg_map_get(root, "pipeline");
    c->server = cfg_values_build(srv, conf_server_schema, srv ? srv : root, d);
    errs += c->server ? check_server(c, srv, d) : 1;
    c->pipeline = build_pipeline(pipe, root, &errs, d);
    errs += c->pipeline ? check_pipeline(c, pipe, d) : 1;
    errs += load_instances(c, cfg_map_get(root, "instances"), d);
    errs += check_refs(c, pipe, d);
    errs += load_auth(c, root, d);
    *errors = errs;
    return c;
fail:
    conf_free(c);
    return NULL;
}

rk_conf *conf_load(const char *path, cfg_diag *d)
{
    int errs;
    rk_conf *c = conf_load_all(path, d, &errs);
    if (c && errs) {
        conf_free(c);
        return NULL;
    }
    return c;
}

void conf_free(rk_conf *c)
{
    if (!c) return;
    cfg_values_free(c->server);
    cfg_values_free(c->pipeline);
    auth_free(c->auth);
    free(c->instances);
    cfg_free(c->doc);
    free(c);
}

const conf_instance *conf_find(const rk_conf *c, const char *name)
{
    for (size_t i = 0; c && name && i < c->n_instances; i++)
        if (strcmp(c->instances[i].name, name) == 0) return &c->instances[i];
    return NULL;
}
