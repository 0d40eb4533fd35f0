/*
 * llm_client — a provider instance's upstream settings and metrics, shared
 * by all its calls (llm_call). Read-only after llm_client_init except the
 * metric-handle cache, which any loop thread may fill.
 */
#ifndef LLM_CLIENT_H
#define LLM_CLIENT_H

#include <stdatomic.h>
#include <stdint.h>

#include <ragkernel/ragkernel.h>

/* requests_total by code: HTTP 100..599, then one per rk_status */
#define LLM_CODE_SLOTS (500 + 17)

/* Per-instance settings, read by llm_client_init from the keys of
 * LLM_CLIENT_CONFIG_KEYS; lives in the instance context, outlives its calls.
 * Calls of one instance run on several loop threads at once: everything
 * here is read-only after init except m_code, a cache of metric handles
 * filled on first use (any thread; the host hands out the same handle for
 * the same name and labels, so a race only looks it up twice). */
typedef struct llm_client {
    const rk_host *host;
    rk_instance *self;
    const char *name; /* instance name: the metrics' provider label */
    int64_t timeout_ms, connect_timeout_ms, backoff_base_ms, backoff_max_ms;
    int max_retries;
    rk_metric *m_retries, *m_seconds;
    _Atomic(rk_metric *) m_code[LLM_CODE_SLOTS];
} llm_client;

/* The schema rows every provider shares (insert into its rk_config_key table). */
#define LLM_CLIENT_CONFIG_KEYS                                                 \
    {"timeout", RK_CFG_DURATION, "60s", 0,                                     \
     "limit of one attempt (capped by the request deadline)"},                 \
    {"connect_timeout", RK_CFG_DURATION, "5s", 0, "TCP+TLS connect limit"},    \
    {"max_retries", RK_CFG_INT, "2", 0,                                        \
     "retries after 429, 5xx, connect errors and timeouts (0-10)"},            \
    {"backoff_base", RK_CFG_DURATION, "250ms", 0,                              \
     "first retry waits up to this (full jitter, doubling)"},                  \
    {"backoff_max", RK_CFG_DURATION, "8s", 0, "longest wait between retries"}

int llm_client_init(llm_client *cl, const rk_host *host, rk_instance *self,
                    rk_err *err);

/* Any thread: one attempt ended. http_status: what the upstream answered
 * (100..599), or 0 when it did not, and status (an rk_status) counts
 * instead; started_ms: when the attempt began (host clock). */
void llm_client_count(const llm_client *cl, int http_status, int status,
                      int64_t started_ms);

#endif
