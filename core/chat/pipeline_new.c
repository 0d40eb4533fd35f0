/*
 * pipeline_new — builds a pipeline from the `pipeline:` section of one
 * registry generation: the numeric settings with their floors, the
 * instances it names (LLM chain, retriever, cache, history, embedder,
 * summarizer) resolved by name and kind, and the metrics it updates; and
 * frees it when the last reference goes (pipeline.c's header explains the
 * references). Apart from pipeline.c so that the chat state machine reads
 * without the configuration plumbing.
 */
#define _GNU_SOURCE
#include "pipeline.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatobj.h"
#include "histsave.h"
#include "log.h"
#include "metrics.h"
#include "singleflight.h"

/* ---- construction ------------------------------------------------------- */

typedef struct setting {
    const char *key;
    size_t off; /* int64_t field of struct pipeline */
    int64_t min;
} setting;

/* conf.c (check_pipeline) refuses the same floors, so --check-config does */
static const setting SETTINGS[] = {
    {"llm_timeout", offsetof(pipeline, llm_timeout), 1},
    {"total_timeout", offsetof(pipeline, total_timeout), 1},
    {"retrieval_timeout", offsetof(pipeline, retrieval_timeout), 1},
    {"fast_retrieval_timeout", offsetof(pipeline, fast_retrieval_timeout), 1},
    {"first_token_timeout", offsetof(pipeline, first_token_timeout), 0},
    {"inter_chunk_timeout", offsetof(pipeline, inter_chunk_timeout), 0},
    {"cache_ttl", offsetof(pipeline, cache_ttl), 0},
    {"top_k", offsetof(pipeline, top_k), 1},
    {"fast_top_k", offsetof(pipeline, fast_top_k), 1},
    {"fast_max_words", offsetof(pipeline, fast_max_words), 0},
    {"history_max_messages", offsetof(pipeline, history_max), 0}, /* 0: never compact */
    {"max_messages", offsetof(pipeline, max_messages), 1},
    {"max_input_bytes", offsetof(pipeline, max_input_bytes), 1},
    {"max_answer_bytes", offsetof(pipeline, max_answer_bytes), 1},
    {NULL, 0, 0}};

static int read_settings(pipeline *pl, const cfg_values *v, rk_err *err)
{
    char where[160];
    for (const setting *s = SETTINGS; s->key; s++) {
        int64_t val = cfg_values_int(v, s->key);
        if (val < s->min)
            return rk_fail(err, RK_ERR_CONFIG, "%s: pipeline.%s must be at least %lld",
                           cfg_values_where(v, s->key, where, sizeof where), s->key,
                           (long long)s->min);
        *(int64_t *)((char *)pl + s->off) = val;
    }
    const char *sp = cfg_values_string(v, "system_prompt");
    pl->system_prompt = strdup(sp ? sp : "");
    return pl->system_prompt ? RK_OK : rk_fail(err, RK_ERR_NOMEM, "out of memory");
}

static int resolve(registry *r, const cfg_values *v, const char *key,
                   const char *name, rk_kind kind, rk_instance **out, rk_err *err)
{
    char where[160];
    *out = registry_get_kind(r, name, kind);
    if (*out) return RK_OK;
    cfg_values_where(v, key, where, sizeof where);
    rk_instance *any = registry_get(r, name);
    if (any)
        return rk_fail(err, RK_ERR_CONFIG, "%s: pipeline.%s: instance '%s' is a %s, not a %s",
                       where, key, name, loader_kind_name(any->plugin->kind),
                       loader_kind_name(kind));
    return rk_fail(err, RK_ERR_CONFIG, "%s: pipeline.%s: no instance named '%s'", where,
                   key, name);
}

static int resolve_opt(pipeline *pl, const cfg_values *v, const char *key, rk_kind kind,
                       rk_instance **out, rk_err *err)
{
    const char *name = cfg_values_string(v, key);
    *out = NULL;
    return name && *name ? resolve(pl->reg, v, key, name, kind, out, err) : RK_OK;
}

static void llm_metrics(pl_llm *l)
{
    const char *n = l->inst->name, *help = "LLM calls by provider and outcome";
    char esc[128], labels[192];
    metrics_label_escape(n, esc, sizeof esc);
    snprintf(labels, sizeof labels, "provider=\"%s\",outcome=\"ok\"", esc);
    l->m_ok = metrics_get(RK_METRIC_COUNTER, "ragkernel_llm_requests_total", help, labels);
    snprintf(labels, sizeof labels, "provider=\"%s\",outcome=\"error\"", esc);
    l->m_error = metrics_get(RK_METRIC_COUNTER, "ragkernel_llm_requests_total", help, labels);
    snprintf(labels, sizeof labels, "provider=\"%s\",outcome=\"timeout\"", esc);
    l->m_timeout = metrics_get(RK_METRIC_COUNTER, "ragkernel_llm_requests_total", help, labels);
    l->m_latency = metrics_labelled(RK_METRIC_HISTOGRAM, "ragkernel_llm_latency_seconds",
                            "duration of one LLM call", "provider", n);
    l->m_overhead = metrics_labelled(RK_METRIC_HISTOGRAM, "ragkernel_overhead_seconds",
                             "time an answered request spent outside the answering "
                             "provider's call (queueing, cache, history, retrieval, "
                             "failed attempts, streaming)", "provider", n);
    l->m_breaker = metrics_labelled(RK_METRIC_GAUGE, "ragkernel_llm_breaker_state",
                            "circuit breaker per provider: 0 closed, 1 open (skipped), "
                            "2 half-open (the next call probes)", "provider", n);
    l->m_opens = metrics_labelled(RK_METRIC_COUNTER, "ragkernel_llm_breaker_opens_total",
                          "times a provider's circuit opened (or re-opened after a "
                          "failed probe)", "provider", n);
}

