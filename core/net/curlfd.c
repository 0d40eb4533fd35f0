/*
 * curlfd — the fd table behind upstream.c's socket callbacks. libcurl may
 * tell us to stop watching a socket after it closed it (seen seconds
 * late, under load); by then the number can belong to a live socket of
 * the loop's own client or of a plugin, and an epoll DEL would silently
 * unregister it. So the table records what libcurl opened and what the
 * loop watches: a close unwatches first, and a remove for a number that
 * is not watched for libcurl is dropped. Sockets libcurl makes without the
 * open callback (its resolver's socketpair) are tracked from their first
 * watch request only.
 */
#include "curlfd.h"

#include <stdlib.h>
#include <string.h>

enum { CFD_OPEN = 1, CFD_WATCHED = 2 };

static int grow(curlfd *s, int fd)
{
    if (fd < s->cap) return 0;
    int cap = s->cap ? s->cap : 64;
    while (cap <= fd) cap *= 2;
    uint8_t *st = realloc(s->st, (size_t)cap);
    if (!st) return -1;
    memset(st + s->cap, 0, (size_t)(cap - s->cap));
    s->st = st;
    s->cap = cap;
    return 0;
}

int curlfd_opened(curlfd *s, int fd)
{
    if (fd < 0 || grow(s, fd) < 0) return -1;
    s->st[fd] = CFD_OPEN;
    return 0;
}

int curlfd_closing(curlfd *s, int fd)
{
    if (fd < 0 || fd >= s->cap) return 0;
    int watched = (s->st[fd] & CFD_WATCHED) != 0;
    s->st[fd] = 0;
    return watched;
}

int curlfd_watch(curlfd *s, int fd)
{
    if (fd < 0 || grow(s, fd) < 0) return -1;
    int known = (s->st[fd] & CFD_WATCHED) != 0;
    s->st[fd] |= CFD_WATCHED;
    return known;
}

int curlfd_remove(curlfd *s, int fd)
{
    if (fd < 0 || fd >= s->cap || !(s->st[fd] & CFD_WATCHED)) return 0;
    s->st[fd] &= (uint8_t)~CFD_WATCHED;
    return 1;
}

void curlfd_free(curlfd *s)
{
    free(s->st);
    s->st = NULL;
    s->cap = 0;
}
