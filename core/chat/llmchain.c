/*
 * llmchain — fallback across LLM providers without the client noticing.
 *
 * Attempts run one at a time in the configured order; a provider whose
 * model list names the requested model goes first and gets that model, the
 * others get NULL (their default), so a client asking for "gpt-4o" still
 * gets an answer from a local fallback. Every call has a deadline (the
 * smaller of llm_timeout and the request's budget) that the plugin is asked
 * to honour, and a guard timer at the same instant that cancels the call if
 * it did not: a plugin bug can cost one deadline, never hang a request.
 *
 * A failure before any text reached the client moves on to the next
 * provider. A failure after text was forwarded asks the next provider to
 * continue the partial answer, so the client still sees one stream; with no
 * provider left the chat ends in an error that says the answer was cut off,
 * never as a success.
 *
 * Circuit breaker: failures that say something about the provider's health
 * count (timeout, unavailable, rate limited, upstream error); RK_ERR_INVALID
 * and RK_ERR_AUTH are about this request or its configuration, so they fall
 * back without counting, and neither does a cancel. When every circuit is
 * open the chain tries them all anyway: refusing without trying would turn
 * a partial outage into a total one.
 *
 * Upstreams are not trusted: an answer past pipeline.max_answer_bytes ends
 * the chat with an error, and what a client is told about a failure is
 * the host's words per provider (chat_reason), never the provider's text,
 * which goes to the log. Flow control: while the transport says its client
 * is full (the chat service's chat_flow), the running attempt's provider is asked to
 * stop reading its upstream (rk_llm_vtable.pause), and so is each new one.
 */
#include "llmchain.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "prompt.h"

static void on_delta(void *ud, const char *text, size_t len);
static void on_done(void *ud, int status, const rk_llm_result *res, const char *msg);
static const rk_llm_sink SINK = {sizeof(rk_llm_sink), on_delta, on_done};

/* ---- planning -------------------------------------------------------- */

typedef struct model_probe {
    const char *want; /* NULL: keep the first id instead */
    int listed;
    char *first;
} model_probe;

static void probe_one(void *ud, const char *id)
{
    model_probe *p = ud;
    if (!id) return;
    if (!p->want && !p->first) p->first = strdup(id);
    if (p->want && strcmp(id, p->want) == 0) p->listed = 1;
}

static model_probe probe(pl_llm *l, const char *want)
{
    model_probe p = {.want = want};
    l->vt->models(l->inst->ctx, probe_one, &p);
    return p;
}

static int plan(rk_chat *ch)
{
    pipeline *pl = ch->pl;
    llm_chain *c = &ch->llm;
    int64_t now = clock_now_ms();
    /* order and model_arg share one block (freed with order); listed is
     * scratch, on the stack for any chain a config would name */
    int small[16], *listed = pl->n_llm <= 16 ? small : calloc(pl->n_llm, sizeof *listed);
    c->order = calloc(pl->n_llm, sizeof *c->order + sizeof *c->model_arg);
    if (!listed || !c->order) {
        if (listed != small) free(listed);
        return -1;
    }
    c->model_arg = (const char **)(c->order + pl->n_llm);
    c->all_open = 1;
    for (size_t i = 0; i < pl->n_llm; i++) {
        listed[i] = ch->model ? probe(&pl->llm[i], ch->model).listed : 0;
        if (!breaker_is_open(&pl->llm[i].br, now)) c->all_open = 0;
    }
    for (int pass = 0; pass < 2; pass++) /* those naming the model first */
        for (size_t i = 0; i < pl->n_llm; i++) {
            if (listed[i] != (pass == 0)) continue;
            c->model_arg[c->n_order] = listed[i] ? ch->model : NULL;
            c->order[c->n_order++] = i;
        }
    if (listed != small) free(listed);
    return 0;
}

/* ---- outcomes -------------------------------------------------------- */

static int counts_for_breaker(int status)
{
    return rk_status_retryable(status) || status == RK_ERR_UPSTREAM;
}

static void add_error(llm_chain *c, const char *name, const char *reason)
{
    sb_printf(&c->errors, "%s%s: %s", c->errors.len ? "; " : "", name, reason);
}

