/*
 * stages — the pool-side half of a chat. Cache, history and retriever
 * plugins block, so each call runs as a job on the worker pool; the job
 * holds a chat reference and posts its result back to the loop, where it
 * is applied only if the chat is still waiting for that very stage
 * (stage_seq): a result that arrives after a stage deadline, a cancel or
 * the end of the chat is dropped, never applied to a later stage. Failures
 * here degrade instead of failing the request: a broken cache is a miss, a
 * broken history store means no history, a slow or broken retriever means
 * an answer without passages. This file has the job runner (stages_impl.h),
 * the answer cache and retrieval; stages_history.c the conversation stages.
 */
#define _GNU_SOURCE
#include "stages.h"
#include "stages_impl.h"

#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "log.h"
#include "metrics.h"
#include "docver.h"
#include "pcache.h"
#include "singleflight.h"
#include "prompt.h"


static void sjob_free(sjob *j)
{
    for (size_t i = 0; i < j->n_msgs; i++) {
        free((char *)j->msgs[i].role);
        free((char *)j->msgs[i].content);
    }
    free(j->msgs);
    sb_free(&j->value);
    passvec_free(&j->pass);
    chat_unref(j->ch);
    free(j);
}

static void job_back(void *ud)
{
    sjob *j = ud;
    if (!j->ch->finished && j->ch->stage_seq == j->seq) j->done(j);
    sjob_free(j);
}

static void job_run(void *ud)
{
    sjob *j = ud;
    if (atomic_load(&j->ch->abandoned))
        j->status = RK_ERR_CANCELLED; /* nobody waits: skip the call */
    else
        j->work(j);
    if (loop_post(j->ch->loop, job_back, j) != RK_OK) sjob_free(j);
}

sjob *stages__job_new(rk_chat *ch, void (*work)(sjob *), void (*done)(sjob *))
{
    sjob *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->ch = ch;
    j->seq = ch->stage_seq;
    j->work = work;
    j->done = done;
    chat_ref(ch);
    return j;
}

/* An instance that promises never to wait (RK_PLUGIN_NONBLOCKING) is
 * called on the loop itself: a worker hop costs more than the call. */
int stages__runs_inline(const rk_instance *inst)
{
    return inst && (inst->plugin->flags & RK_PLUGIN_NONBLOCKING) && loop_current();
}

/* Run j on a worker, or right here when `here` (its done still comes on a
 * later step of this loop's turn, as it would from a worker). */
int stages__job_submit(sjob *j, int here)
{
    if (here) {
        job_run(j);
        return 0;
    }
    if (pool_submit(j->ch->pl->pool, job_run, j) == RK_OK) return 0;
    sjob_free(j);
    return -1;
}

/* ---- cache helpers (worker threads) ------------------------------------- */

static void on_cache_value(void *ud, const void *data, size_t len)
{
    sjob *j = ud;
    sb_append(&j->value, data, len);
    j->hit = !j->value.oom;
}

/* A cache is an optimisation: the first error of an outage is a warning,
 * the rest are debug lines until the cache works again. */
static void cache_error(pipeline *pl, const char *op, int rc, const char *msg)
{
    metrics_add(pl->m.cache_errors, 1);
    int quiet = atomic_exchange(&pl->cache_quiet, 1);
    log_emit(quiet ? RK_LOG_DEBUG : RK_LOG_WARN, pl->cache->name,
             "cache %s failed (%s): %s; carrying on without the cache", op,
             rk_strerror(rc), msg[0] ? msg : "no details");
}

/* get into j->value; returns 1 on a hit, 0 on a miss or an error. */
static int cache_get(pipeline *pl, sjob *j)
{
    rk_err err = {{0}};
    int rc = GATE_CALL(pl->cache, rk_cache_vtable, get, RK_ERR_UNSUPPORTED, j->key,
                       strlen(j->key), on_cache_value, j, &err);
    if (rc == RK_OK || rc == RK_ERR_NOT_FOUND) {
        atomic_store(&pl->cache_quiet, 0);
    } else {
        cache_error(pl, "get", rc, err.msg);
    }
    if (rc != RK_OK || !j->hit) {
        sb_free(&j->value);
        j->hit = 0;
    }
    return j->hit;
}

