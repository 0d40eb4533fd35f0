/*
 * upstream_call — the lifetime of one rk_http_call, whichever client
 * carries it: its deadline timer (first byte, idle, overall; waiting while
 * the call is paused), its end (reported once, then freed) and the cache
 * of idle libcurl easy handles it borrows. upstream.c starts calls,
 * upstream_curl.c ends the ones libcurl finished. Loop thread only.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "upstream_impl.h"

CURL *up_easy_get(upstream *u)
{
    return u->n_easy > 0 ? u->easy_cache[--u->n_easy] : curl_easy_init();
}

static void easy_put(upstream *u, CURL *e)
{
    if (!e) return;
    if (u->n_easy < EASY_CACHE_MAX) {
        curl_easy_reset(e);
        u->easy_cache[u->n_easy++] = e;
    } else {
        curl_easy_cleanup(e);
    }
}

void up_call_unlink(upstream *u, rk_http_call *c)
{
    if (c->prev) c->prev->next = c->next;
    else u->calls = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    atomic_fetch_sub(&u->inflight, 1);
    loop_timer_cancel(u->l, c->timer);
    c->timer = NULL;
    if (c->pqueued) {
        for (rk_http_call **pp = &u->pchanges; *pp; pp = &(*pp)->pnext)
            if (*pp == c) {
                *pp = c->pnext;
                break;
            }
        c->pqueued = 0;
    }
}

void up_call_free(upstream *u, rk_http_call *c)
{
    httpc_cancel(c->lean);
    if (c->added) curl_multi_remove_handle(u->multi, c->easy);
    easy_put(u, c->easy);
    curl_slist_free_all(c->hdrs);
    free(c->body);
    free(c->hbuf);
    free(c);
}

void up_call_finish(upstream *u, rk_http_call *c, int status, const char *msg)
{
    c->done = 1;
    up_call_unlink(u, c);
    if (c->added) curl_multi_remove_handle(u->multi, c->easy);
    c->added = 0;
    if (c->h.on_done) c->h.on_done(c->ud, status, msg);
    up_call_free(u, c);
}

/* Next instant the call's deadlines must be looked at (0: none), or -1
 * with msg filled when one of them has passed. */
static int64_t call_check(const rk_http_call *c, int64_t now, char *msg,
                          size_t cap)
{
    if (c->deadline_us && now >= c->deadline_us) {
        snprintf(msg, cap, "deadline passed");
        return -1;
    }
    int64_t next = c->deadline_us, lim = c->idle_us, from = c->last_us;
    if (c->paused) return next; /* a full reader is not a silent upstream */
    int first = !c->got_body && c->first_byte_us;
    if (!c->got_body) from = c->start_us;
    if (first) lim = c->first_byte_us;
    if (lim && now - from >= lim) {
        if (first) snprintf(msg, cap, "no response within %lld ms", (long long)(lim / 1000));
        else snprintf(msg, cap, "no data for %lld ms", (long long)(lim / 1000));
        return -1;
    }
    if (lim && (!next || from + lim < next)) next = from + lim;
    return next;
}

/* One timer per call, re-armed lazily: body bytes only record a time, and
 * the timer, when it fires early, moves itself to the new expiry. */
static void call_timer_fire(void *ud)
{
    rk_http_call *c = ud;
    char msg[96];
    c->timer = NULL;
    int64_t next = call_check(c, loop_clock_us(), msg, sizeof msg);
    if (next < 0) up_call_finish(c->u, c, RK_ERR_TIMEOUT, msg);
    else if (next > 0) c->timer = loop_timer_at(c->u->l, next, call_timer_fire, c);
}

/* The deadlines changed (a resume): arm the timer for the new expiry. */
void up_call_rearm(rk_http_call *c)
{
    char msg[96];
    loop_timer_cancel(c->u->l, c->timer);
    c->timer = NULL;
    int64_t next = call_check(c, loop_clock_us(), msg, sizeof msg);
    if (next < 0) next = loop_clock_us(); /* report from the timer */
    if (next > 0) c->timer = loop_timer_at(c->u->l, next, call_timer_fire, c);
}

/* ms -> us; 0 when unset, and values too large to be meant stay unset */
static int64_t ms_us(int64_t ms) { return ms > 0 && ms < INT64_MAX / 4000 ? ms * 1000 : 0; }

int up_call_arm(upstream *u, rk_http_call *c, const rk_http_request *req)
{
    char msg[96];
    c->start_us = loop_clock_us();
    c->deadline_us = ms_us(req->deadline_ms);
    c->first_byte_us = ms_us(req->first_byte_ms);
    c->idle_us = ms_us(req->idle_ms);
    int64_t next = call_check(c, c->start_us, msg, sizeof msg);
    /* already late: report on the next turn, never from inside start */
    if (next < 0) next = c->start_us;
    if (next > 0 && !(c->timer = loop_timer_at(u->l, next, call_timer_fire, c))) return -1;
    return 0;
}