static void attempt_failed(rk_chat *ch, pl_llm *l, int status,
                           const rk_llm_result *res, const char *msg)
{
    llm_chain *c = &ch->llm;
    int64_t now = clock_now_ms();
    metrics_observe(l->m_latency, (double)(now - c->t_attempt) / 1000.0);
    metrics_add(status == RK_ERR_TIMEOUT ? l->m_timeout : l->m_error, 1);
    c->n_failed++;
    c->last_status = status;
    if (status == RK_ERR_TIMEOUT) c->n_timeout++;
    if (status == RK_ERR_RATE_LIMITED) {
        c->n_ratelimited++;
        int64_t ra = res ? res->retry_after_ms : 0;
        if (ra > 0 && (c->retry_after_ms == 0 || ra < c->retry_after_ms)) c->retry_after_ms = ra;
    }
    if (counts_for_breaker(status) && breaker_failure(&l->br, now)) {
        metrics_add(l->m_opens, 1);
        metrics_set(l->m_breaker, 1);
        log_warn(l->inst->name, "circuit open for %lld ms after %d consecutive failures",
                 (long long)l->br.cooldown_ms, l->br.threshold);
    }
    char why[96]; /* the client's version; the log has the plugin's */
    add_error(c, l->inst->name, chat_reason(status, res ? res->http_status : 0, why, sizeof why));
    log_info(l->inst->name, "LLM call failed (%s) after %lld ms%s (request %s)",
             msg && *msg ? msg : rk_strerror(status), (long long)(now - c->t_attempt),
             ch->answer.len ? ", mid-stream" : "", ch->request_id ? ch->request_id : "-");
}

static void observe_stage(rk_chat *ch)
{
    metrics_observe(ch->pl->m.stage_llm, (double)(clock_now_ms() - ch->llm.t_chain) / 1000.0);
}

static void attempt_ok(rk_chat *ch, pl_llm *l, const rk_llm_result *res)
{
    llm_chain *c = &ch->llm;
    c->answered_by = l;
    c->answer_call_ms = clock_now_ms() - c->t_attempt;
    metrics_observe(l->m_latency, (double)c->answer_call_ms / 1000.0);
    metrics_add(l->m_ok, 1);
    breaker_success(&l->br);
    metrics_set(l->m_breaker, 0);
    if (res) {
        c->usage.prompt_tokens += res->usage.prompt_tokens;
        c->usage.completion_tokens += res->usage.completion_tokens;
    }
    free(ch->finish_reason);
    ch->finish_reason = strdup(res && res->finish_reason ? res->finish_reason : "stop");
    observe_stage(ch);
    rk_chat_result r = {.struct_size = sizeof r, .status = RK_OK, .http_status = 200,
                        .finish_reason = ch->finish_reason ? ch->finish_reason : "stop",
                        .usage = c->usage};
    chat_finish(ch, &r);
}

/* Nothing left to try: the error the client gets. */
static void chain_failed(rk_chat *ch)
{
    llm_chain *c = &ch->llm;
    int late = clock_now_ms() >= ch->deadline;
    const char *errs = c->errors.len ? sb_str(&c->errors) : "no time left in the request's budget";
    const char *rid = ch->request_id ? ch->request_id : "-";
    observe_stage(ch);
    if (ch->answer.len > 0) {
        int timeout = c->last_status == RK_ERR_TIMEOUT || late;
        chat_fail(ch, timeout ? RK_ERR_TIMEOUT : RK_ERR_UPSTREAM, timeout ? 504 : 502,
                       timeout ? "timeout" : "upstream_error", NULL, 0,
                       "the answer was cut off after %zu bytes: %s (request %s)", ch->answer.len,
                       errs, rid);
    } else if (c->n_failed > 0 && c->n_ratelimited == c->n_failed && !late) {
        chat_fail(ch, RK_ERR_RATE_LIMITED, 429, "rate_limit_error",
                       "rate_limit_exceeded", c->retry_after_ms,
                       "all LLM providers are rate limited: %s (request %s)", errs, rid);
    } else if (c->n_timeout > 0 || late) {
        chat_fail(ch, RK_ERR_TIMEOUT, 504, "upstream_timeout", NULL, 0,
                       "all LLM providers failed: %s (request %s)", errs, rid);
    } else {
        chat_fail(ch, RK_ERR_UPSTREAM, 502, "upstream_error", NULL, 0,
                       "all LLM providers failed: %s (request %s)", errs, rid);
    }
}

/* ---- attempts -------------------------------------------------------- */

static void attempt_next(rk_chat *ch);

static void stop_running(rk_chat *ch, int cancel_call)
{
    llm_chain *c = &ch->llm;
    if (c->guard) {
        loop_timer_cancel(ch->loop, c->guard);
        c->guard = NULL;
    }
    if (cancel_call && c->running && c->call) c->cur->vt->cancel(c->cur->inst->ctx, c->call);
    c->running = 0;
    c->call = NULL;
}