static void cache_set(pipeline *pl, const char *key, const char *data, size_t len)
{
    rk_err err = {{0}};
    int rc = GATE_CALL(pl->cache, rk_cache_vtable, set, RK_ERR_UNSUPPORTED, key, strlen(key),
                       data, len, pl->cache_ttl, &err);
    if (rc == RK_OK)
        atomic_store(&pl->cache_quiet, 0);
    else
        cache_error(pl, "set", rc, err.msg);
}

/* ---- answer-cache lookup ----------------------------------------------- */

/* The tenant's documents version, read once per chat (worker thread). */
static const char *chat_docver(rk_chat *ch)
{
    if (!ch->docver_read) {
        docver_read(ch->pl->cache, ch->tenant, ch->docver);
        ch->docver_read = 1;
    }
    return ch->docver;
}

static void lookup_work(sjob *j)
{
    rk_chat *ch = j->ch;
    pcache_answer_key(j->key, ch->tenant, ch->model, ch->msgs, ch->n_msgs, ch->temperature,
                      ch->max_tokens, ch->retrieve, chat_docver(ch));
    cache_get(ch->pl, j);
}

static void serve_cached(rk_chat *ch, pcache_answer *a)
{
    passvec_free(&ch->pass);
    ch->pass = a->sources;
    memset(&a->sources, 0, sizeof a->sources);
    free(ch->llm.answer_model);
    ch->llm.answer_model = a->model[0] ? strdup(a->model) : NULL;
    ch->cache_hit = 1;
    chat_emit_meta(ch);
    chat_emit_delta(ch, a->answer, strlen(a->answer));
    rk_chat_result res = {.struct_size = sizeof res, .status = RK_OK,
                          .http_status = 200, .finish_reason = a->finish_reason};
    chat_finish(ch, &res);
}

/* ---- single flight: identical uncached requests wait for one answer ---- */

typedef struct flight_wake {
    rk_chat *ch;
    char *data; /* the leader's answer entry, or NULL: compute it yourself */
    size_t len;
} flight_wake;

static void flight_resume(void *ud)
{
    flight_wake *w = ud;
    rk_chat *ch = w->ch;
    pcache_answer a;
    if (!ch->finished) {
        if (w->data && pcache_answer_decode(w->data, w->len, &a) == 0) {
            metrics_add(ch->pl->m.cache_hits, 1);
            serve_cached(ch, &a);
            pcache_answer_free(&a);
        } else {
            chat_advance(ch);
        }
    }
    free(w->data);
    free(w);
    chat_unref(ch);
}

/* Runs on the leader's thread; the waiter continues on the loop. */
static void flight_wake_fn(void *ud, const void *data, size_t len)
{
    flight_wake *w = calloc(1, sizeof *w);
    rk_chat *ch = ud;
    if (w) w->ch = ch;
    if (w && data && (w->data = malloc(len ? len : 1))) {
        memcpy(w->data, data, len);
        w->len = len;
    }
    if (!w || loop_post(ch->loop, flight_resume, w) != RK_OK) {
        free(w ? w->data : NULL);
        free(w);
        chat_unref(ch); /* shutting down: the total deadline ends the chat */
    }
}

/* 1: parked behind a leader (holding a reference); 0: go on (leading). */
static int flight_join(rk_chat *ch, const char *key)
{
    chat_ref(ch);
    int rc = sflight_join(ch->pl->flights, key, flight_wake_fn, ch);
    if (rc == 1) return 1;
    chat_unref(ch);
    if (rc == 0) ch->flight_key = strdup(key);
    return 0;
}

