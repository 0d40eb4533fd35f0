/*
 * summarize — owns one compaction job: transcript -> LLM call (loop thread,
 * guarded by a timer at llm_timeout so a silent provider cannot pin the
 * job) -> replace (worker thread). The chat reference it holds keeps the
 * pipeline, and with it the generation, alive until the replace is done,
 * which is what pipeline_inflight() counts when a generation drains.
 */
#define _GNU_SOURCE
#include "summarize.h"

#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "log.h"
#include "loop.h"
#include "pool.h"
#include "prompt.h"
#include "strbuf.h"

#define TRANSCRIPT_MAX 16384 /* bytes of older conversation sent to the LLM */
#define TRIM_MAX 1024        /* the fallback summary's size (prompt_summary) */

static const char *INSTRUCTIONS =
    "Summarize the conversation below in a few sentences for the assistant's own "
    "memory. Keep names, numbers, decisions and open questions. Write in the "
    "conversation's language. Reply with the summary only.";

typedef struct sum_job {
    rk_chat *ch;
    rk_message *msgs;
    size_t n, older;
    strbuf transcript, text;
    rk_message req_msgs[2];
    rk_llm_request req;
    rk_llm_call *call;
    rk_timer *guard;
    int ok;
} sum_job;

static void job_free(sum_job *j)
{
    for (size_t i = 0; i < j->n; i++) {
        free((char *)j->msgs[i].role);
        free((char *)j->msgs[i].content);
    }
    free(j->msgs);
    sb_free(&j->transcript);
    sb_free(&j->text);
    rk_chat *ch = j->ch;
    free(j);
    chat_unref(ch);
}

/* Worker: write the conversation back as [summary] + the newer messages. */
static void replace_run(void *ud)
{
    sum_job *j = ud;
    rk_instance *h = j->ch->pl->history;
    strbuf summary = {0};
    if (j->ok && j->text.len) {
        sb_puts(&summary, "Summary of earlier conversation: ");
        sb_append(&summary, j->text.s, j->text.len);
    } else {
        char *trim = prompt_summary(j->msgs, j->older, TRIM_MAX);
        if (trim) sb_puts(&summary, trim);
        free(trim);
    }
    size_t keep = j->n - j->older;
    rk_message *out = calloc(keep + 1, sizeof *out);
    rk_err err = {{0}};
    int rc = RK_ERR_NOMEM;
    if (out && !summary.oom && summary.len) {
        out[0] = (rk_message){"system", sb_str(&summary)};
        memcpy(out + 1, j->msgs + j->older, keep * sizeof *out);
        rc = GATE_CALL(h, rk_history_vtable, replace, RK_ERR_UNSUPPORTED, j->ch->tenant,
                       j->ch->conv_id, out, keep + 1, &err);
    }
    if (rc == RK_OK)
        log_info(h->name, "compacted conversation %s: %zu -> %zu messages (%s summary)",
                 j->ch->conv_id, j->n, keep + 1, j->ok ? "LLM" : "trimmed");
    else
        log_warn(h->name, "compacting conversation %s failed: %s", j->ch->conv_id,
                 err.msg[0] ? err.msg : rk_strerror(rc));
    free(out);
    sb_free(&summary);
    job_free(j);
}

static void finish(sum_job *j, int ok)
{
    if (j->guard) loop_timer_cancel(j->ch->pl->loop, j->guard);
    j->guard = NULL;
    j->call = NULL;
    j->ok = ok;
    if (pool_submit(j->ch->pl->pool, replace_run, j) != RK_OK) job_free(j);
}

static void on_delta(void *ud, const char *text, size_t len)
{
    sb_append(&((sum_job *)ud)->text, text, len);
}

static void on_done(void *ud, int status, const rk_llm_result *res, const char *message)
{
    sum_job *j = ud;
    (void)res;
    if (status != RK_OK)
        log_info(j->ch->pl->summarizer->name, "summary for conversation %s failed (%s); "
                 "trimming instead", j->ch->conv_id, message ? message : rk_strerror(status));
    finish(j, status == RK_OK);
}

static const rk_llm_sink SINK = {sizeof SINK, on_delta, on_done};

static void on_guard(void *ud)
{
    sum_job *j = ud;
    const rk_llm_vtable *vt = j->ch->pl->summarizer->plugin->vtable;
    j->guard = NULL;
    if (j->call) vt->cancel(j->ch->pl->summarizer->ctx, j->call);
    finish(j, 0);
}

/* Loop: start the LLM call. */
static void call_run(void *ud)
{
    sum_job *j = ud;
    pipeline *pl = j->ch->pl;
    const rk_llm_vtable *vt = pl->summarizer->plugin->vtable;
    j->req_msgs[0] = (rk_message){"system", INSTRUCTIONS};
    j->req_msgs[1] = (rk_message){"user", sb_str(&j->transcript)};
    j->req = (rk_llm_request){.struct_size = sizeof j->req, .messages = j->req_msgs,
                              .n_messages = 2, .temperature = -1,
                              .deadline_ms = clock_now_ms() + pl->llm_timeout};
    rk_err err = {{0}};
    if (vt->complete(pl->summarizer->ctx, &j->req, &SINK, j, &j->call, &err) != RK_OK) {
        finish(j, 0);
        return;
    }
    j->guard = loop_timer_start(pl->loop, pl->llm_timeout, on_guard, j);
}

void summarize_start(rk_chat *ch, rk_message *msgs, size_t n, size_t older)
{
    sum_job *j = calloc(1, sizeof *j);
    if (!j) return; /* the conversation simply stays long; next answer retries */
    chat_ref(ch);
    *j = (sum_job){.ch = ch, .msgs = msgs, .n = n, .older = older};
    /* the newest older messages that fit: what is left out is the oldest */
    size_t first = older, size = 0;
    while (first > 0) {
        size_t sz = strlen(msgs[first - 1].role) + strlen(msgs[first - 1].content) + 3;
        if (first < older && size + sz > TRANSCRIPT_MAX) break;
        size += sz;
        first--;
    }
    for (size_t i = first; i < older; i++)
        sb_printf(&j->transcript, "%s: %s\n", msgs[i].role, msgs[i].content);
    if (loop_post(ch->pl->loop, call_run, j) != RK_OK) {
        j->ok = 0;
        replace_run(j);
    }
}