static void guard_fired(void *ud)
{
    rk_chat *ch = ud;
    llm_chain *c = &ch->llm;
    c->guard = NULL;
    if (!c->running || ch->finished) return;
    pl_llm *l = c->cur;
    char msg[64];
    snprintf(msg, sizeof msg, "timed out after %lld ms",
             (long long)(clock_now_ms() - c->t_attempt));
    stop_running(ch, 1);
    attempt_failed(ch, l, RK_ERR_TIMEOUT, NULL, msg);
    attempt_next(ch);
}

/* The answer passed pipeline.max_answer_bytes: a hostile or runaway
 * upstream. Stop it (from inside its own callback: the contract allows
 * cancel there) and end the chat with an error, not a truncated answer. */
static void answer_too_large(rk_chat *ch)
{
    llm_chain *c = &ch->llm;
    pl_llm *l = c->cur;
    long long cap = (long long)ch->pl->max_answer_bytes;
    stop_running(ch, 1);
    metrics_add(l->m_error, 1);
    observe_stage(ch);
    log_warn(l->inst->name, "answer passed pipeline.max_answer_bytes (%lld bytes); cut off "
             "(request %s)", cap, ch->request_id ? ch->request_id : "-");
    chat_fail(ch, RK_ERR_TOO_LARGE, 502, "upstream_error", "answer_too_large", 0,
                   "the answer passed pipeline.max_answer_bytes (%lld bytes) and was cut off "
                   "(request %s)", cap, ch->request_id ? ch->request_id : "-");
}

static void on_delta(void *ud, const char *text, size_t len)
{
    rk_chat *ch = ud;
    if (!ch->llm.running || ch->finished) return; /* after cancel: a plugin bug */
    int64_t cap = ch->pl->max_answer_bytes;
    if (cap > 0 && len > (size_t)cap - ch->answer.len) {
        answer_too_large(ch);
        return;
    }
    chat_emit_delta(ch, text, len);
}

static void on_done(void *ud, int status, const rk_llm_result *res, const char *msg)
{
    rk_chat *ch = ud;
    llm_chain *c = &ch->llm;
    if (!c->running || ch->finished) return;
    pl_llm *l = c->cur;
    stop_running(ch, 0);
    if (status == RK_OK) {
        attempt_ok(ch, l, res);
        return;
    }
    attempt_failed(ch, l, status, res, msg);
    attempt_next(ch);
}

/* The messages of this attempt: the prompt, or after a cut stream the
 * prompt plus the partial answer and a request to continue it. */
static const rk_message *attempt_messages(rk_chat *ch, size_t *n)
{
    llm_chain *c = &ch->llm;
    *n = ch->n_prompt;
    if (ch->answer.len == 0) return ch->prompt;
    free(c->cont);
    free(c->cont_partial);
    c->cont = NULL;
    c->cont_partial = strdup(sb_str(&ch->answer));
    if (c->cont_partial) c->cont = prompt_continuation(ch->prompt, ch->n_prompt, c->cont_partial, n);
    return c->cont;
}

/* Until meta went out, name the model of the provider about to answer. */
static void set_answer_model(rk_chat *ch, pl_llm *l, const char *model_arg)
{
    if (ch->meta_sent) return;
    model_probe p = {0};
    if (!model_arg) p = probe(l, NULL);
    char *m = model_arg ? strdup(model_arg) : p.first ? p.first : strdup(l->inst->name);
    if (m != p.first) free(p.first);
    if (!m) return;
    free(ch->llm.answer_model);
    ch->llm.answer_model = m;
}

static int attempt_start(rk_chat *ch, pl_llm *l, const char *model_arg)
{
    llm_chain *c = &ch->llm;
    pipeline *pl = ch->pl;
    int64_t now = clock_now_ms();
    int64_t dl = now + pl->llm_timeout < ch->deadline ? now + pl->llm_timeout : ch->deadline;
    size_t n = 0;
    const rk_message *msgs = attempt_messages(ch, &n);
    c->t_attempt = now;
    if (!msgs) {
        attempt_failed(ch, l, RK_ERR_NOMEM, NULL, "out of memory");
        return -1;
    }
    set_answer_model(ch, l, model_arg);
    c->req = (rk_llm_request){
        .struct_size = sizeof c->req, .request_id = ch->request_id, .model = model_arg,
        .messages = msgs, .n_messages = n, .passages = ch->pass.v,
        .n_passages = ch->pass.n, .temperature = ch->temperature,
        .max_tokens = ch->max_tokens, .deadline_ms = dl,
        .first_token_ms = pl->first_token_timeout, .idle_ms = pl->inter_chunk_timeout};
    c->cur = l;
    c->cur_model_arg = model_arg;
    c->running = 1;
    c->call = NULL;
    c->attempt_deadline = dl;
    unsigned seq = ++c->seq;
    rk_err err = {{0}};
    rk_llm_call *call = NULL;
    int rc = l->vt->complete(l->inst->ctx, &c->req, &SINK, ch, &call, &err);
    if (rc != RK_OK) {
        c->running = 0;
        attempt_failed(ch, l, rc, NULL, err.msg);
        return -1;
    }
    if (c->seq != seq || !c->running) return 0; /* answered inside complete() */
    c->call = call;
    c->guard = loop_timer_start(ch->loop, dl > now ? dl - now : 0, guard_fired, ch);
    if (ch->flow_paused) llmchain_flow(ch); /* the client is still full */
    return 0;
}