static int resolve_llms(pipeline *pl, const cfg_values *v, rk_err *err)
{
    size_t n = cfg_values_count(v, "llm");
    int64_t fails = cfg_values_int(v, "breaker_failures");
    int64_t cooldown = cfg_values_int(v, "breaker_cooldown");
    pl->llm = calloc(n ? n : 1, sizeof *pl->llm);
    if (!pl->llm) return rk_fail(err, RK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *name = cfg_values_item(v, "llm", i);
        rk_instance *inst;
        int rc = resolve(pl->reg, v, "llm", name ? name : "", RK_KIND_LLM, &inst, err);
        if (rc != RK_OK) return rc;
        for (size_t j = 0; j < i; j++)
            if (pl->llm[j].inst == inst)
                return rk_fail(err, RK_ERR_CONFIG, "pipeline.llm: '%s' is listed twice", name);
        pl_llm *l = &pl->llm[pl->n_llm++];
        l->inst = inst;
        l->vt = inst->plugin->vtable;
        breaker_init(&l->br, fails > 1000000 ? 1000000 : (int)fails, cooldown);
        llm_metrics(l);
    }
    if (n == 0) log_warn("pipeline", "pipeline.llm is empty: chat requests will be refused");
    return RK_OK;
}

static void pipeline_metrics(pl_metrics *m)
{
    const char *st = "time spent per pipeline stage";
    m->requests = metrics_get(RK_METRIC_COUNTER, "ragkernel_chat_requests_total",
                              "chat requests received", NULL);
    m->active = metrics_get(RK_METRIC_GAUGE, "ragkernel_active_chats", "chats in flight", NULL);
    m->fallbacks = metrics_get(RK_METRIC_COUNTER, "ragkernel_llm_fallbacks_total",
                               "LLM calls made after another provider failed", NULL);
    m->cache_hits = metrics_get(RK_METRIC_COUNTER, "ragkernel_cache_hits_total",
                                "answers served from the cache", NULL);
    m->cache_misses = metrics_get(RK_METRIC_COUNTER, "ragkernel_cache_misses_total",
                                  "answer cache lookups that missed", NULL);
    m->cache_errors = metrics_get(RK_METRIC_COUNTER, "ragkernel_cache_errors_total",
                                  "cache calls that failed (treated as misses)", NULL);
    m->retrieval_timeouts = metrics_get(RK_METRIC_COUNTER, "ragkernel_retrieval_timeouts_total",
                                        "retrievals abandoned at their deadline", NULL);
    m->retrieval_errors = metrics_get(RK_METRIC_COUNTER, "ragkernel_retrieval_errors_total",
                                      "retrievals that failed", NULL);
    m->history_errors = metrics_get(RK_METRIC_COUNTER, "ragkernel_history_errors_total",
                                    "history loads, appends and compactions that failed", NULL);
    histsave_metrics(); /* its counter shows 0 before the first failure */
    m->stage_retrieve = metrics_labelled(RK_METRIC_HISTOGRAM, "ragkernel_stage_seconds", st, "stage", "retrieve");
    m->stage_llm = metrics_labelled(RK_METRIC_HISTOGRAM, "ragkernel_stage_seconds", st, "stage", "llm");
    m->stage_total = metrics_labelled(RK_METRIC_HISTOGRAM, "ragkernel_stage_seconds", st, "stage", "total");
}

static void pipeline_destroy(pipeline *pl)
{
    for (size_t i = 0; i < pl->n_llm; i++) breaker_destroy(&pl->llm[i].br);
    sflight_free(pl->flights);
    free(pl->llm);
    free(pl->system_prompt);
    free(pl);
}

static void pipeline_release(pipeline *pl)
{
    if (atomic_fetch_sub(&pl->refs, 1) == 1) pipeline_destroy(pl);
}

static const chat_flow_ops flow_ops = {pipeline__advance, pipeline__finish, pipeline_release};

pipeline *pipeline_new(registry *r, loop *l, pool *p, rk_err *err)
{
    const cfg_values *v = r->conf->pipeline;
    pipeline *pl = calloc(1, sizeof *pl);
    if (!pl) {
        rk_fail(err, RK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    atomic_init(&pl->refs, 1);
    atomic_init(&pl->cache_quiet, 0);
    pl->ops = &flow_ops;
    pl->reg = r;
    pl->loop = l;
    pl->pool = p;
    pipeline_metrics(&pl->m);
    if (!(pl->flights = sflight_new())) {
        free(pl);
        rk_fail(err, RK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (read_settings(pl, v, err) != RK_OK || resolve_llms(pl, v, err) != RK_OK ||
        resolve_opt(pl, v, "retriever", RK_KIND_RETRIEVER, &pl->retriever, err) != RK_OK ||
        resolve_opt(pl, v, "cache", RK_KIND_CACHE, &pl->cache, err) != RK_OK ||
        resolve_opt(pl, v, "history_summarizer", RK_KIND_LLM, &pl->summarizer, err) != RK_OK ||
        resolve_opt(pl, v, "history", RK_KIND_HISTORY, &pl->history, err) != RK_OK) {
        pipeline_destroy(pl);
        return NULL;
    }
    return pl;
}

void pipeline_free(pipeline *pl)
{
    if (pl) pipeline_release(pl);
}

int pipeline_inflight(const pipeline *pl)
{
    return atomic_load(&((pipeline *)pl)->refs) - 1;
}
