/*
 * llm_call — one upstream LLM request (chat or embeddings) over the host's
 * event-loop HTTP, with the retry policy of llm_common: attempts, jittered
 * backoff honouring Retry-After, per-attempt timeouts capped by the request
 * deadline, no retry once a delta went out, metrics, and the LLM call
 * contract (callbacks on the loop thread, never from inside the starting
 * call, exactly one done unless cancelled).
 *
 * A provider plugin supplies an llm_proto that turns the 2xx body into
 * deltas and a finish reason; everything about HTTP and retries lives here.
 */
#ifndef LLM_CALL_H
#define LLM_CALL_H

#include <stddef.h>
#include <stdint.h>

#include <ragkernel/ragkernel.h>

#include "llm_client.h"

/* How a provider reads a 2xx response. */
typedef struct llm_proto {
    /* Each piece of the body as it arrives; NULL = the call collects the
     * whole body and hands it to end(). Return RK_OK, or a failure recorded
     * with llm_call_fail() (the transfer is then aborted). */
    int (*body)(rk_llm_call *c, const char *data, size_t len);
    /* The 2xx body is complete (body, len: the whole body if body() is NULL,
     * else NULL, 0). RK_OK if the answer is complete, else llm_call_fail(). */
    int (*end)(rk_llm_call *c, const char *body, size_t len);
    /* Optional: a new attempt begins; forget the last one's partial state. */
    void (*reset)(rk_llm_call *c);
    /* Optional: free the provider state when the call is freed. */
    void (*free_state)(void *state);
} llm_proto;

typedef void (*llm_done_fn)(void *ud, int status, const rk_llm_result *res,
                            const char *message);

typedef struct llm_call_spec {
    const char *url;               /* copied */
    const rk_http_header *headers; /* borrowed until the call ends: pass the
                                      instance's own array, not a temporary */
    size_t n_headers;
    char *body;                    /* malloc'd; the call takes it, always */
    size_t body_len;
    const char *model;             /* reported until the upstream names one; copied */
    int64_t deadline_ms;           /* absolute, host clock; 0 = none */
    int64_t first_byte_ms, idle_ms;
    void (*on_delta)(void *ud, const char *text, size_t len); /* may be NULL */
    llm_done_fn on_done;
    void *ud;
    const llm_proto *proto;
    void *state;                   /* provider state; the call takes it, always */
} llm_call_spec;

/* Start the first attempt. On RK_OK *out is the call; on error nothing
 * follows and body/state were freed. */
int llm_call_start(const llm_client *cl, const llm_call_spec *spec,
                   rk_llm_call **out, rk_err *err);
/* No callback after this returns (see rk_llm_vtable.cancel). */
void llm_call_cancel(rk_llm_call *c);
/* rk_llm_vtable.pause: stop or resume reading the upstream (this attempt
 * and any retry). */
void llm_call_pause(rk_llm_call *c, int pause);

/* ---- for llm_proto callbacks ---- */
void *llm_call_state(rk_llm_call *c);
/* Hand a delta to the caller. Nonzero: the caller cancelled, stop parsing. */
int llm_call_delta(rk_llm_call *c, const char *text, size_t len);
int llm_call_cancelled(const rk_llm_call *c);
void llm_call_set_finish(rk_llm_call *c, const char *reason);
void llm_call_set_model(rk_llm_call *c, const char *model);
/* Negative values leave a count unchanged. */
void llm_call_set_usage(rk_llm_call *c, int64_t prompt, int64_t completion);
int llm_call_has_finish(const rk_llm_call *c);
/* Record why the response is unusable; returns status. The first failure
 * recorded in an attempt wins. */
int llm_call_fail(rk_llm_call *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
