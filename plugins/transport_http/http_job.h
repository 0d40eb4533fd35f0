/*
 * http_job — the part every "host call that reports back" request shares:
 * the outcome the host's on_done leaves (hjob), suspending before the call,
 * recording a call the host refused at once, waiting when resumed too
 * early, and the error answer built from the outcome.
 *
 * A module's job struct starts with an hjob, so r->job is an hjob * as
 * well: that lets hjob_on_done serve directly as an rk_doc_sink or
 * rk_conv_sink on_done. The hjob's strings are its own (hjob_clear frees
 * them); the job struct around it stays the module's. hjob_suspend and
 * hjob_resume do not look at the job, so a job with an outcome of its own
 * (a chat's) uses them as well.
 */
#ifndef RK_HTTP_JOB_H
#define RK_HTTP_JOB_H

#include <stddef.h>

#include <jansson.h>
#include <microhttpd.h>

#include "http_req.h"

typedef struct hjob {
    int done; /* on_done came (or the host refused the call) */
    int rc;   /* rk_status of the call */
    int http; /* the host's suggested HTTP status, 0 = none */
    int oom;  /* something the answer needs was lost to a failed allocation */
    char *msg, *next; /* on_done's message and list cursor, owned */
} hjob;

/* Frees o's strings (not o). */
void hjob_clear(hjob *o);

/* Any thread, r->mu NOT held; ud is the http_req whose job starts with an
 * hjob. Records the outcome, ends the async call and frees r when MHD was
 * done with it already. The on_done of rk_doc_sink and rk_conv_sink. */
void hjob_on_done(void *ud, int status, int http_status, const char *message,
                  const char *next);

/* MHD thread, before the host call: suspend (so a fast on_done finds the
 * connection suspended) and mark the call pending. 0, or -1 with the 503
 * queued in *rc when the server is shutting down. */
int hjob_suspend(http_req *r, enum MHD_Result *rc);

/* MHD thread, after the host call returned st: without RK_OK no on_done
 * follows, so record st with message (or rk_strerror) and resume to answer
 * from the outcome. Returns what the access handler returns. */
enum MHD_Result hjob_called(http_req *r, int st, const char *message);

/* r->mu held, on resume: 1 with *rc set when on_done has not come yet
 * (suspended again, or 503 when the server stops), else 0. */
int hjob_waiting_locked(http_req *r, enum MHD_Result *rc);

/* r->mu held, on resume: 1 with *rc set when the outcome answers by
 * itself: not done yet (as hjob_waiting_locked), failed (the host's status
 * if it is 4xx/5xx, else hr_status_for; 503 carries Retry-After: 2), or
 * out of memory (503). 0: the call succeeded, the module answers. */
int hjob_answered_locked(http_req *r, enum MHD_Result *rc);

/* The resume op around a module's answer_locked: takes r->mu, holds the
 * response until it is released (see http_resp.h). */
enum MHD_Result hjob_resume(http_req *r, enum MHD_Result (*answer_locked)(http_req *r));

/* The cancel op of calls that end by themselves (on_done then frees). */
void hjob_no_cancel(http_req *r);

/* A list page: items holds up to limit + 1 entries (the extra one proves
 * there is more and makes the last id of the page the cursor); else a
 * non-NULL next from the host is the cursor. Takes items. */
enum MHD_Result hjob_send_page(http_req *r, json_t *items, size_t limit, const char *next);

/* ?limit=: 1..max in plain digits. 0, or -1 when s is anything else. */
int hjob_parse_limit(const char *s, size_t max, size_t *out);

#endif
