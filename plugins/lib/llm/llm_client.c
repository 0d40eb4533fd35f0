/*
 * llm_client — owns what one provider instance shares among its calls: the
 * retry and timeout settings read from its config (the same keys for every
 * provider, LLM_CLIENT_CONFIG_KEYS, so they are validated and documented
 * alike) and its upstream metrics. The per-code request counters are
 * looked up on first use and cached here, because the host's lookup by
 * name takes a process-wide lock and calls run on every loop thread.
 */
#include "llm_client.h"

#include <stdio.h>
#include <string.h>

#include "llm_common.h"

static int cfg_error(const rk_host *h, rk_instance *self, const char *key,
                     const char *what, rk_err *err)
{
    char where[160];
    return rk_fail(err, RK_ERR_CONFIG, "%s: %s %s",
                   h->cfg_where(self, key, where, sizeof where), key, what);
}

int llm_client_init(llm_client *cl, const rk_host *host, rk_instance *self,
                    rk_err *err)
{
    memset(cl, 0, sizeof *cl);
    cl->host = host;
    cl->self = self;
    cl->name = host->instance_name(self);
    cl->timeout_ms = host->cfg_int(self, "timeout");
    cl->connect_timeout_ms = host->cfg_int(self, "connect_timeout");
    cl->backoff_base_ms = host->cfg_int(self, "backoff_base");
    cl->backoff_max_ms = host->cfg_int(self, "backoff_max");
    int64_t retries = host->cfg_int(self, "max_retries");
    if (retries < 0 || retries > 10)
        return cfg_error(host, self, "max_retries", "must be 0..10", err);
    cl->max_retries = (int)retries;
    if (cl->timeout_ms < 0 || cl->connect_timeout_ms < 0)
        return cfg_error(host, self, "timeout", "must not be negative", err);
    if (cl->backoff_max_ms < cl->backoff_base_ms)
        return cfg_error(host, self, "backoff_max", "must be >= backoff_base", err);
    char labels[192];
    snprintf(labels, sizeof labels, "provider=\"%s\"", cl->name);
    cl->m_retries = host->metric(RK_METRIC_COUNTER,
                                 "ragkernel_llm_upstream_retries_total",
                                 "Retried upstream LLM requests", labels);
    cl->m_seconds = host->metric(RK_METRIC_HISTOGRAM,
                                 "ragkernel_llm_upstream_seconds",
                                 "Duration of upstream LLM HTTP attempts", labels);
    return RK_OK;
}

void llm_client_count(const llm_client *ccl, int http_status, int status,
                      int64_t started_ms)
{
    const rk_host *h = ccl->host;
    llm_client *cl = (llm_client *)ccl; /* m_code is the mutable part */
    int neg = -status;
    size_t slot = http_status ? (size_t)(http_status - 100)
                              : 500 + (size_t)(neg >= 0 && neg < 17 ? neg : 16);
    rk_metric *m = atomic_load_explicit(&cl->m_code[slot], memory_order_acquire);
    if (!m) {
        char code[24], labels[224];
        if (http_status)
            snprintf(code, sizeof code, "%d", http_status);
        else
            snprintf(code, sizeof code, "%s", llm_status_label(status));
        snprintf(labels, sizeof labels, "provider=\"%s\",code=\"%s\"", cl->name, code);
        m = h->metric(RK_METRIC_COUNTER, "ragkernel_llm_upstream_requests_total",
                      "Upstream LLM HTTP attempts by status", labels);
        atomic_store_explicit(&cl->m_code[slot], m, memory_order_release);
    }
    if (m)
        h->metric_add(m, 1);
    if (cl->m_seconds)
        h->metric_observe(cl->m_seconds, (double)(h->now_ms() - started_ms) / 1000.0);
}