static void attempt_next(rk_chat *ch)
{
    llm_chain *c = &ch->llm;
    while (!ch->finished && c->pos < c->n_order) {
        int64_t now = clock_now_ms();
        if (now >= ch->deadline) break;
        pl_llm *l = &ch->pl->llm[c->order[c->pos]];
        const char *model_arg = c->model_arg[c->pos];
        c->pos++;
        if (!c->all_open && !breaker_acquire(&l->br, now)) {
            add_error(c, l->inst->name, "circuit open");
            continue;
        }
        if (c->n_failed > 0) metrics_add(ch->pl->m.fallbacks, 1);
        if (attempt_start(ch, l, model_arg) == 0) return;
    }
    if (!ch->finished) chain_failed(ch);
}

void llmchain_start(rk_chat *ch)
{
    ch->llm.t_chain = clock_now_ms();
    if (plan(ch) < 0) {
        chat_fail(ch, RK_ERR_NOMEM, 500, "server_error", NULL, 0, "out of memory");
        return;
    }
    attempt_next(ch);
}

void llmchain_abort(rk_chat *ch) { stop_running(ch, 1); }

void llmchain_deadline(rk_chat *ch)
{
    llm_chain *c = &ch->llm;
    if (ch->finished) return;
    if (c->running) {
        pl_llm *l = c->cur;
        char msg[96];
        snprintf(msg, sizeof msg, "timed out after %lld ms (request deadline)",
                 (long long)(clock_now_ms() - c->t_attempt));
        stop_running(ch, 1);
        attempt_failed(ch, l, RK_ERR_TIMEOUT, NULL, msg);
    }
    c->pos = c->n_order;
    chain_failed(ch);
}

/* ---- flow control (the chat service's chat_flow) ---------------------------------- */

void llmchain_flow(rk_chat *ch)
{
    llm_chain *c = &ch->llm;
    if (!c->running || !c->call || ch->finished) return;
    const rk_llm_vtable *vt = c->cur->vt;
    if (RK_HAS_FIELD(vt, rk_llm_vtable, pause) && vt->pause)
        vt->pause(c->cur->inst->ctx, c->call, ch->flow_paused);
}

typedef struct flow_job {
    rk_chat *ch;
    int pause;
    unsigned gen;
} flow_job;

static void flow_apply(rk_chat *ch, int pause)
{
    if (ch->finished || !pause == !ch->flow_paused) return;
    ch->flow_paused = pause != 0;
    llmchain_flow(ch);
}

static void flow_cb(void *ud)
{
    flow_job *f = ud;
    /* a later call overtook this one (applied inline): it decides */
    if (f->gen == atomic_load(&f->ch->flow_gen)) flow_apply(f->ch, f->pause);
    chat_unref(f->ch);
    free(f);
}

/* A pause on the chat's own loop (the transport's on_delta) applies at
 * once, before the upstream client reads on; a resume is always posted,
 * because resuming may deliver buffered bytes to the transport at once,
 * and the transport calls this holding the lock its on_delta takes. */
void pipeline_chat_flow(rk_chat *ch, int pause)
{
    if (!ch || ch->kind != CHAT_KIND_CHAT) return;
    unsigned gen = atomic_fetch_add(&ch->flow_gen, 1) + 1;
    if (pause && loop_current() == ch->loop) {
        flow_apply(ch, 1);
        return;
    }
    flow_job *f = malloc(sizeof *f);
    if (!f) return; /* advisory: the answer cap still bounds the buffers */
    *f = (flow_job){ch, pause, gen};
    chat_ref(ch);
    if (loop_post(ch->loop, flow_cb, f) != RK_OK) {
        chat_unref(ch);
        free(f);
    }
}

int llmchain_answerable(pipeline *pl)
{
    int64_t now = clock_now_ms();
    int any = pl->n_llm == 0;
    for (size_t i = 0; i < pl->n_llm; i++) {
        int st = breaker_state(&pl->llm[i].br, now);
        metrics_set(pl->llm[i].m_breaker, st);
        if (st != 1) any = 1;
    }
    return any;
}