void stages_flight_done(rk_chat *ch, int status)
{
    if (!ch->flight_key) return;
    size_t len = 0;
    char *data = status == RK_OK
                     ? pcache_answer_encode(sb_str(&ch->answer), ch->llm.answer_model,
                                            ch->finish_reason, ch->pass.v, ch->pass.n, &len)
                     : NULL;
    sflight_leave(ch->pl->flights, ch->flight_key, data, len);
    free(data);
    free(ch->flight_key);
    ch->flight_key = NULL;
}

static void lookup_done(sjob *j)
{
    rk_chat *ch = j->ch;
    pcache_answer a;
    if (j->hit && pcache_answer_decode(j->value.s, j->value.len, &a) == 0) {
        metrics_add(ch->pl->m.cache_hits, 1);
        serve_cached(ch, &a);
        pcache_answer_free(&a);
        return;
    }
    metrics_add(ch->pl->m.cache_misses, 1);
    if (flight_join(ch, j->key)) return; /* an identical request is computing it */
    chat_advance(ch);
}

int stages_cache_lookup(rk_chat *ch)
{
    if (!ch->pl->cache || chat_has_conversation(ch)) return -1;
    sjob *j = stages__job_new(ch, lookup_work, lookup_done);
    if (!j) return -1;
    return stages__job_submit(j, stages__runs_inline(ch->pl->cache));
}

/* ---- retrieval ---------------------------------------------------------- */

static void on_hit(void *ud, const rk_passage *p)
{
    sjob *j = ud;
    if (j->pass.n < j->k && passvec_push(&j->pass, p) < 0) j->status = RK_ERR_NOMEM;
}

static int search(rk_chat *ch, sjob *j)
{
    rk_instance *r = ch->pl->retriever;
    rk_query q = {.struct_size = sizeof q, .tenant = ch->tenant, .text = j->query,
                  .k = j->k, .deadline_ms = j->deadline, .fast = j->fast};
    int rc = GATE_CALL(r, rk_retriever_vtable, search, RK_ERR_UNSUPPORTED, &q, on_hit, j, &j->err);
    if (rc >= 0 && j->status != RK_OK) rc = j->status;
    if (rc < 0) passvec_free(&j->pass);
    return rc < 0 ? rc : RK_OK;
}

static void retrieve_work(sjob *j)
{
    pipeline *pl = j->ch->pl;
    if (pl->cache) {
        pcache_retrieve_key(j->key, j->ch->tenant, j->query, j->k, j->fast,
                            chat_docver(j->ch));
        if (cache_get(pl, j) &&
            pcache_passages_decode(j->value.s, j->value.len, &j->pass) == 0)
            return;
    }
    j->status = search(j->ch, j);
    j->store = pl->cache && j->status == RK_OK;
}

static void retrieve_observe(rk_chat *ch)
{
    metrics_observe(ch->pl->m.stage_retrieve, (double)(clock_now_ms() - ch->t_stage) / 1000.0);
}

static void retrieve_done(sjob *j)
{
    rk_chat *ch = j->ch;
    if (ch->stage_timer) {
        loop_timer_cancel(ch->loop, ch->stage_timer);
        ch->stage_timer = NULL;
    }
    retrieve_observe(ch);
    if (j->status != RK_OK) {
        metrics_add(ch->pl->m.retrieval_errors, 1);
        log_warn(ch->pl->retriever->name, "retrieval failed (%s): %s; answering without passages",
                 rk_strerror(j->status), j->err.msg);
    } else {
        passvec_free(&ch->pass);
        ch->pass = j->pass;
        memset(&j->pass, 0, sizeof j->pass);
    }
    chat_advance(ch);
}

/* The cache store of a fresh retrieval result runs after the result went
 * back to the loop, so a slow cache never delays the answer. */
