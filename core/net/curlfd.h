/*
 * curlfd — which socket numbers libcurl opened and which of them the loop
 * watches for it, so that a late CURL_POLL_REMOVE for a socket libcurl
 * already closed (its number maybe reused by another socket of the same
 * loop) is recognised and ignored. upstream.c feeds it from libcurl's
 * open-socket, close-socket and socket callbacks. Loop thread only.
 */
#ifndef RK_CORE_CURLFD_H
#define RK_CORE_CURLFD_H

#include <stdint.h>

typedef struct curlfd {
    uint8_t *st; /* per fd number: CURLFD_* bits */
    int cap;
} curlfd;

/* libcurl opened fd: whatever the number meant before is gone. -1 = OOM. */
int curlfd_opened(curlfd *s, int fd);
/* libcurl is closing fd: 1 when the loop still watches it (unwatch it
 * before the close, while the number is still this socket's). */
int curlfd_closing(curlfd *s, int fd);
/* libcurl wants fd watched: 1 when it already is (modify), 0 when it must
 * be added, -1 out of memory. */
int curlfd_watch(curlfd *s, int fd);
/* libcurl no longer wants fd watched: 1 when the loop must unwatch it, 0
 * for a stale request (the socket was closed and unwatched already). */
int curlfd_remove(curlfd *s, int fd);
void curlfd_free(curlfd *s);

#endif
