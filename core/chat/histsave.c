/*
 * histsave — owns the store-then-answer step of conversation chats. The
 * history append used to run after on_done, off the request path, so a
 * turn lost to a full disk or a damaged database still answered 200 and
 * nobody could tell (seen: 47 of 52 turns lost, one warn line each). The
 * append is one small write, so the answer now waits for it: the worker
 * stores the turn, the loop sends on_done with the outcome, and the slow
 * part (compaction) still runs afterwards, off the request path. The
 * result's strings belong to the chat (its answer, model, finish reason)
 * and live as long as the reference the job holds.
 */
#define _GNU_SOURCE
#include "histsave.h"

#include <stdlib.h>

#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "pool.h"
#include "registry.h"
#include "stages.h"

typedef struct hsjob {
    rk_chat *ch;
    rk_chat_result res;
    int rc;
} hsjob;

static rk_metric *write_errors(void)
{
    return metrics_get(RK_METRIC_COUNTER, "ragkernel_history_write_errors_total",
                       "Conversation turns that could not be stored", NULL);
}

void histsave_metrics(void) { (void)write_errors(); }

/* Loop: the outcome is known; answer. */
static void deliver(void *ud)
{
    hsjob *j = ud;
    rk_chat *ch = j->ch;
    j->res.history_saved = j->rc == RK_OK ? 1 : -1;
    ch->sink.on_done(ch->ud, &j->res);
    stages_after_success(ch);
    free(j);
    chat_unref(ch);
}

static void record(rk_instance *h, int rc)
{
    if (rc != RK_OK) {
        metrics_add(write_errors(), 1);
        /* a turn the store refuses as such says nothing about the store */
        if (rc == RK_ERR_INVALID || rc == RK_ERR_TOO_LARGE) return;
        if (!atomic_exchange(&h->write_failing, 1))
            log_error(h->name, "storing conversation turns fails; /ready reports it "
                      "until a write succeeds again");
    } else if (atomic_exchange(&h->write_failing, 0)) {
        log_info(h->name, "storing conversation turns works again");
    }
}

/* Worker: store the turn, hand the answer back to the loop, then compact. */
static void save_run(void *ud)
{
    hsjob *j = ud;
    rk_chat *ch = j->ch;
    j->rc = stages_history_append(ch);
    record(ch->pl->history, j->rc);
    int compact = j->rc == RK_OK && stages_history_compact_due(ch);
    if (compact) chat_ref(ch);
    if (loop_post(ch->loop, deliver, j) != RK_OK) deliver(j); /* loop gone: answer anyway */
    if (compact) {
        stages_history_compact(ch);
        chat_unref(ch);
    }
}

int histsave_start(rk_chat *ch, const rk_chat_result *res)
{
    if (!ch->pl->history || !ch->conv_id || ch->cache_hit) return 0;
    hsjob *j = malloc(sizeof *j);
    if (!j) { /* cannot even try: say so */
        rk_chat_result r = *res;
        r.history_saved = -1;
        record(ch->pl->history, RK_ERR_NOMEM);
        ch->sink.on_done(ch->ud, &r);
        return 1;
    }
    *j = (hsjob){.ch = ch, .res = *res};
    chat_ref(ch);
    if (pool_submit(ch->pl->pool, save_run, j) != RK_OK) {
        j->rc = RK_ERR_UNAVAILABLE;
        record(ch->pl->history, j->rc);
        deliver(j);
    }
    return 1;
}
