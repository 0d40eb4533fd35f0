/*
 * http_dlbuf — owns the bytes of a download in transit between the host's
 * worker and MHD, and the waiting that gives backpressure: the worker
 * blocks on a condition variable while the buffer is full, so a slow
 * client slows the storage read instead of growing memory, and never
 * holds an MHD thread. The clock is the monotonic one (the condition
 * variable is made for it), so a wall-clock step cannot stretch a wait.
 * Kept apart from http_download, which decides when to pause, resume and
 * end a transfer, because this part is pure mechanism.
 */
#include "http_dlbuf.h"

#include <string.h>
#include <time.h>

int dlbuf_init(dlbuf *b, size_t max)
{
    *b = (dlbuf){.max = max};
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int bad = pthread_cond_init(&b->space, &ca) != 0;
    pthread_condattr_destroy(&ca);
    return bad ? -1 : 0;
}

void dlbuf_free(dlbuf *b)
{
    hbuf_free(&b->buf);
    pthread_cond_destroy(&b->space);
}

size_t dlbuf_unread(const dlbuf *b) { return b->buf.len - b->rpos; }

size_t dlbuf_push(dlbuf *b, const char *p, size_t n)
{
    size_t unread = dlbuf_unread(b);
    size_t room = b->max - unread;
    if (n > room)
        n = room;
    if (n && b->rpos && b->buf.len + n > b->max) {
        memmove(b->buf.data, b->buf.data + b->rpos, unread);
        b->buf.len = unread;
        b->rpos = 0;
    }
    return n && hbuf_append(&b->buf, p, n) < 0 ? 0 : n;
}

size_t dlbuf_take(dlbuf *b, char *out, size_t max)
{
    size_t unread = dlbuf_unread(b);
    size_t n = unread < max ? unread : max;
    if (!n)
        return 0;
    memcpy(out, b->buf.data + b->rpos, n);
    b->rpos += n;
    if (b->rpos == b->buf.len)
        b->buf.len = b->rpos = 0;
    pthread_cond_signal(&b->space);
    return n;
}

int64_t dlbuf_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int dlbuf_wait(dlbuf *b, pthread_mutex_t *mu, int64_t deadline_ms)
{
    int64_t now = dlbuf_now_ms();
    if (now >= deadline_ms)
        return -1;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (deadline_ms - now) / 1000;
    ts.tv_nsec += (long)((deadline_ms - now) % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&b->space, mu, &ts);
    return 0;
}

void dlbuf_wake(dlbuf *b) { pthread_cond_broadcast(&b->space); }
