/*
 * conf — the whole ragkernel YAML file: the `server:` and `pipeline:`
 * sections (validated with the same schema machinery as plugins) and the
 * `instances:` map (name -> {plugin, config}) and the `auth:` section
 * (core/auth.h). Instance configs are only
 * located here; they are validated against each plugin's schema once the
 * plugin is loaded (registry).
 *
 *   server:
 *     plugin_path: [./build/plugins]   # LIST
 *     log_level: info                  # debug|info|warn|error
 *     log_format: logfmt               # logfmt|json
 *     workers: 4                       # blocking worker threads
 *     shutdown_grace: 10s
 *   pipeline:                          # see conf.c's schema for every key
 *     llm: [extractive]                # fallback chain, instance names
 *     retriever: docs                  # instance name or absent
 *     ...
 *   instances:
 *     http:
 *       plugin: transport_http
 *       config: { listen: "127.0.0.1:8080" }
 */
#ifndef RK_CORE_CONF_H
#define RK_CORE_CONF_H

#include "auth.h"
#include "cfg.h"

typedef struct conf_instance {
    const char *name;        /* key under instances: */
    const char *plugin;      /* plugin: value */
    const cfg_node *config;  /* config: mapping, or NULL */
    const cfg_node *where;   /* the instance's node, for diagnostics */
} conf_instance;

typedef struct rk_conf {
    cfg_doc *doc;
    cfg_values *server;   /* schema: conf_server_schema */
    cfg_values *pipeline; /* schema: conf_pipeline_schema */
    conf_instance *instances;
    size_t n_instances;
    auth *auth;           /* the auth: section (no keys = auth off) */
} rk_conf;

extern const rk_config_key conf_server_schema[];
extern const rk_config_key conf_pipeline_schema[];

/* Parse and validate the structure; NULL with diagnostics on error. */
rk_conf *conf_load(const char *path, cfg_diag *d);
/* The same checks, but the conf comes back whenever the file parsed to a
 * mapping, with *errors = how many mistakes were reported: --check-config
 * goes on to the plugins' checks so one run lists every mistake. Parts
 * that failed are NULL (server, pipeline, auth) or partly filled
 * (instances without a plugin name). */
rk_conf *conf_load_all(const char *path, cfg_diag *d, int *errors);
void conf_free(rk_conf *c);
const conf_instance *conf_find(const rk_conf *c, const char *name);

#endif