static void retrieve_run(void *ud)
{
    sjob *j = ud;
    rk_chat *ch = j->ch;
    if (atomic_load(&ch->abandoned)) {
        j->status = RK_ERR_CANCELLED;
    } else {
        j->work(j);
    }
    size_t len = 0;
    char *data = j->store ? pcache_passages_encode(j->pass.v, j->pass.n, &len) : NULL;
    char key[PCACHE_KEY_MAX];
    memcpy(key, j->key, sizeof key);
    chat_ref(ch); /* keeps pl (and the cache instance) alive for the store */
    if (loop_post(ch->loop, job_back, j) != RK_OK) sjob_free(j);
    if (data) cache_set(ch->pl, key, data, len);
    free(data);
    chat_unref(ch);
}

static void retrieve_timeout(void *ud)
{
    rk_chat *ch = ud;
    ch->stage_timer = NULL;
    if (ch->finished || ch->stage != ST_RETRIEVE) return;
    retrieve_observe(ch);
    metrics_add(ch->pl->m.retrieval_timeouts, 1);
    log_warn(ch->pl->retriever->name,
             "retrieval timed out after %lld ms; answering without passages (request %s)",
             (long long)(clock_now_ms() - ch->t_stage), ch->request_id ? ch->request_id : "-");
    chat_advance(ch); /* bumps stage_seq: the late result is dropped */
}

int stages_retrieve(rk_chat *ch)
{
    pipeline *pl = ch->pl;
    const char *q = chat_query(ch);
    if (!pl->retriever || !ch->retrieve || !q || !q[strspn(q, " \t\r\n")]) return -1;
    sjob *j = stages__job_new(ch, retrieve_work, retrieve_done);
    if (!j) return -1;
    j->query = q;
    j->fast = prompt_is_simple(q, (int)pl->fast_max_words);
    j->k = (size_t)(j->fast ? pl->fast_top_k : pl->top_k);
    int64_t now = clock_now_ms();
    int64_t tmo = j->fast ? pl->fast_retrieval_timeout : pl->retrieval_timeout;
    j->deadline = now + tmo < ch->deadline ? now + tmo : ch->deadline;
    if (pool_submit(pl->pool, retrieve_run, j) != RK_OK) {
        sjob_free(j);
        return -1;
    }
    ch->stage_timer = loop_timer_start(ch->loop, j->deadline > now ? j->deadline - now : 0,
                                       retrieve_timeout, ch);
    return 0;
}

/* ---- after the answer: cache store, history append, compaction ---------- */

typedef struct bgjob {
    rk_chat *ch;
    void (*work)(rk_chat *ch);
} bgjob;

static void bg_run(void *ud)
{
    bgjob *b = ud;
    b->work(b->ch);
    chat_unref(b->ch);
    free(b);
}

static void bg_submit(rk_chat *ch, void (*work)(rk_chat *ch), const rk_instance *inst)
{
    if (stages__runs_inline(inst)) {
        work(ch);
        return;
    }
    bgjob *b = malloc(sizeof *b);
    if (!b) return;
    b->ch = ch;
    b->work = work;
    chat_ref(ch);
    if (pool_submit(ch->pl->pool, bg_run, b) != RK_OK) {
        chat_unref(ch);
        free(b);
    }
}

static void store_answer(rk_chat *ch)
{
    char key[PCACHE_KEY_MAX];
    size_t len = 0;
    char *data = pcache_answer_encode(sb_str(&ch->answer), ch->llm.answer_model,
                                      ch->finish_reason, ch->pass.v, ch->pass.n, &len);
    if (!data) return; /* OOM or text that is not UTF-8: just not cached */
    pcache_answer_key(key, ch->tenant, ch->model, ch->msgs, ch->n_msgs,
                      ch->temperature, ch->max_tokens, ch->retrieve, chat_docver(ch));
    cache_set(ch->pl, key, data, len);
    free(data);
}

void stages_after_success(rk_chat *ch)
{
    pipeline *pl = ch->pl;
    if (pl->cache && !chat_has_conversation(ch)) bg_submit(ch, store_answer, pl->cache);
}
