/*
 * stages_history — the conversation stages of a chat: loading the history
 * before the prompt is built (a pool job, like the other stages), appending
 * the question and answer after it, and compacting a conversation that grew
 * past history_max (summarize.c when a summarizer LLM is configured, else a
 * trimmed summary of first sentences). A history store that fails degrades
 * the chat (no history, an unsaved turn), never fails it.
 */
#define _GNU_SOURCE
#include "stages.h"
#include "stages_impl.h"

#include <stdlib.h>
#include <string.h>

#include "gate.h"
#include "log.h"
#include "metrics.h"
#include "prompt.h"
#include "summarize.h"

#define SUMMARY_MAX_BYTES 1024

/* ---- history load ------------------------------------------------------ */

static int push_msg(sjob *j, const char *role, const char *content)
{
    if (j->n_msgs == j->cap_msgs) {
        size_t cap = j->cap_msgs ? j->cap_msgs * 2 : 16;
        rk_message *m = realloc(j->msgs, cap * sizeof *m);
        if (!m) return -1;
        j->msgs = m;
        j->cap_msgs = cap;
    }
    rk_message *m = &j->msgs[j->n_msgs];
    m->role = strdup(role ? role : "user");
    m->content = strdup(content ? content : "");
    if (!m->role || !m->content) {
        free((char *)m->role);
        free((char *)m->content);
        return -1;
    }
    j->n_msgs++;
    return 0;
}

static void on_history_msg(void *ud, const rk_history_entry *e)
{
    sjob *j = ud;
    if (j->status == RK_OK && push_msg(j, e->role, e->content) < 0)
        j->status = RK_ERR_NOMEM;
}

/* load into j->msgs; max 0 = all. */
static int history_load(rk_chat *ch, sjob *j, size_t max)
{
    rk_instance *h = ch->pl->history;
    int rc = GATE_CALL(h, rk_history_vtable, load, RK_ERR_UNSUPPORTED, ch->tenant, ch->conv_id,
                       max, on_history_msg, j, &j->err);
    if (rc == RK_OK && j->status != RK_OK) rc = j->status;
    return rc == RK_ERR_NOT_FOUND ? RK_OK : rc;
}

static void history_work(sjob *j)
{
    /* compaction keeps a conversation near history_max messages; twice
     * that bounds the prompt even when compaction is behind */
    size_t max = j->ch->pl->history_max > 0 ? (size_t)j->ch->pl->history_max * 2 : 0;
    j->status = history_load(j->ch, j, max);
}

static void history_done(sjob *j)
{
    rk_chat *ch = j->ch;
    if (j->status != RK_OK) {
        metrics_add(ch->pl->m.history_errors, 1);
        log_warn(ch->pl->history->name,
                 "loading conversation %s failed (%s): %s; answering without history",
                 ch->conv_id, rk_strerror(j->status), j->err.msg);
    } else {
        ch->hist = j->msgs;
        ch->n_hist = j->n_msgs;
        j->msgs = NULL;
        j->n_msgs = 0;
    }
    chat_advance(ch);
}

int stages_history_load(rk_chat *ch)
{
    if (!ch->pl->history || !ch->conv_id || ch->conv_fresh) return -1;
    sjob *j = stages__job_new(ch, history_work, history_done);
    return j ? stages__job_submit(j, stages__runs_inline(ch->pl->history)) : -1;
}

/* ---- after the answer: append and compaction ---------------------------- */

/* Replace the older half of a conversation by one trimmed summary message.
 * The summary takes the first sentence of each older message; an LLM-written
 * summary would read better and is a later improvement. A message appended
 * by a concurrent request between load and replace is lost: compaction is
 * best effort for one conversation answered one request at a time. */
static void compact_history(rk_chat *ch)
{
    rk_instance *h = ch->pl->history;
    sjob j = {.ch = ch};
    rk_message *out = NULL;
    char *summary = NULL;
    int rc = history_load(ch, &j, 0);
    if (rc != RK_OK || j.n_msgs <= (size_t)ch->pl->history_max) goto done;
    size_t keep = j.n_msgs / 2 ? j.n_msgs / 2 : 1, older = j.n_msgs - keep;
    if (ch->pl->summarizer) { /* hands the messages over; replaces later */
        summarize_start(ch, j.msgs, j.n_msgs, older);
        return;
    }
    summary = prompt_summary(j.msgs, older, SUMMARY_MAX_BYTES);
    out = calloc(keep + 1, sizeof *out);
    rc = RK_ERR_NOMEM;
    if (!summary || !out) goto done;
    out[0].role = "system";
    out[0].content = summary;
    memcpy(out + 1, j.msgs + older, keep * sizeof *out);
    rc = GATE_CALL(h, rk_history_vtable, replace, RK_ERR_UNSUPPORTED, ch->tenant, ch->conv_id,
                   out, keep + 1, &j.err);
    if (rc == RK_OK)
        log_info(h->name, "compacted conversation %s: %zu -> %zu messages",
                 ch->conv_id, j.n_msgs, keep + 1);
done:
    if (rc != RK_OK) {
        metrics_add(ch->pl->m.history_errors, 1);
        log_warn(h->name, "compacting conversation %s failed (%s): %s", ch->conv_id,
                 rk_strerror(rc), j.err.msg);
    }
    for (size_t i = 0; i < j.n_msgs; i++) {
        free((char *)j.msgs[i].role);
        free((char *)j.msgs[i].content);
    }
    free(j.msgs);
    free(out);
    free(summary);
}

int stages_history_append(rk_chat *ch)
{
    rk_instance *h = ch->pl->history;
    const char *q = chat_query(ch);
    rk_message m[2] = {{"user", q ? q : ""}, {"assistant", sb_str(&ch->answer)}};
    rk_err err = {{0}};
    int rc = GATE_CALL(h, rk_history_vtable, append, RK_ERR_UNSUPPORTED, ch->tenant, ch->conv_id,
                       m, 2, &err);
    if (rc != RK_OK) {
        metrics_add(ch->pl->m.history_errors, 1);
        log_warn(h->name, "appending to conversation %s failed (%s): %s; the answer is "
                 "marked unsaved", ch->conv_id, rk_strerror(rc), err.msg);
    }
    return rc;
}

int stages_history_compact_due(const rk_chat *ch)
{
    return ch->pl->history_max > 0 && ch->n_hist + 2 > (size_t)ch->pl->history_max;
}

void stages_history_compact(rk_chat *ch) { compact_history(ch); }
