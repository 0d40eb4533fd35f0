/*
 * docs_env — what the documents tests stand on: a registry with a storage
 * instance, a retriever and the extract_text extractor, and a documents
 * service over them (docs_fixture.h, docs_admin_fixture.h).
 */
#ifndef RK_TEST_DOCS_ENV_H
#define RK_TEST_DOCS_ENV_H

#include <check.h>
#include <stdio.h>
#include <string.h>

#include "docs.h"
#include "hostapi.h"
#include "ingest.h"
#include "pool.h"
#include "registry.h"
#include "testenv.h"

typedef struct env {
    registry *reg;
    pool *pool;
    docs *docs;
    rk_instance *storage, *retriever;
} env;

/* The configured extractor instances (extract_text) read e's uploads. */
static inline void docs_env_extractors(env *e)
{
    rk_err err = {{0}};
    ingest_set *ing = ingest_set_new(e->reg, &err);
    ck_assert_msg(ing != NULL, "ingest_set_new: %s", err.msg);
    docs_set_ingest(e->docs, ing);
}

/* In dir: storage `storage_plugin` (storage_local: root <dir>/documents),
 * the test retriever `retriever` or, when NULL, retriever_sqlite at
 * <dir>/<index>, and the documents service (seed_dir may be NULL). */
static inline env docs_env_open(const char *dir, const char *storage_plugin,
                                const char *index, const char *retriever,
                                const char *seed_dir)
{
    char yaml[512], text[2048], storage_cfg[256] = "", index_cfg[512];
    if (strcmp(storage_plugin, "storage_local") == 0)
        snprintf(storage_cfg, sizeof storage_cfg, "    config: {root: \"%s/documents\"}\n", dir);
    if (retriever)
        snprintf(index_cfg, sizeof index_cfg, "    plugin: %s\n", retriever);
    else
        snprintf(index_cfg, sizeof index_cfg,
                 "    plugin: retriever_sqlite\n    config: {path: \"%s/%s\"}\n", dir, index);
    snprintf(yaml, sizeof yaml, "%s/rk.yaml", dir);
    snprintf(text, sizeof text,
             "server:\n  plugin_path: [\"%s/plugins\", \"%s/test-plugins\"]\n"
             "instances:\n"
             "  files:\n    plugin: %s\n%s"
             "  index:\n%s"
             "  text:\n    plugin: extract_text\n",
             ph_build_dir(), ph_build_dir(), storage_plugin, storage_cfg, index_cfg);
    FILE *f = fopen(yaml, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    cfg_diag d = {0};
    rk_conf *c = conf_load(yaml, &d);
    ck_assert_msg(c != NULL, "conf: %s", d.n ? d.lines[0] : "?");
    env e = {0};
    e.reg = registry_build(c, hostapi_table(), &d);
    ck_assert_msg(e.reg != NULL, "registry: %s", d.n ? d.lines[0] : "?");
    cfg_diag_free(&d);
    rk_err err = {{0}};
    ck_assert_msg(registry_start(e.reg, &err) == RK_OK, "start: %s", err.msg);
    e.pool = pool_new(3, &err);
    ck_assert_ptr_nonnull(e.pool);
    e.storage = registry_get(e.reg, "files");
    e.retriever = registry_get(e.reg, "index");
    e.docs = docs_new(e.storage, e.retriever, e.pool, seed_dir, &err);
    ck_assert_msg(e.docs != NULL, "docs_new: %s", err.msg);
    docs_env_extractors(&e);
    return e;
}

static inline void env_close(env *e)
{
    docs_free(e->docs);
    pool_free(e->pool);
    registry_stop(e->reg, 0);
    registry_unref(e->reg);
}

#endif
