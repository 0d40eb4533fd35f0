/*
 * stages_impl — what the stage files share (stages.c, stages_history.c):
 * a job run on the worker pool for one stage of one chat, whose result is
 * applied on the chat's loop only while the chat still waits for that
 * stage (stage_seq).
 */
#ifndef RK_CORE_STAGES_IMPL_H
#define RK_CORE_STAGES_IMPL_H

#include "chatobj.h"
#include "pcache.h"

typedef struct sjob sjob;
struct sjob {
    rk_chat *ch;
    unsigned seq;
    void (*work)(sjob *j); /* worker thread */
    void (*done)(sjob *j); /* loop thread, only while the stage still waits */
    int status;
    rk_err err;
    char key[PCACHE_KEY_MAX];
    strbuf value;           /* cache get */
    int hit;
    rk_message *msgs;       /* history load: owned */
    size_t n_msgs, cap_msgs;
    passvec pass;           /* retrieval */
    const char *query;
    size_t k;
    int fast, store;
    int64_t deadline;
};

/* A job for ch's current stage (holds a chat reference); NULL on OOM. */
sjob *stages__job_new(rk_chat *ch, void (*work)(sjob *), void (*done)(sjob *));
/* Run j on a worker, or right here when `here`; 0, or -1 (j freed). */
int stages__job_submit(sjob *j, int here);
/* An RK_PLUGIN_NONBLOCKING instance called from a loop thread: run inline. */
int stages__runs_inline(const rk_instance *inst);

#endif
