/*
 * http_dlbuf — the bounded buffer between a producer that may block (a host
 * worker delivering a document's bytes) and a consumer that must not (MHD's
 * content reader). Every call is made with the caller's mutex held (the
 * request's r->mu); the buffer holds at most `max` unread bytes.
 */
#ifndef RK_HTTP_DLBUF_H
#define RK_HTTP_DLBUF_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "http_buf.h"

typedef struct dlbuf {
    hbuf buf;             /* unread bytes start at rpos; buf.oom: failed */
    size_t rpos;
    size_t max;
    pthread_cond_t space; /* the reader took bytes, or the transfer ends */
} dlbuf;

/* 0, or -1 when the condition variable cannot be made. */
int dlbuf_init(dlbuf *b, size_t max);
void dlbuf_free(dlbuf *b);

size_t dlbuf_unread(const dlbuf *b);
/* Producer: append up to n bytes; returns how many fit (0 when full, or
 * when an append failed: buf.oom is set then). */
size_t dlbuf_push(dlbuf *b, const char *p, size_t n);
/* Consumer: move up to max unread bytes to out and wake the producer;
 * returns how many. */
size_t dlbuf_take(dlbuf *b, char *out, size_t max);
/* Producer: wait on mu (held) until the consumer takes bytes or someone
 * calls dlbuf_wake. 0 after a wake-up (spurious ones included: re-check),
 * -1 when the monotonic clock already passed deadline_ms. */
int dlbuf_wait(dlbuf *b, pthread_mutex_t *mu, int64_t deadline_ms);
/* Wake every waiting producer (the transfer ends). */
void dlbuf_wake(dlbuf *b);
/* The monotonic clock of dlbuf_wait's deadlines, in ms. */
int64_t dlbuf_now_ms(void);

#endif
