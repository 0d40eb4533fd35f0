/*
 * http_job — owns the outcome of a request whose work runs on a host
 * worker and reports back (documents, document status, conversations,
 * API keys), and the steps around it every such module takes the same
 * way: suspend before the call so a fast on_done cannot resume first,
 * record on_done under r->mu, and on resume either wait, answer the
 * failure, or leave the success to the module. One copy, so the lock
 * order and the "whoever comes second frees" rule of http_req.h are
 * kept in one place.
 */
#include "http_job.h"

#include <stdlib.h>
#include <string.h>

#include <ragkernel/ragkernel.h>

#include "http_resp.h"

/* A 503 from a host service (every worker busy, storage unreachable) is
 * worth another try soon: say so with Retry-After. */
#define HJOB_RETRY_AFTER_MS 2000

void hjob_clear(hjob *o)
{
    free(o->msg);
    free(o->next);
    o->msg = o->next = NULL;
}

void hjob_on_done(void *ud, int status, int http_status, const char *message,
                  const char *next)
{
    http_req *r = ud;
    pthread_mutex_lock(&r->mu);
    hjob *o = r->job;
    o->done = 1;
    o->rc = status;
    o->http = http_status;
    o->msg = message ? strdup(message) : NULL;
    o->next = next ? strdup(next) : NULL;
    if (next && !o->next)
        o->oom = 1;
    int free_now = req_async_end_locked(r);
    pthread_mutex_unlock(&r->mu);
    if (free_now)
        req_free(r);
}

int hjob_suspend(http_req *r, enum MHD_Result *rc)
{
    pthread_mutex_lock(&r->mu);
    if (req_suspend_locked(r) < 0) {
        pthread_mutex_unlock(&r->mu);
        *rc = hr_fail(r, 503, NULL, "The server is shutting down");
        return -1;
    }
    r->pending = 1;
    pthread_mutex_unlock(&r->mu);
    return 0;
}

enum MHD_Result hjob_called(http_req *r, int st, const char *message)
{
    if (st == RK_OK)
        return MHD_YES;
    pthread_mutex_lock(&r->mu);
    hjob *o = r->job;
    o->done = 1;
    o->rc = st;
    o->msg = strdup(message && message[0] ? message : rk_strerror(st));
    r->pending = 0;
    req_wake_locked(r);
    pthread_mutex_unlock(&r->mu);
    return MHD_YES;
}

int hjob_waiting_locked(http_req *r, enum MHD_Result *rc)
{
    const hjob *o = r->job;
    if (o->done)
        return 0;
    if (r->stopping) {
        *rc = hr_fail(r, 503, NULL, "The server is shutting down");
    } else {
        req_suspend_locked(r); /* woken too early: wait for on_done */
        *rc = MHD_YES;
    }
    return 1;
}

int hjob_answered_locked(http_req *r, enum MHD_Result *rc)
{
    const hjob *o = r->job;
    if (hjob_waiting_locked(r, rc))
        return 1;
    if (o->rc != RK_OK) {
        hr_error e = {
            .status = o->http >= 400 && o->http <= 599 ? o->http : hr_status_for(o->rc),
            .message = o->msg && o->msg[0] ? o->msg : rk_strerror(o->rc),
        };
        if (e.status == 503)
            e.retry_after_ms = HJOB_RETRY_AFTER_MS;
        *rc = hr_send_error(r, &e);
        return 1;
    }
    if (o->oom) {
        *rc = hr_fail(r, 503, NULL, "out of memory");
        return 1;
    }
    return 0;
}

enum MHD_Result hjob_resume(http_req *r, enum MHD_Result (*answer_locked)(http_req *r))
{
    pthread_mutex_lock(&r->mu);
    hr_hold_locked(r); /* queued below, after r->mu (see http_resp.h) */
    enum MHD_Result rc = answer_locked(r);
    pthread_mutex_unlock(&r->mu);
    return hr_release(r, rc);
}

void hjob_no_cancel(http_req *r)
{
    (void)r;
}

enum MHD_Result hjob_send_page(http_req *r, json_t *items, size_t limit, const char *next)
{
    json_t *cursor = NULL;
    if (json_array_size(items) > limit) {
        /* the extra item proves there is more: the cursor is the last id
         * of this page */
        cursor = json_incref(json_object_get(json_array_get(items, limit - 1), "id"));
        while (json_array_size(items) > limit)
            json_array_remove(items, limit);
    } else if (next) {
        cursor = hj_str(next); /* a full page at the host's cap */
    }
    int more = cursor != NULL;
    return hr_send_json(r, 200,
                        json_pack("{s:s,s:o,s:b,s:o}", "object", "list", "data", items,
                                  "has_more", more, "next", cursor ? cursor : json_null()),
                        NULL);
}

int hjob_parse_limit(const char *s, size_t max, size_t *out)
{
    size_t n = 0, i = 0;
    for (; s[i] >= '0' && s[i] <= '9' && n <= max; i++)
        n = n * 10 + (size_t)(s[i] - '0');
    if (i == 0 || s[i] || n < 1 || n > max)
        return -1;
    *out = n;
    return 0;
}
